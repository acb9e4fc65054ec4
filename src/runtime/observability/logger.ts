import { ConfigError, WeirError, describe, show } from '../errors.js';

/** Severity of a log entry; `'silent'` as a level writes nothing. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** The levels, least severe first. */
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

/**
 * One structured log entry. `event` is a stable machine-readable name (`job.started`,
 * `checkpoint.completed`, `job.failed`…); `msg` is for people; other fields depend on the event
 * (`checkpoint`, `durationMs`, `code`, `step`…).
 */
export interface LogEntry {
  /** Wall-clock time, ms since the epoch. */
  readonly time: number;
  readonly level: Exclude<LogLevel, 'silent'>;
  readonly job: string;
  readonly event: string;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/**
 * Where log entries go: the `logger` run option, or stderr (JSON lines, readable text on a
 * terminal). Called synchronously for every entry at or above the job's level; must not throw.
 *
 * @example
 * ```ts
 * const entries: LogEntry[] = [];
 * const sink: LogSink = (entry) => entries.push(entry);
 * ```
 */
export type LogSink = (entry: LogEntry) => void;

const RANK: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** Check a log level option or flag value. */
export function parseLogLevel(value: unknown, what: string): LogLevel {
  if (typeof value === 'string' && (LOG_LEVELS as readonly string[]).includes(value)) return value as LogLevel;
  throw new ConfigError(`${what} must be one of ${LOG_LEVELS.join(', ')}, got ${show(value)}`);
}

/**
 * The job's logger: filters by level and hands entries to a sink. Logging is for events of the
 * job (start, checkpoints, recovery, failures), never per batch or per record.
 *
 * @example
 * ```ts
 * const log = new Logger('clicks', 'info', (e) => console.error(JSON.stringify(e)));
 * log.info('job.started', 'job started', { sources: 1 });
 * ```
 */
export class Logger {
  readonly #job: string;
  readonly #rank: number;
  readonly #sink: LogSink;

  constructor(job: string, level: LogLevel, sink: LogSink) {
    this.#job = job;
    this.#rank = RANK[level];
    this.#sink = sink;
  }

  /** True when entries of `level` are written (to skip building costly fields). */
  enabled(level: Exclude<LogLevel, 'silent'>): boolean {
    return RANK[level] >= this.#rank;
  }

  debug(event: string, msg: string, fields?: Record<string, unknown>): void {
    this.#write('debug', event, msg, fields);
  }

  info(event: string, msg: string, fields?: Record<string, unknown>): void {
    this.#write('info', event, msg, fields);
  }

  warn(event: string, msg: string, fields?: Record<string, unknown>): void {
    this.#write('warn', event, msg, fields);
  }

  error(event: string, msg: string, fields?: Record<string, unknown>): void {
    this.#write('error', event, msg, fields);
  }

  #write(level: Exclude<LogLevel, 'silent'>, event: string, msg: string, fields: Record<string, unknown> | undefined): void {
    if (RANK[level] < this.#rank) return;
    try {
      const fixed = { time: Date.now(), level, job: this.#job, event, msg };
      // Fixed keys first (for reading), and fields never override them.
      this.#sink(fields === undefined ? fixed : Object.assign({ ...fixed }, fields, fixed));
    } catch {
      // A broken log sink must not break the job it reports on.
    }
  }
}

/** Log fields of an error: its stable code, domain, step and message. */
export function errorFields(err: unknown): Record<string, unknown> {
  if (err instanceof WeirError) {
    return { code: err.code, domain: err.domain, retryable: err.retryable, step: err.step, error: err.message };
  }
  return { code: 'WEIR_INTERNAL', error: describe(err) };
}
