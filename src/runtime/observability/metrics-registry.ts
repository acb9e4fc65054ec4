import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import type { CheckpointEvent } from '../checkpoint-coordinator.js';
import type { SourceProgress } from '../source.js';
import { BATCH_MS_BUCKETS, type StepCounters } from '../step-counters.js';

/** What the metrics read from a running job (a {@link JobRun} has it). */
export interface MetricsSubject {
  /** Live counters of every step. */
  readonly counters: ReadonlyMap<string, StepCounters>;
  /** Source stages, for what they know of their progress. */
  readonly sources: ReadonlyArray<{ readonly name: string; progress(): SourceProgress | undefined }>;
}

/** Options of {@link JobMetrics}. */
export interface JobMetricsOptions {
  /** Processing time in ms (the job's clock), for watermark lag. */
  readonly now: () => number;
  /** Whether the job is ready (the `weir_job_ready` gauge). */
  readonly ready: () => boolean;
  /** Also export Node's default process metrics (CPU, memory, event loop lag, GC). Default true. */
  readonly processMetrics?: boolean;
}

/** Seconds: checkpoint and commit durations. */
const DURATION_BUCKETS_SEC = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/**
 * The Prometheus metrics of one job, in a registry of its own (never the global one, so two jobs
 * in one process do not clash), every series labelled `job`. Step metrics are read from the live
 * {@link StepCounters} when scraped, so the hot path never touches prom-client; checkpoint
 * metrics are updated per checkpoint event.
 *
 * @example
 * ```ts
 * const metrics = new JobMetrics('clicks', { now: Date.now, ready: () => true });
 * metrics.attach(run);
 * const text = await metrics.registry.metrics();
 * ```
 */
export class JobMetrics {
  readonly registry = new Registry();
  #subject: MetricsSubject | undefined;
  readonly #checkpointStarts = new Map<number, number>();
  readonly #checkpointsCompleted: Counter;
  readonly #checkpointFailures: Counter;
  readonly #checkpointDuration: Histogram;
  readonly #checkpointSize: Gauge;
  readonly #lastCheckpoint: Gauge;
  readonly #commitDuration: Histogram<'operator'>;

  constructor(job: string, options: JobMetricsOptions) {
    const registry = this.registry;
    registry.setDefaultLabels({ job });
    const registers = [registry];
    const steps = (): Iterable<StepCounters> => this.#subject?.counters.values() ?? [];
    const stepCounter = (name: string, help: string, read: (c: StepCounters) => number): void => {
      new Counter({
        name,
        help,
        labelNames: ['operator'],
        registers,
        collect() {
          this.reset();
          for (const c of steps()) this.inc({ operator: c.step }, read(c));
        },
      });
    };
    stepCounter('weir_records_in_total', 'Records a step received (a source: records it read).', (c) => c.recordsIn);
    stepCounter('weir_records_out_total', 'Records a step emitted on its main output.', (c) => c.recordsOut);
    stepCounter('weir_batches_total', 'Batches a step handled.', (c) => c.batchesIn);
    stepCounter('weir_records_skipped_total', "Records dropped by the 'skip' error policy.", (c) => c.skipped);
    stepCounter('weir_records_late_total', 'Late records dropped (no late output configured).', (c) => c.lateDropped);
    stepCounter('weir_records_dead_lettered_total', 'Records sent to a dead-letter output.', (c) => c.deadLettered);
    stepCounter('weir_backpressure_seconds_total', 'Time a stage waited for its downstream to take more (fused operators: on the first).', (c) =>
      c.backpressureMsAt(performance.now()) / 1000,
    );
    registry.registerMetric(
      new BucketedHistogram(
        'weir_batch_duration_seconds',
        'Time a stage took to handle one batch (fused operators: on the first; sinks: the write).',
        BATCH_MS_BUCKETS.map((ms) => ms / 1000),
        steps,
      ) as unknown as Metric,
    );
    // Per step, the minimum over its instances (the tasks of a scaled-out job): how far event time got everywhere.
    const watermarks = (): Map<string, number> => {
      const out = new Map<string, number>();
      for (const c of steps()) {
        if (!Number.isFinite(c.watermark)) continue;
        const had = out.get(c.step);
        if (had === undefined || c.watermark < had) out.set(c.step, c.watermark);
      }
      return out;
    };
    new Gauge({
      name: 'weir_watermark_timestamp_seconds',
      help: 'Current event-time watermark of a step, in seconds since the epoch (absent before the first one).',
      labelNames: ['operator'],
      registers,
      collect() {
        this.reset();
        for (const [step, watermark] of watermarks()) this.set({ operator: step }, watermark / 1000);
      },
    });
    new Gauge({
      name: 'weir_watermark_lag_seconds',
      help: 'Processing time minus the watermark of a step, in seconds: how far event time trails.',
      labelNames: ['operator'],
      registers,
      collect() {
        this.reset();
        const now = options.now();
        for (const [step, watermark] of watermarks()) this.set({ operator: step }, (now - watermark) / 1000);
      },
    });
    const sourceLag = (unit: SourceProgress['unit']): void => {
      const subject = (): MetricsSubject | undefined => this.#subject;
      new Gauge({
        name: `weir_source_lag_${unit}`,
        help: `${unit === 'records' ? 'Records' : 'Bytes'} a source knows are still to be read (its reported total minus what it read).`,
        labelNames: ['operator'],
        registers,
        collect() {
          this.reset();
          for (const source of subject()?.sources ?? []) {
            const p = source.progress();
            if (p?.total !== undefined && p.unit === unit) this.set({ operator: source.name }, Math.max(0, p.total - p.done));
          }
        },
      });
    };
    sourceLag('records');
    sourceLag('bytes');
    new Gauge({
      name: 'weir_job_ready',
      help: '1 while the job is running with every source and sink open, else 0 (what /readyz answers).',
      registers,
      collect() {
        this.set(options.ready() ? 1 : 0);
      },
    });
    this.#checkpointsCompleted = new Counter({ name: 'weir_checkpoints_total', help: 'Checkpoints completed.', registers });
    this.#checkpointFailures = new Counter({ name: 'weir_checkpoint_failures_total', help: 'Checkpoints that failed.', registers });
    this.#checkpointDuration = new Histogram({
      name: 'weir_checkpoint_duration_seconds',
      help: 'Time from triggering a checkpoint to its completion, sink commits included.',
      buckets: DURATION_BUCKETS_SEC,
      registers,
    });
    this.#checkpointSize = new Gauge({ name: 'weir_checkpoint_size_bytes', help: 'Size of the last completed checkpoint.', registers });
    this.#lastCheckpoint = new Gauge({
      name: 'weir_last_checkpoint_timestamp_seconds',
      help: 'When the last checkpoint completed, in seconds since the epoch.',
      registers,
    });
    this.#commitDuration = new Histogram({
      name: 'weir_sink_commit_duration_seconds',
      help: "Time a transactional sink took to commit a checkpoint's transaction.",
      labelNames: ['operator'],
      buckets: DURATION_BUCKETS_SEC,
      registers,
    });
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  }

  /** Read step metrics from `subject` from now on. */
  attach(subject: MetricsSubject): void {
    this.#subject = subject;
  }

  /** Update the checkpoint metrics. */
  onCheckpoint(event: CheckpointEvent): void {
    switch (event.type) {
      case 'triggered':
        this.#checkpointStarts.set(event.id, performance.now());
        return;
      case 'committed':
        this.#commitDuration.observe({ operator: event.sink }, event.durationMs / 1000);
        return;
      case 'completed': {
        const started = this.#checkpointStarts.get(event.meta.id);
        this.#checkpointStarts.delete(event.meta.id);
        if (started !== undefined) this.#checkpointDuration.observe((performance.now() - started) / 1000);
        this.#checkpointsCompleted.inc();
        this.#checkpointSize.set(event.meta.bytes);
        this.#lastCheckpoint.set(Date.now() / 1000);
        return;
      }
      case 'failed':
        this.#checkpointStarts.delete(event.id);
        this.#checkpointFailures.inc();
        return;
      default:
        return;
    }
  }
}

/**
 * A histogram whose buckets are counted elsewhere ({@link StepCounters.batchMsCounts}, per batch,
 * without prom-client), shaped for the registry at scrape time. prom-client's own Histogram
 * cannot take counted buckets, and observing it per batch would put label hashing on the hot
 * path; the registry only needs `name`, `help`, `type` and `get()` from a metric.
 */
class BucketedHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    readonly boundsSec: readonly number[],
    readonly steps: () => Iterable<StepCounters>,
  ) {}

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> }> {
    const values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = [];
    for (const c of this.steps()) {
      if (c.timedBatches === 0) continue;
      let cumulative = 0;
      for (let i = 0; i < this.boundsSec.length; i++) {
        cumulative += c.batchMsCounts[i];
        values.push({ labels: { operator: c.step, le: Number(this.boundsSec[i].toPrecision(6)) }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { operator: c.step, le: '+Inf' }, value: c.timedBatches, metricName: `${this.name}_bucket` });
      values.push({ labels: { operator: c.step }, value: c.busyMs / 1000, metricName: `${this.name}_sum` });
      values.push({ labels: { operator: c.step }, value: c.timedBatches, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** Counts live in the steps' counters: nothing to reset here. */
  reset(): void {}
}
