import type { Clock } from './clock.js';
import type { StepCounters } from './step-counters.js';

/**
 * Receives each step's share of a checkpoint: an operator's state, a source's position, a sink's
 * pre-committed transaction. The checkpoint coordinator implements it; without checkpointing the
 * runtime uses {@link NO_CHECKPOINTS}.
 */
export interface CheckpointAcks {
  acknowledge(step: string, checkpointId: number, snapshot: unknown): void | Promise<void>;
}

/** Barriers pass, nothing is stored. */
export const NO_CHECKPOINTS: CheckpointAcks = { acknowledge: () => undefined };

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
