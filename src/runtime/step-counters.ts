/**
 * Upper bounds, in ms, of the batch-time histogram buckets (Prometheus `le` semantics: a batch
 * that took exactly a bound counts in that bucket); one more bucket counts everything above.
 */
export const BATCH_MS_BUCKETS: readonly number[] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000];

/**
 * Live counters of one step, updated per batch on the hot path (plain number fields, no maps).
 * Metrics exporters read them at scrape time; they never feed back into processing.
 */
export class StepCounters {
  recordsIn = 0;
  recordsOut = 0;
  batchesIn = 0;
  /** Records dropped by the `'skip'` error policy. */
  skipped = 0;
  /** Records sent to a dead-letter output. */
  deadLettered = 0;
  /** Late records dropped (no late output configured). */
  lateDropped = 0;
  /** Time spent handling batches, in ms (one performance.now() pair per batch). */
  busyMs = 0;
  /** Time spent waiting for downstream to accept more, in ms (finished waits; see {@link waitingSince}). */
  backpressureMs = 0;
  /** When the current wait for downstream began (performance.now()), 0 when not waiting. */
  waitingSince = 0;
  /** Current watermark seen by the step (sources: emitted). */
  watermark = Number.NEGATIVE_INFINITY;
  /** Batches timed by {@link observeBatchMs}. */
  timedBatches = 0;
  /**
   * Timed batches per bucket of {@link BATCH_MS_BUCKETS} (not cumulative); the last entry counts
   * batches slower than the largest bound.
   */
  readonly batchMsCounts: number[] = new Array<number>(BATCH_MS_BUCKETS.length + 1).fill(0);
  /**
   * Trace one batch in this many (0: none). Set once by the job's tracing setup before the first
   * batch; stages ask {@link sampleBatch} per batch.
   */
  traceEvery = 0;
  #untraced = 0;

  constructor(
    readonly step: string,
    readonly kind: 'source' | 'operator' | 'sink' | 'union',
  ) {}

  /** Count one handled batch that took `ms` (a few comparisons, no allocation). */
  observeBatchMs(ms: number): void {
    this.busyMs += ms;
    this.timedBatches++;
    const bounds = BATCH_MS_BUCKETS;
    let i = 0;
    while (i < bounds.length && ms > bounds[i]) i++;
    this.batchMsCounts[i]++;
  }

  /** The stage starts waiting for its downstream (its output is full). Idempotent. */
  startWaiting(): void {
    if (this.waitingSince === 0) this.waitingSince = performance.now();
  }

  /** Downstream asked for more: add the wait to {@link backpressureMs}. */
  stopWaiting(): void {
    if (this.waitingSince === 0) return;
    this.backpressureMs += performance.now() - this.waitingSince;
    this.waitingSince = 0;
  }

  /** Backpressure time including a wait still going on at `nowMs` (performance.now()). */
  backpressureMsAt(nowMs: number): number {
    return this.waitingSince === 0 ? this.backpressureMs : this.backpressureMs + (nowMs - this.waitingSince);
  }

  /** True for one batch in {@link traceEvery}; always false when tracing of batches is off. */
  sampleBatch(): boolean {
    if (this.traceEvery === 0 || ++this.#untraced < this.traceEvery) return false;
    this.#untraced = 0;
    return true;
  }
}

/** The counters of every step in a job, by step name. */
export type JobCounters = ReadonlyMap<string, StepCounters>;
