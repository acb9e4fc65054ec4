import type { Clock } from './clock.js';
import type { Batch } from './elements.js';

/** What the runtime hands a sink when it opens it. */
export interface SinkContext {
  readonly job: string;
  /**
   * The step's name, unique in the job. In a scaled-out job (`scaleOut`) each task has its own
   * writer, named `<step>-p<task>`: a sink that names files, transactions or keys after its step
   * keeps the tasks apart that way.
   */
  readonly name: string;
  /** The task (source partition) this writer belongs to in a scaled-out job; undefined otherwise. */
  readonly task?: string;
  /** Aborted when the job fails or is cancelled. */
  readonly signal: AbortSignal;
  /** Transactions saved for this sink by the checkpoint being restored, or `undefined`. */
  readonly restored: unknown;
  /** Current processing time in ms. */
  now(): number;
  /** The job's processing-time clock (a ManualClock in tests), for waits and timers. */
  readonly clock?: Clock;
}

/**
 * A live writer. Invariants: calls are sequential and never made after `close()`.
 * A plain writer is at-least-once; a {@link TransactionalWriter} is exactly-once.
 */
export interface SinkWriter<T> {
  /** Write a batch. Return a promise only when I/O is awaited. */
  write(batch: Batch<T>): void | Promise<void>;
  /** A watermark reached the sink. Default: nothing. */
  onWatermark?(time: number): void | Promise<void>;
  /** Input is exhausted (bounded job finished): make everything written durable. Default: nothing. */
  flush?(): void | Promise<void>;
  /** Release resources. Called once, also after a failure. Default: nothing. */
  close?(): void | Promise<void>;
}

/**
 * Two-phase commit (DESIGN.md, Exactly-once). `preCommit` seals what was written since the last
 * barrier into a transaction that is stored in the checkpoint; `commit` is called once the
 * checkpoint is complete and again on recovery, so it must be idempotent; `abort` discards.
 */
export interface TransactionalWriter<T, Txn = unknown> extends SinkWriter<T> {
  preCommit(checkpointId: number): Txn | Promise<Txn>;
  commit(txn: Txn): void | Promise<void>;
  abort(txn: Txn): void | Promise<void>;
}

/**
 * A sink: a description that opens writers.
 *
 * @example
 * ```ts
 * const log: Sink<unknown> = { name: 'log', open: () => ({ write: (b) => { console.log(b.records); } }) };
 * ```
 */
export interface Sink<T> {
  /** Default step name (the builder may override it). */
  readonly name: string;
  open(ctx: SinkContext): SinkWriter<T> | Promise<SinkWriter<T>>;
}

/** True when a writer takes part in two-phase commit. */
export function isTransactional<T>(writer: SinkWriter<T>): writer is TransactionalWriter<T> {
  const w = writer as Partial<TransactionalWriter<T>>;
  return typeof w.preCommit === 'function' && typeof w.commit === 'function' && typeof w.abort === 'function';
}
