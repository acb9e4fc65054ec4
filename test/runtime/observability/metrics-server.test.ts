import { describe, expect, it } from 'vitest';
import { pipeline } from '../../../src/builder/pipeline.js';
import type { JobHandle } from '../../../src/runtime/job.js';
import type { Sink } from '../../../src/runtime/sink.js';
import type { Source } from '../../../src/runtime/source.js';
import { generatorSource } from '../../../src/sources/generator-source.js';

/** One sample of the Prometheus text format. */
interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

/** The value of `name` for the series with (at least) `labels`; undefined when absent. */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

async function scrape(url: string): Promise<Sample[]> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return parse(await res.text());
}

/** A sink counting what it receives; while `open` is false each write waits for `release()`. */
function gatedSink() {
  const gate = { received: 0, open: true, waiting: [] as Array<() => void> };
  const release = () => {
    gate.open = true;
    for (const resolve of gate.waiting.splice(0)) resolve();
  };
  const sink: Sink<number> = {
    name: 'gated',
    open: () => ({
      write(batch) {
        gate.received += batch.records.length;
        if (gate.open) return;
        return new Promise<void>((resolve) => gate.waiting.push(resolve));
      },
    }),
  };
  return { gate, release, sink };
}

/** `source`, whose open() waits until `opened` resolves (a connector still connecting). */
function slowToOpen<T>(source: Source<T>, opened: Promise<void>): Source<T> {
  return { ...source, open: async (ctx) => (await opened, source.open(ctx)) };
}

async function status(url: string): Promise<number> {
  return (await fetch(url)).status;
}

/** Poll until `check` holds; fail naming `what` if it never does (no duration is asserted). */
async function until(what: string, check: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`never happened: ${what}`);
}

const STEPS = ['numbers', 'not-thirds', 'double', 'out'] as const;

describe('metrics server', () => {
  it('serves metrics that move while the job runs and agree with its counters; /readyz follows the job', async () => {
    let connect!: () => void;
    const connected = new Promise<void>((resolve) => (connect = resolve));
    const { gate, release, sink } = gatedSink();
    const source = generatorSource({ name: 'numbers', ratePerSec: 20_000, make: (i) => ({ i, t: 1_000_000 + i }) });
    const handle: JobHandle = pipeline('metrics-test')
      .source(slowToOpen(source, connected), { name: 'numbers', timestamp: 't' })
      .filter((r) => r.i % 3 !== 0, { name: 'not-thirds' })
      .map((r) => r.i * 2, { name: 'double' })
      .sink(sink, { name: 'out' })
      .start({ metrics: { port: 0 }, batchSize: 50 });

    const address = (await handle.metricsAddress())!;
    expect(address.host).toBe('127.0.0.1');
    expect(address.port).toBeGreaterThan(0);
    const base = address.url.replace(/\/metrics$/, '');
    expect(address.url).toBe(`http://127.0.0.1:${address.port}/metrics`);

    // Liveness from the start; readiness only once the source is connected.
    expect(await status(`${base}/healthz`)).toBe(200);
    expect(await status(`${base}/readyz`)).toBe(503);
    expect(value(await scrape(address.url), 'weir_job_ready', { job: 'metrics-test' })).toBe(0);
    connect();
    await until('ready', async () => (await status(`${base}/readyz`)) === 200);
    expect(await status(`${base}/nope`)).toBe(404);

    // Counters move and never go back.
    let previous = await scrape(address.url);
    for (let round = 0; round < 4; round++) {
      const before = value(previous, 'weir_records_in_total', { operator: 'out' }) ?? 0;
      await until('records reach the sink', async () => (value(await scrape(address.url), 'weir_records_in_total', { operator: 'out' }) ?? 0) > before);
      const current = await scrape(address.url);
      for (const step of STEPS) {
        for (const name of ['weir_records_in_total', 'weir_records_out_total', 'weir_batches_total']) {
          expect(value(current, name, { operator: step }) ?? 0).toBeGreaterThanOrEqual(value(previous, name, { operator: step }) ?? 0);
        }
      }
      previous = current;
    }
    expect(value(previous, 'weir_job_ready')).toBe(1);
    expect(value(previous, 'process_cpu_user_seconds_total', { job: 'metrics-test' })).toBeGreaterThan(0);

    // Block the sink: backpressure stops the whole job, and the stages report the wait. A scrape
    // taken while the job's own counters did not change must equal them, and what the sink got.
    gate.open = false;
    let settled: Sample[] = [];
    let stats = handle.stats();
    await until('the job stands still behind the blocked sink', async () => {
      const before = JSON.stringify(handle.stats());
      settled = await scrape(address.url);
      stats = handle.stats();
      return (
        gate.waiting.length > 0 &&
        JSON.stringify(stats) === before &&
        (value(settled, 'weir_backpressure_seconds_total', { operator: 'numbers' }) ?? 0) > 0 &&
        (value(settled, 'weir_backpressure_seconds_total', { operator: 'not-thirds' }) ?? 0) > 0
      );
    });
    for (const step of STEPS) {
      expect(value(settled, 'weir_records_in_total', { job: 'metrics-test', operator: step })).toBe(stats[step].recordsIn);
      expect(value(settled, 'weir_records_out_total', { job: 'metrics-test', operator: step })).toBe(stats[step].recordsOut);
    }
    expect(value(settled, 'weir_records_in_total', { operator: 'out' })).toBe(gate.received);
    expect(stats['not-thirds'].recordsOut).toBeLessThan(stats['not-thirds'].recordsIn);
    // The sink itself waits on nobody.
    expect(value(settled, 'weir_backpressure_seconds_total', { operator: 'out' })).toBe(0);
    // Batch times: a histogram per stage, counted per batch.
    const sinkBatches = value(settled, 'weir_batch_duration_seconds_count', { operator: 'out' })!;
    expect(sinkBatches).toBeGreaterThan(0);
    expect(value(settled, 'weir_batch_duration_seconds_bucket', { operator: 'out', le: '+Inf' })).toBe(sinkBatches);
    expect(value(settled, 'weir_batch_duration_seconds_count', { operator: 'not-thirds' })).toBeGreaterThan(0);
    // Watermark per source (event time in seconds) and its lag behind processing time.
    expect(value(settled, 'weir_watermark_timestamp_seconds', { operator: 'numbers' })).toBe(stats.numbers.watermark / 1000);
    expect(value(settled, 'weir_watermark_lag_seconds', { operator: 'numbers' })).toBeGreaterThan(0);

    // Not ready from the moment a stop begins, while the job still drains.
    const stopped = handle.stop();
    expect(await status(`${base}/readyz`)).toBe(503);
    expect(await status(`${base}/healthz`)).toBe(200);
    release();
    const result = await stopped;
    expect(result.stopped).toBe(true);
    expect(result.steps.out.recordsIn).toBe(gate.received);
    // The server closes with the job.
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  }, 30_000);

  it('two jobs in one process have registries of their own', async () => {
    const a = pipeline('job-a').source(generatorSource({ count: 100, make: (i) => i }), { name: 'a' }).sink({ name: 's', open: () => ({ write() {} }) });
    const b = pipeline('job-b').source(generatorSource({ count: 200, make: (i) => i }), { name: 'b' }).sink({ name: 's', open: () => ({ write() {} }) });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const hold: Sink<number> = { name: 'hold', open: async () => (await held, { write() {} }) };
    a.sink(hold, { name: 'hold' });
    b.sink(hold, { name: 'hold' });
    const ha = a.start({ metrics: { port: 0 } });
    const hb = b.start({ metrics: { port: 0 } });
    const [addrA, addrB] = [(await ha.metricsAddress())!, (await hb.metricsAddress())!];
    expect(addrA.port).not.toBe(addrB.port);
    const [sa, sb] = [await scrape(addrA.url), await scrape(addrB.url)];
    expect(sa.some((s) => s.labels.job === 'job-b')).toBe(false);
    expect(sb.some((s) => s.labels.job === 'job-a')).toBe(false);
    release();
    await Promise.all([ha.done, hb.done]);
  });

  it('a port in use fails the start with a configuration error naming it', async () => {
    // A sink that never connects (until the job is aborted).
    const hold: Sink<number> = {
      name: 'hold',
      open: (ctx) => new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error))),
    };
    const first = pipeline('port-a').source(generatorSource({ count: 1, make: (i) => i })).sink(hold).start({ metrics: { port: 0 } });
    const { port } = (await first.metricsAddress())!;
    const second = pipeline('port-b')
      .source(generatorSource({ count: 1, make: (i) => i }))
      .sink({ name: 's', open: () => ({ write() {} }) })
      .start({ metrics: { port } });
    await expect(second.done).rejects.toMatchObject({ code: 'WEIR_CONFIG', message: expect.stringContaining(`127.0.0.1:${port}`) });
    await expect(second.metricsAddress()).rejects.toMatchObject({ code: 'WEIR_CONFIG' });
    first.abort();
    await expect(first.done).rejects.toMatchObject({ code: 'WEIR_ABORTED' });
  });

  it('validates the metrics option', () => {
    const job = () => pipeline('bad-metrics').source(generatorSource({ count: 1, make: (i) => i })).sink({ name: 's', open: () => ({ write() {} }) });
    expect(() => job().start({ metrics: { port: -1 } })).toThrow(/metrics\.port must be an integer from 0/);
    expect(() => job().start({ metrics: { port: 80, host: '' } })).toThrow(/metrics\.host/);
  });
});
