import { SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pipeline } from '../../../src/builder/pipeline.js';
import { extractContext, injectContext } from '../../../src/runtime/observability/trace-context.js';
import { recordLinks, traceCall, traceSend } from '../../../src/runtime/observability/tracing.js';
import type { Sink, TransactionalWriter } from '../../../src/runtime/sink.js';
import { tempDir } from '../../support/files.js';
import { listSource } from '../../support/inline.js';

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const tmp = tempDir('weir-tracing-');

beforeAll(() => {
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});
afterAll(() => {
  trace.disable();
  context.disable();
  propagation.disable();
  tmp.cleanup();
});
afterEach(() => exporter.reset());

async function finished(): Promise<ReadableSpan[]> {
  await provider.forceFlush();
  return exporter.getFinishedSpans();
}

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const PARENT_SPAN_ID = 'b7ad6b7169203331';
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_SPAN_ID}-01`;

/** `00-<trace id>-<span id>-<flags>` → its parts. */
function parseTraceparent(value: unknown): { traceId: string; spanId: string } {
  const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(String(value));
  if (m === null) throw new Error(`not a traceparent: ${String(value)}`);
  return { traceId: m[1], spanId: m[2] };
}

interface Message {
  readonly value: string;
  readonly headers: Record<string, unknown>;
}

/**
 * A transactional sink that "produces" each record as a message with headers, the way the Kafka
 * sink does: through traceSend, so each message carries its record's trace onward.
 */
function producingSink(sent: Message[], options: { failCommit?: boolean } = {}): Sink<{ id: number; headers?: Record<string, string> }> {
  return {
    name: 'producer',
    open: () => {
      let pending: Message[] = [];
      const writer: TransactionalWriter<{ id: number; headers?: Record<string, string> }, Message[]> = {
        async write(batch) {
          const messages = batch.records.map((r) => ({ value: JSON.stringify({ id: r.id }), headers: { ...r.headers } as Record<string, unknown> }));
          await traceSend(batch.records, { name: 'test produce out', outgoing: (_r, i) => messages[i].headers }, async () => {
            pending.push(...messages);
          });
        },
        preCommit() {
          const txn = pending;
          pending = [];
          return txn;
        },
        commit(txn) {
          if (options.failCommit) throw new Error('broker gone');
          sent.push(...txn);
        },
        abort() {},
        // Without checkpoints: end of input makes the output final.
        flush() {
          sent.push(...pending.splice(0));
        },
      };
      return writer;
    },
  };
}

const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

describe('checkpoint traces', () => {
  it('a span per checkpoint, with a child per step snapshot and per sink commit', async () => {
    const sent: Message[] = [];
    await pipeline('traced')
      .source(listSource([{ id: 1 }, { id: 2 }, { id: 3 }], { name: 'list' }), { name: 'list' })
      .map((r) => ({ id: r.id * 10 }), { name: 'times-ten' })
      .sink(producingSink(sent), { name: 'producer' })
      .run({ stateDir: `${tmp.dir}/tree`, checkpointInterval: 60_000 });
    expect(sent.map((m) => JSON.parse(m.value))).toEqual([{ id: 10 }, { id: 20 }, { id: 30 }]);

    const spans = await finished();
    const roots = spans.filter((s) => s.name === 'weir.checkpoint');
    expect(roots).toHaveLength(1);
    const root = roots[0];
    expect(root.instrumentationScope.name).toBe('weir');
    expect(root.parentSpanContext).toBeUndefined();
    expect(root.attributes).toMatchObject({ 'weir.job': 'traced', 'weir.checkpoint.id': 1, 'weir.checkpoint.kind': 'final' });
    expect(root.attributes['weir.checkpoint.bytes']).toBeGreaterThan(0);
    expect(root.status.code).not.toBe(SpanStatusCode.ERROR);

    const children = spans.filter((s) => s.spanContext().traceId === root.spanContext().traceId && s !== root);
    for (const child of children) expect(parentOf(child)).toBe(root.spanContext().spanId);
    const snapshots = children.filter((s) => s.name === 'weir.snapshot');
    expect(snapshots.map((s) => [s.attributes['weir.step'], s.attributes['weir.step.kind']]).sort()).toEqual([
      ['list', 'source'],
      ['producer', 'sink'],
      ['times-ten', 'operator'],
    ]);
    const commits = children.filter((s) => s.name === 'weir.sink.commit');
    expect(commits.map((s) => s.attributes['weir.step'])).toEqual(['producer']);
    // Children lie within their checkpoint.
    const t = (hr: [number, number]) => hr[0] * 1e9 + hr[1];
    for (const child of children) {
      expect(t(child.startTime)).toBeGreaterThanOrEqual(t(root.startTime));
      expect(t(child.endTime)).toBeLessThanOrEqual(t(root.endTime));
    }
  });

  it('a failed commit marks the checkpoint span and its commit span as errors', async () => {
    const sent: Message[] = [];
    const run = pipeline('traced-fail')
      .source(listSource([{ id: 1 }], { name: 'list' }), { name: 'list' })
      .sink(producingSink(sent, { failCommit: true }), { name: 'producer' })
      .run({ stateDir: `${tmp.dir}/fail`, checkpointInterval: 60_000 });
    await expect(run).rejects.toMatchObject({ code: 'WEIR_CHECKPOINT' });
    const spans = await finished();
    const root = spans.find((s) => s.name === 'weir.checkpoint')!;
    expect(root.status.code).toBe(SpanStatusCode.ERROR);
    expect(root.status.message).toContain('broker gone');
    const commit = spans.find((s) => s.name === 'weir.sink.commit')!;
    expect(parentOf(commit)).toBe(root.spanContext().spanId);
    expect(commit.status.code).toBe(SpanStatusCode.ERROR);
  });
});

describe('trace context through record headers', () => {
  it('an output message continues the trace of the input record it came from, with a span of weir', async () => {
    const sent: Message[] = [];
    await pipeline('headers')
      .source(listSource([{ id: 1, headers: { traceparent: TRACEPARENT } }, { id: 2 }], { name: 'in' }), { name: 'in' })
      // A map that builds a new record copies the headers along, for the trace to continue.
      .map((r) => ({ id: r.id + 100, headers: r.headers }), { name: 'renumber' })
      .sink(producingSink(sent), { name: 'producer' })
      .run({ traceBatches: 1 });
    expect(sent).toHaveLength(2);
    const spans = await finished();

    // The traced record: same trace, a new span id, which is weir's PRODUCER span for it.
    const out = parseTraceparent(sent[0].headers.traceparent);
    expect(out.traceId).toBe(TRACE_ID);
    expect(out.spanId).not.toBe(PARENT_SPAN_ID);
    const producer = spans.find((s) => s.spanContext().spanId === out.spanId)!;
    expect(producer.name).toBe('test produce out');
    expect(producer.kind).toBe(SpanKind.PRODUCER);
    expect(parentOf(producer)).toBe(PARENT_SPAN_ID);

    // The call itself: a CLIENT span, child of the sink's sampled batch span, linked from the producer span.
    const call = spans.find((s) => s.name === 'test produce out' && s.kind === SpanKind.CLIENT)!;
    expect(producer.links.map((l) => l.context.spanId)).toEqual([call.spanContext().spanId]);
    const sinkBatch = spans.find((s) => s.name === 'weir.batch' && s.attributes['weir.step'] === 'producer')!;
    expect(sinkBatch.attributes).toMatchObject({ 'weir.job': 'headers', 'weir.batch.records': 2 });
    expect(parentOf(call)).toBe(sinkBatch.spanContext().spanId);
    expect(spans.some((s) => s.name === 'weir.batch' && s.attributes['weir.step'] === 'renumber')).toBe(true);

    // A record without trace context carries the call's context.
    const plain = parseTraceparent(sent[1].headers.traceparent);
    expect(plain).toEqual({ traceId: call.spanContext().traceId, spanId: call.spanContext().spanId });
  });

  it('without traceBatches no batch span is made', async () => {
    const sent: Message[] = [];
    await pipeline('no-batches')
      .source(listSource([{ id: 1 }], { name: 'in' }), { name: 'in' })
      .sink(producingSink(sent), { name: 'producer' })
      .run();
    const spans = await finished();
    expect(spans.filter((s) => s.name === 'weir.batch')).toHaveLength(0);
    expect(spans.filter((s) => s.name === 'test produce out')).toHaveLength(1);
  });

  it('extractContext reads Kafka-style headers (Buffers) and injectContext writes the active span', () => {
    const parent = extractContext({ traceparent: Buffer.from(TRACEPARENT) });
    expect(trace.getSpanContext(parent)).toMatchObject({ traceId: TRACE_ID, spanId: PARENT_SPAN_ID, isRemote: true });
    const span = trace.getTracer('test').startSpan('child', {}, parent);
    const headers = injectContext({} as Record<string, unknown>, trace.setSpan(context.active(), span));
    expect(parseTraceparent(headers.traceparent)).toEqual({ traceId: TRACE_ID, spanId: span.spanContext().spanId });
    span.end();
    expect(extractContext(undefined)).toBe(context.active());
  });

  it('recordLinks: one link per record carrying trace context, bounded', () => {
    const records = [{ headers: { traceparent: TRACEPARENT } }, { id: 2 }, null, { headers: { traceparent: 'garbage' } }];
    expect(recordLinks(records).map((l) => [l.context.traceId, l.context.spanId])).toEqual([[TRACE_ID, PARENT_SPAN_ID]]);
    expect(recordLinks([records[0], records[0], records[0]], 2)).toHaveLength(2);
  });

  it('traceCall marks a failed call and passes the error on', async () => {
    await expect(
      traceCall('POST /ingest', { attributes: { 'http.request.method': 'POST' } }, async () => {
        throw new Error('503 from upstream');
      }),
    ).rejects.toThrow('503 from upstream');
    expect(traceCall('sync', {}, () => 42)).toBe(42);
    const spans = await finished();
    const failed = spans.find((s) => s.name === 'POST /ingest')!;
    expect(failed.kind).toBe(SpanKind.CLIENT);
    expect(failed.status).toMatchObject({ code: SpanStatusCode.ERROR, message: '503 from upstream' });
    expect(failed.events.map((e) => e.name)).toContain('exception');
    expect(spans.find((s) => s.name === 'sync')!.status.code).toBe(SpanStatusCode.UNSET);
  });
});
