import type { Clock } from './clock.js';
import type { StepCounters } from './step-counters.js';

/**
 * Receives each step's share of a checkpoint: an operator's state, a source's position, a sink's
 * pre-committed transaction. The checkpoint coordinator implements it; without checkpointing the
 * runtime uses {@link NO_CHECKPOINTS}.
 */
export interface CheckpointAcks {
  acknowledge(step: string, checkpointId: number, snapshot: unknown): void | Promise<void>;
  /**
   * True when checkpoints are on: a source that reaches the end of its input then waits for the
   * final checkpoint's barrier before closing, so output made at end of input is committed too.
   */
  readonly holdsEnd: boolean;
  /** A source emitted end of input (only called when `holdsEnd`). */
  sourceEnded(step: string): void;
  /** Resolves once no checkpoint is being written or committed (sinks close after this). */
  settled(): Promise<void>;
  /**
   * A step holds too much state changed since the last checkpoint: take a checkpoint early (now,
   * or as soon as the one in flight completes). Several requests before it starts count as one.
   * A no-op when checkpoints are off or the job is stopping.
   */
  requestCheckpoint(): void;
}

/** Barriers pass, nothing is stored. */
export const NO_CHECKPOINTS: CheckpointAcks = {
  acknowledge: () => undefined,
  holdsEnd: false,
  sourceEnded: () => undefined,
  settled: () => Promise.resolve(),
  requestCheckpoint: () => undefined,
};

/** What every stage of a running job shares. */
export interface RunContext {
  readonly job: string;
  readonly signal: AbortSignal;
  readonly checkpoints: CheckpointAcks;
  /** Batches buffered per edge before backpressure pauses the producer. */
  readonly bufferBatches: number;
  /** Processing-time clock in ms. */
  now(): number;
  readonly clock: Clock;
  counters(step: string, kind: StepCounters['kind']): StepCounters;
}
