/**
 * Live counters of one step, updated per batch on the hot path (plain number fields, no maps).
 * Metrics exporters read them; they never feed back into processing.
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
  /** Time spent handling batches, in ms (sampled with performance.now per batch). */
  busyMs = 0;
  /** Time spent waiting for downstream to accept more, in ms. */
  backpressureMs = 0;
  /** Current watermark seen by the step (sources: emitted). */
  watermark = Number.NEGATIVE_INFINITY;

  constructor(
    readonly step: string,
    readonly kind: 'source' | 'operator' | 'sink' | 'union',
  ) {}
}

/** The counters of every step in a job, by step name. */
export type JobCounters = ReadonlyMap<string, StepCounters>;
