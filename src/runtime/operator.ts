import type { StateKv } from './checkpoint-storage.js';
import type { Batch } from './elements.js';
import type { StateBackendName } from './run-options.js';

/**
 * Where an operator sends what it produces. Calls are made inside the operator's own
 * `processBatch` / `onWatermark` / `onEnd`, never later.
 */
export interface Output<T> {
  /**
   * Pass records downstream, with their event timestamps (same length). The arrays are handed
   * over: the operator must not change them afterwards. Returns a promise only when something
   * downstream awaited I/O; the operator must then await it before returning.
   */
  emit(records: T[], timestamps: number[]): void | Promise<void>;
  /** Forward a watermark downstream (already merged over this operator's inputs). */
  watermark(time: number): void | Promise<void>;
  /**
   * Send records to the side output `tag` (late data, dead letters). A side output nobody
   * consumes drops what it gets, so operators count before calling this.
   */
  side(tag: string, records: unknown[], timestamps: number[]): void;
}

/** What the runtime hands an operator when it builds it. */
export interface OperatorContext {
  /** Job name. */
  readonly job: string;
  /** The step's name, unique in the job. State and checkpoints are keyed by it. */
  readonly name: string;
  /** Aborted when the job fails or is cancelled. */
  readonly signal: AbortSignal;
  /** Current processing time in ms (a manual clock in tests). */
  now(): number;
  /**
   * The state this step saved in the checkpoint being restored, or `undefined` on a fresh start.
   * Invariant: the snapshot resumes exactly after the last record the step had processed.
   */
  readonly restored: unknown;
  /**
   * Apply the step's error policy to a record whose user function threw: throws under `'fail'`,
   * counts under `'skip'`, sends a dead letter to the side output under `deadLetter(sink)`.
   */
  recordFailed(record: unknown, timestamp: number, cause: unknown, source: string | undefined, out: Output<unknown>): void;
  /**
   * Ask for `onProcessingTime(timeMs)` once the processing-time clock reaches `timeMs`. The call is
   * made between elements, never during another call. Timers do not survive a restart.
   */
  registerProcessingTimer(timeMs: number): void;
  /** Count records this step dropped on purpose (late data without a late output…). */
  countDropped(n: number, reason: 'late' | 'skipped'): void;
  /** The run's default state backend for keyed state (a step's own option wins). Absent: `'heap'`. */
  readonly stateBackend?: StateBackendName;
  /**
   * The checkpoint storage's shared state store, for state backends that keep state outside the
   * heap. Absent when checkpoints are off (such a backend then uses a temporary store).
   */
  readonly stateKv?: StateKv;
  /**
   * Ask for a checkpoint before the next periodic one, because this step holds a lot of state
   * changed since the last checkpoint (which is what a checkpoint lets it release). Call it once
   * when a bound is crossed, not per record: the runtime starts a checkpoint at once when none is
   * in flight, else right after the one in flight completes; the interval keeps running as before.
   * Absent, or a no-op, when checkpoints are off.
   */
  requestCheckpoint?(): void;
}

/**
 * A step of the graph. One required method; every hook has a documented default.
 *
 * Invariants: calls are strictly sequential (never two at once, each awaited before the next),
 * elements arrive in edge order, and nothing is called after `close()`.
 *
 * @example
 * ```ts
 * const upper: Operator<string, string> = {
 *   processBatch(batch, out) { return out.emit(batch.records.map((s) => s.toUpperCase()), batch.timestamps); },
 * };
 * ```
 */
export interface Operator<I, O> {
  /** Handle one batch. Return a promise only when I/O was awaited. */
  processBatch(batch: Batch<I>, out: Output<O>): void | Promise<void>;
  /** A watermark arrived. Default: forward it with `out.watermark(time)`. */
  onWatermark?(time: number, out: Output<O>): void | Promise<void>;
  /** A processing-time timer registered with the context is due. Default: nothing. */
  onProcessingTime?(timeMs: number, out: Output<O>): void | Promise<void>;
  /**
   * A checkpoint barrier arrived (after every record that belongs to the checkpoint). Return the
   * step's state, serializable with the v8 serializer. Default: no state.
   */
  snapshot?(checkpointId: number): unknown | Promise<unknown>;
  /** Checkpoint `checkpointId` is complete (durable). Default: nothing. */
  onCheckpointComplete?(checkpointId: number): void | Promise<void>;
  /**
   * Input is exhausted. Called after the final watermark (+∞) has been handled; emit what is
   * still held. Default: nothing.
   */
  onEnd?(out: Output<O>): void | Promise<void>;
  /** Release resources. Called once, also after a failure. Default: nothing. */
  close?(): void | Promise<void>;
}

/** How the runtime builds an operator: a description of the step plus a factory. */
export interface OperatorSpec<I = unknown, O = unknown> {
  /** Step name, unique in the job. */
  readonly name: string;
  /**
   * True when the operator keeps no state between batches, so it can be fused with its
   * neighbours into one stream stage (operator chaining).
   */
  readonly stateless: boolean;
  /** Build the live operator. Called once per run. */
  create(ctx: OperatorContext): Operator<I, O>;
}
