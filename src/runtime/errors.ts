/**
 * The one module of weir's error classes.
 *
 * Every error weir raises is a {@link WeirError} with a stable `code` that callers branch on, a
 * `domain` saying whose fault it is, and a `retryable` flag. Messages name the step, the option and
 * the value. Causes are kept with `{ cause }`.
 *
 * @example
 * ```ts
 * try { await job.run(); } catch (err) {
 *   if (err instanceof WeirError && err.code === 'WEIR_USER_FUNCTION') console.error(err.step);
 * }
 * ```
 */

/** Whose fault an error is: the user's code or configuration, an outside system, or weir itself. */
export type ErrorDomain = 'user' | 'external' | 'internal';

/** Options shared by every weir error. */
export interface WeirErrorOptions {
  /** The underlying error, if this one wraps another. */
  cause?: unknown;
  /** Name of the step (source, operator or sink) the error belongs to. */
  step?: string;
}

/** Base class of every error weir raises. */
export class WeirError extends Error {
  /** Stable machine-readable code, e.g. `WEIR_CONFIG`. Never changes between releases. */
  readonly code: string;
  /** Whose fault the error is. */
  readonly domain: ErrorDomain;
  /** True when repeating the same operation may succeed (a lost connection, a timeout). */
  readonly retryable: boolean;
  /** Name of the step the error belongs to, when known. */
  readonly step: string | undefined;

  constructor(code: string, domain: ErrorDomain, retryable: boolean, message: string, options: WeirErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.domain = domain;
    this.retryable = retryable;
    this.step = options.step;
  }
}

/**
 * Bad configuration: thrown at build or start time, never mid-stream.
 * The message names the field and what was expected.
 */
export class ConfigError extends WeirError {
  constructor(message: string, options?: WeirErrorOptions) {
    super('WEIR_CONFIG', 'user', false, message, options);
  }
}

/** A user function (filter, map, key selector, timestamp extractor…) threw; `step` names where. */
export class UserFunctionError extends WeirError {
  constructor(step: string, cause: unknown) {
    super('WEIR_USER_FUNCTION', 'user', false, `step "${step}": user function failed: ${describe(cause)}`, {
      cause,
      step,
    });
  }
}

/** A record could not be handled as data (wrong shape, not parseable); routed to dead letters when allowed. */
export class RecordError extends WeirError {
  constructor(step: string, message: string, cause?: unknown) {
    super('WEIR_BAD_RECORD', 'user', false, `step "${step}": ${message}`, { cause, step });
  }
}

/** A source or sink failed talking to an outside system. */
export class ConnectorError extends WeirError {
  constructor(step: string, message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super('WEIR_CONNECTOR', 'external', options.retryable ?? true, `step "${step}": ${message}`, {
      cause: options.cause,
      step,
    });
  }
}

/** Checkpoint state could not be written, read or matched to the job. */
export class CheckpointError extends WeirError {
  constructor(message: string, options?: WeirErrorOptions) {
    super('WEIR_CHECKPOINT', 'internal', false, message, options);
  }
}

/** A state directory's checkpoint store is held by another process (its LevelDB lock). */
export class StateDirInUseError extends CheckpointError {}

/** The job was cancelled (stop forced, or aborted from outside) before it finished. */
export class AbortedError extends WeirError {
  constructor(message = 'job aborted', options?: WeirErrorOptions) {
    super('WEIR_ABORTED', 'user', false, message, options);
  }
}

/** A broken invariant inside weir: a bug to report. */
export class InternalError extends WeirError {
  constructor(message: string, options?: WeirErrorOptions) {
    super('WEIR_INTERNAL', 'internal', false, message, options);
  }
}

/** One-line description of any thrown value, for messages. */
export function describe(value: unknown): string {
  if (value instanceof Error) return value.message;
  try {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    return text === undefined ? String(value) : text;
  } catch {
    return String(value);
  }
}

/** Render a value for a message: short, quoted when a string. */
export function show(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : describe(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
