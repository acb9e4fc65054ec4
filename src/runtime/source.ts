import type { Clock } from './clock.js';
import type { DeadLetter } from './error-policy.js';

/**
 * The source contract. A source describes where records come from; the runtime opens a
 * {@link SourceReader} per run and pulls from it at the pace the graph can take (backpressure).
 */

/** What the runtime hands a source when it opens it. */
export interface SourceContext {
  readonly job: string;
  /** The step's name, unique in the job. */
  readonly name: string;
  /** Aborted when the job fails, is cancelled, or is stopped: pending reads should give up. */
  readonly signal: AbortSignal;
  /**
   * The position saved in the checkpoint being restored (what `position()` returned), or
   * `undefined` on a fresh start. The reader must resume right after that position.
   */
  readonly restored: unknown;
  /** Current processing time in ms. */
  now(): number;
  /** The job's processing-time clock (a ManualClock in tests), for waits and timers. */
  readonly clock?: Clock;
}

/** Records read in one call, from one split (file, partition…) of the source. */
export interface SourceChunk<T> {
  readonly records: T[];
  /** Event timestamps the connector knows itself (Kafka record time…); the user's extractor wins. */
  readonly timestamps?: number[];
  /** Split the records came from; watermarks are tracked per split. Default: one split. */
  readonly split?: string;
  /**
   * Input that could not be decoded (a malformed line, a record not matching its schema), with
   * its position. The runtime counts them and routes them to the source's dead-letter output
   * (`.source(src, { onError: deadLetter(sink) })`); bad input never stops a job by default.
   */
  readonly deadLetters?: readonly DeadLetter[];
}

/** Progress of a bounded source, for progress bars and metrics. */
export interface SourceProgress {
  /** Records (or bytes, see `unit`) read so far. */
  readonly done: number;
  /** Total, when known. */
  readonly total?: number;
  readonly unit: 'records' | 'bytes';
}

/**
 * A live reader. Invariants: `read` is never called concurrently, nor after it returned `null`
 * or after `close()`; `position()` is only called between reads and describes the point right
 * after the last record returned.
 */
export interface SourceReader<T> {
  /**
   * Read up to `max` records. Returns `null` when a bounded source is exhausted. An unbounded
   * source with nothing to read may wait (honouring the context's signal) or return an empty
   * chunk, which lets the runtime advance idle time and inject checkpoint barriers.
   * Return a promise only when I/O is awaited.
   */
  read(max: number): SourceChunk<T> | null | Promise<SourceChunk<T> | null>;
  /** The resume position right after the last record returned: serializable (v8 serializer). */
  position(): unknown;
  /** Progress so far, when the source knows it. Default: unknown. */
  progress?(): SourceProgress;
  /** Release resources. Called once, also after a failure. Default: nothing. */
  close?(): void | Promise<void>;
  /** Checkpoint `checkpointId` is complete (for sources that acknowledge upstream). */
  onCheckpointComplete?(checkpointId: number): void | Promise<void>;
}

/**
 * A source: a description that opens readers. Replayable sources resume from a position and
 * so take part in exactly-once; `replayable: false` means at-least-once at best.
 *
 * @example
 * ```ts
 * const numbers: Source<number> = {
 *   name: 'numbers', bounded: true, replayable: true,
 *   open: (ctx) => { let i = (ctx.restored as number) ?? 0;
 *     return { read: (max) => (i >= 10 ? null : { records: [i++] }), position: () => i }; },
 * };
 * ```
 */
export interface Source<T> {
  /** Default step name (the builder may override it). */
  readonly name: string;
  /** True when the input has an end. */
  readonly bounded: boolean;
  /** True when the source can resume from a position (required for exactly-once). */
  readonly replayable: boolean;
  open(ctx: SourceContext): SourceReader<T> | Promise<SourceReader<T>>;
}
