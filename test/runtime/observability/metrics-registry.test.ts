import { describe, expect, it } from 'vitest';
import type { CheckpointMeta } from '../../../src/runtime/checkpoint-storage.js';
import { JobMetrics } from '../../../src/runtime/observability/metrics-registry.js';
import { StepCounters } from '../../../src/runtime/step-counters.js';

const meta = (id: number, bytes: number): CheckpointMeta => ({
  id,
  job: 'j',
  createdAt: 0,
  durationMs: 3,
  savepoint: false,
  final: false,
  steps: {},
  positions: {},
  bytes,
});

/** The value of the sample written `name{a="x",b="y"}`, whatever order the labels come in. */
function sample(text: string, wanted: string): number | undefined {
  const key = (name: string, labels: string) => `${name}{${labels.split(',').filter(Boolean).sort().join(',')}}`;
  const w = /^([^{]+)\{(.*)\}$/.exec(wanted)!;
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m !== null && key(m[1], m[2] ?? '') === key(w[1], w[2])) return Number(m[3]);
  }
  return undefined;
}

describe('job metrics', () => {
  it('checkpoint events: completed, size, duration, commit latency per sink, failures', async () => {
    const metrics = new JobMetrics('j', { now: () => 0, ready: () => true, processMetrics: false });
    metrics.onCheckpoint({ type: 'triggered', id: 1, kind: 'periodic' });
    metrics.onCheckpoint({ type: 'acknowledged', id: 1, step: 'files' });
    metrics.onCheckpoint({ type: 'committing', id: 1, sink: 'files' });
    metrics.onCheckpoint({ type: 'committed', id: 1, sink: 'files', durationMs: 20 });
    metrics.onCheckpoint({ type: 'completed', meta: meta(1, 4096), commitMs: 20 });
    metrics.onCheckpoint({ type: 'triggered', id: 2, kind: 'periodic' });
    metrics.onCheckpoint({ type: 'failed', id: 2, error: new Error('disk full') });
    const text = await metrics.registry.metrics();
    expect(sample(text, 'weir_checkpoints_total{job="j"}')).toBe(1);
    expect(sample(text, 'weir_checkpoint_failures_total{job="j"}')).toBe(1);
    expect(sample(text, 'weir_checkpoint_size_bytes{job="j"}')).toBe(4096);
    expect(sample(text, 'weir_checkpoint_duration_seconds_count{job="j"}')).toBe(1);
    expect(sample(text, 'weir_sink_commit_duration_seconds_sum{operator="files",job="j"}')).toBeCloseTo(0.02);
    expect(sample(text, 'weir_sink_commit_duration_seconds_bucket{le="0.025",operator="files",job="j"}')).toBe(1);
    expect(sample(text, 'weir_last_checkpoint_timestamp_seconds{job="j"}')).toBeGreaterThan(0);
    expect(text).not.toContain('process_cpu');
  });

  it('the tasks of a scaled-out job: counters add up per step, the watermark is the minimum', async () => {
    const metrics = new JobMetrics('j', { now: () => 10_000, ready: () => true, processMetrics: false });
    const a = new StepCounters('window', 'operator');
    const b = new StepCounters('window', 'operator');
    metrics.attach({ counters: new Map([['window\u00000', a], ['window\u00001', b]]), sources: [] });
    a.recordsIn = 3;
    b.recordsIn = 4;
    a.watermark = 9_000;
    b.watermark = 5_000;
    const text = await metrics.registry.metrics();
    expect(sample(text, 'weir_records_in_total{operator="window",job="j"}')).toBe(7);
    expect(sample(text, 'weir_watermark_timestamp_seconds{operator="window",job="j"}')).toBe(5);
    expect(sample(text, 'weir_watermark_lag_seconds{operator="window",job="j"}')).toBe(5);
  });

  it('step metrics are read from the counters at scrape time; source lag where the source knows it', async () => {
    const source = new StepCounters('src', 'source');
    const op = new StepCounters('op', 'operator');
    const metrics = new JobMetrics('j', { now: () => 10_000, ready: () => false, processMetrics: false });
    let done = 10;
    metrics.attach({
      counters: new Map([
        ['src', source],
        ['op', op],
      ]),
      sources: [
        { name: 'src', progress: () => ({ done, total: 100, unit: 'records' as const }) },
        { name: 'tail', progress: () => ({ done: 5, unit: 'records' as const }) },
      ],
    });
    source.recordsIn = 7;
    op.lateDropped = 2;
    op.deadLettered = 1;
    op.watermark = 4_000;
    op.observeBatchMs(0.3);
    op.observeBatchMs(30);
    let text = await metrics.registry.metrics();
    expect(sample(text, 'weir_records_in_total{operator="src",job="j"}')).toBe(7);
    expect(sample(text, 'weir_records_late_total{operator="op",job="j"}')).toBe(2);
    expect(sample(text, 'weir_records_dead_lettered_total{operator="op",job="j"}')).toBe(1);
    expect(sample(text, 'weir_watermark_timestamp_seconds{operator="op",job="j"}')).toBe(4);
    expect(sample(text, 'weir_watermark_lag_seconds{operator="op",job="j"}')).toBe(6);
    expect(text).not.toContain('weir_watermark_lag_seconds{operator="src"');
    expect(sample(text, 'weir_batch_duration_seconds_bucket{operator="op",le="0.0005",job="j"}')).toBe(1);
    expect(sample(text, 'weir_batch_duration_seconds_bucket{operator="op",le="0.05",job="j"}')).toBe(2);
    expect(sample(text, 'weir_batch_duration_seconds_count{operator="op",job="j"}')).toBe(2);
    expect(text).not.toContain('weir_batch_duration_seconds_count{operator="src"');
    expect(sample(text, 'weir_source_lag_records{operator="src",job="j"}')).toBe(90);
    expect(text).not.toContain('weir_source_lag_records{operator="tail"');
    expect(sample(text, 'weir_job_ready{job="j"}')).toBe(0);
    source.recordsIn = 9;
    done = 100;
    text = await metrics.registry.metrics();
    expect(sample(text, 'weir_records_in_total{operator="src",job="j"}')).toBe(9);
    expect(sample(text, 'weir_source_lag_records{operator="src",job="j"}')).toBe(0);
  });

  it('backpressure includes a wait still going on', async () => {
    const c = new StepCounters('s', 'source');
    c.startWaiting();
    expect(c.backpressureMsAt(c.waitingSince + 5)).toBeCloseTo(5, 6);
    c.stopWaiting();
    expect(c.waitingSince).toBe(0);
    expect(c.backpressureMs).toBeGreaterThanOrEqual(0);
    expect(c.backpressureMsAt(1e12)).toBe(c.backpressureMs);
  });

  it('samples one batch in traceEvery', () => {
    const c = new StepCounters('s', 'sink');
    expect([1, 2, 3].map(() => c.sampleBatch())).toEqual([false, false, false]);
    c.traceEvery = 3;
    expect([1, 2, 3, 4, 5, 6].map(() => c.sampleBatch())).toEqual([false, false, true, false, false, true]);
  });
});
