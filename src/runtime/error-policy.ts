import type { Sink } from './sink.js';
import { UserFunctionError, WeirError, describe } from './errors.js';

/** A record that could not be processed, as written to a dead-letter sink. */
export interface DeadLetter<T = unknown> {
  /** The record as the failing step received it. */
  readonly record: T;
  readonly error: { readonly code: string; readonly message: string; readonly step: string };
  /** Name of the source the record came from (and its position there, when the source knows it). */
  readonly source: { readonly name: string | null; readonly position?: unknown };
}

/** Route failing records to `sink` (as {@link DeadLetter}s) and go on. */
export interface DeadLetterPolicy {
  readonly kind: 'dead-letter';
  readonly sink: Sink<DeadLetter>;
}

/**
 * What an operator does when user code throws for a record:
 * - `'fail'` (default): the job fails with a {@link UserFunctionError} naming the step;
 * - `'skip'`: the record is dropped and counted;
 * - `deadLetter(sink)`: the record goes to `sink` with the error, and the job goes on.
 */
export type ErrorPolicy = 'fail' | 'skip' | DeadLetterPolicy;

/**
 * Send failing records to a dead-letter sink.
 *
 * @example
 * ```ts
 * stream.map(parse, { onError: deadLetter(sinks.file({ dir: 'out/dead', format: 'jsonl' })) });
 * ```
 */
export function deadLetter(sink: Sink<DeadLetter>): DeadLetterPolicy {
  return { kind: 'dead-letter', sink };
}

/** Side-output tag that dead letters travel on. */
export const DEAD_LETTER_TAG = 'dead-letter';

/** Build the dead-letter record for a failure in `step`. */
export function toDeadLetter(record: unknown, cause: unknown, step: string, source: string | undefined, position?: unknown): DeadLetter {
  const code = cause instanceof WeirError ? cause.code : 'WEIR_USER_FUNCTION';
  const src = position === undefined ? { name: source ?? null } : { name: source ?? null, position };
  return { record, error: { code, message: describe(cause), step }, source: src };
}

/** The error that fails the job under the `'fail'` policy: names the step, keeps the cause. */
export function asStepError(step: string, cause: unknown): WeirError {
  if (cause instanceof WeirError && cause.step !== undefined) return cause;
  return new UserFunctionError(step, cause);
}
