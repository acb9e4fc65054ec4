import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipeline } from '../../src/builder/pipeline.js';
import { httpSink } from '../../src/sinks/http-sink.js';
import { listSource } from '../support/inline.js';

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
beforeAll(() => {
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});
afterAll(() => {
  trace.disable();
  context.disable();
  propagation.disable();
});

describe('HTTP sink tracing', () => {
  it('wraps each request in a client span linked to the record trace and sends its traceparent', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers);
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      const traceId = '0af7651916cd43dd8448eb211c80319c';
      await pipeline('http-trace')
        .source(listSource([{ id: 1, headers: { traceparent: `00-${traceId}-b7ad6b7169203331-01` } }]))
        .sink(httpSink({ url: `http://127.0.0.1:${port}/ingest`, retry: { attempts: 1 } }), { name: 'api' })
        .run();
      await provider.forceFlush();
      const spans = exporter.getFinishedSpans().filter((s) => s.name === 'HTTP POST');
      expect(spans).toHaveLength(1);
      expect(spans[0].links.map((l) => l.context.traceId)).toEqual([traceId]);
      expect(seen).toHaveLength(1);
      const sent = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(String(seen[0].traceparent));
      expect(sent).not.toBeNull();
      expect(sent![2]).toBe(spans[0].spanContext().spanId);
    } finally {
      server.close();
    }
  });
});
