import { ConfigError, ConnectorError, describe, show } from '../runtime/errors.js';
import { delay } from './http/delay.js';

/**
 * How a connector rides out a server that went away (Redis, PostgreSQL). Every field is
 * optional; defaults are listed per field.
 */
export interface ReconnectOptions {
  /** Delay before the first retry, in ms; it doubles on every further retry. Default `100`. */
  baseDelayMs?: number;
  /** Upper bound of the delay between two attempts, in ms. Default `2_000`. */
  maxDelayMs?: number;
  /**
   * Give up when one operation has kept failing for this long, in ms: the job then fails with a
   * retryable {@link ConnectorError}. Default `300_000` (5 minutes).
   */
  giveUpAfterMs?: number;
  /** Told about every failure, retry and recovery: wire metrics here. Default: nothing. */
  onEvent?: (event: ConnectionEvent) => void;
}

/** What happened to a connector's connection. */
export interface ConnectionEvent {
  /**
   * `lost`: the first failure of an outage; `retry`: another attempt is scheduled after `delayMs`;
   * `restored`: an operation succeeded after `downMs` of failures; `gave-up`: the job fails.
   */
  readonly type: 'lost' | 'retry' | 'restored' | 'gave-up';
  /** The step (source or sink) name. */
  readonly step: string;
  /** The server, e.g. `redis 127.0.0.1:6379`. */
  readonly server: string;
  /** The operation that failed, e.g. `XREADGROUP`. */
  readonly operation: string;
  /** Retries in this outage so far. */
  readonly retries: number;
  /** Time since the outage began, in ms. */
  readonly downMs: number;
  readonly delayMs?: number;
  readonly error?: string;
}

/** Counters of a {@link ConnectionRetry}, for metrics and tests. */
export interface ConnectionStats {
  /** Attempts repeated after a retryable failure, over the reader's or writer's life. */
  readonly retries: number;
  /** Outages: runs of failures that ended (or are still going on). */
  readonly outages: number;
  /** Total time spent in outages that ended, in ms. */
  readonly downMs: number;
  /** True while an outage is going on. */
  readonly down: boolean;
}

/** What to do with an error: repeat the operation (after a delay), or fail with it. */
export type RetryDecision = 'retry' | 'fail';

/** {@link ReconnectOptions} validated, defaults applied. */
export interface ReconnectSettings {
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly giveUpAfterMs: number;
  readonly onEvent: ((event: ConnectionEvent) => void) | undefined;
}

/**
 * Retries a connector's operations through a connection loss: exponential backoff with jitter,
 * capped at `maxDelayMs`, for up to `giveUpAfterMs` per operation. The first failure of an outage
 * and its end are logged as process warnings (`WEIR_CONNECTION_LOST`, `WEIR_CONNECTION_RESTORED`)
 * and counted ({@link ConnectionStats}); every event also goes to `onEvent`.
 *
 * It repeats whole operations, so an operation must be safe to repeat: an idempotent write, a
 * read that resumes from a position, or a transaction whose commit is checked first. The wait
 * ends early when `signal` aborts (rejecting with its reason).
 *
 * @example
 * ```ts
 * const retry = new ConnectionRetry(ConnectionRetry.options({ maxDelayMs: 1000 }, 'sources.redisStream'),
 *   { step: 'events', server: 'redis 127.0.0.1:6379', signal: ctx.signal });
 * const reply = await retry.run('XACK', () => client.xack(key, group, id), (err) => (isConnectionError(err) ? 'retry' : 'fail'));
 * ```
 */
export class ConnectionRetry {
  readonly #s: ReconnectSettings;
  readonly #step: string;
  readonly #server: string;
  readonly #signal: AbortSignal;
  readonly #explain: (err: unknown) => string;
  #retries = 0;
  #outages = 0;
  #downMs = 0;
  /** Start of the outage going on, or undefined. */
  #downSince: number | undefined;
  #outageRetries = 0;

  /** Validate reconnect options; messages start with `where`. */
  static options(value: ReconnectOptions | undefined, where: string): ReconnectSettings {
    if (value === undefined) value = {};
    if (value === null || typeof value !== 'object') throw new ConfigError(`${where}: reconnect must be an object, got ${show(value)}`);
    const baseDelayMs = value.baseDelayMs ?? 100;
    if (!(typeof baseDelayMs === 'number' && Number.isFinite(baseDelayMs) && baseDelayMs > 0)) {
      throw new ConfigError(`${where}: reconnect.baseDelayMs must be a positive number of ms, got ${show(baseDelayMs)}`);
    }
    const maxDelayMs = value.maxDelayMs ?? Math.max(2_000, baseDelayMs);
    if (!(typeof maxDelayMs === 'number' && Number.isFinite(maxDelayMs) && maxDelayMs >= baseDelayMs)) {
      throw new ConfigError(`${where}: reconnect.maxDelayMs must be a number of ms ≥ baseDelayMs (${baseDelayMs}), got ${show(maxDelayMs)}`);
    }
    const giveUpAfterMs = value.giveUpAfterMs ?? 300_000;
    if (!(typeof giveUpAfterMs === 'number' && giveUpAfterMs >= 0 && !Number.isNaN(giveUpAfterMs))) {
      throw new ConfigError(`${where}: reconnect.giveUpAfterMs must be a non-negative number of ms (or Infinity), got ${show(giveUpAfterMs)}`);
    }
    const onEvent = value.onEvent;
    if (onEvent !== undefined && typeof onEvent !== 'function') {
      throw new ConfigError(`${where}: reconnect.onEvent must be a function, got ${show(onEvent)}`);
    }
    return { baseDelayMs, maxDelayMs, giveUpAfterMs, onEvent };
  }

  /**
   * `where.explain` turns a client's error into words for logs (default: its message), e.g. to
   * say "connection closed" where a client reports its own retry bookkeeping.
   */
  constructor(settings: ReconnectSettings, where: { step: string; server: string; signal: AbortSignal; explain?: (err: unknown) => string }) {
    this.#s = settings;
    this.#step = where.step;
    this.#server = where.server;
    this.#signal = where.signal;
    this.#explain = where.explain ?? describe;
  }

  /** Counters so far. */
  stats(): ConnectionStats {
    return { retries: this.#retries, outages: this.#outages, downMs: this.#downMs, down: this.#downSince !== undefined };
  }

  /**
   * Run `attempt` until it succeeds, repeating it after errors `decide` calls `'retry'`. Errors it
   * calls `'fail'` are rethrown as they are; giving up throws a {@link ConnectorError}.
   */
  async run<R>(operation: string, attempt: () => Promise<R>, decide: (err: unknown) => RetryDecision): Promise<R> {
    let started: number | undefined;
    for (let tries = 1; ; tries++) {
      let result: R;
      try {
        result = await attempt();
      } catch (err) {
        if (this.#signal.aborted) throw err;
        if (decide(err) !== 'retry') throw err;
        const now = Date.now();
        started ??= now;
        if (this.#downSince === undefined) {
          this.#downSince = now;
          this.#outageRetries = 0;
          this.#outages++;
          process.emitWarning(`weir: step "${this.#step}": lost the connection to ${this.#server} (${operation}: ${this.#explain(err)}); retrying with backoff`, {
            code: 'WEIR_CONNECTION_LOST',
          });
          this.#emit('lost', operation, now, undefined, err);
        }
        if (now - started >= this.#s.giveUpAfterMs) {
          this.#emit('gave-up', operation, now, undefined, err);
          throw new ConnectorError(this.#step, `${operation} on ${this.#server} kept failing for ${now - started} ms (${tries} attempts), giving up: ${this.#explain(err)}`, {
            cause: err,
            retryable: true,
          });
        }
        const exponential = Math.min(this.#s.maxDelayMs, this.#s.baseDelayMs * 2 ** Math.min(tries - 1, 30));
        // Half jitter: clients that lost the server together do not all come back at once.
        const wait = exponential * (0.5 + Math.random() * 0.5);
        this.#retries++;
        this.#outageRetries++;
        this.#emit('retry', operation, now, wait, err);
        await delay(wait, this.#signal);
        continue;
      }
      if (this.#downSince !== undefined) {
        const now = Date.now();
        const down = now - this.#downSince;
        this.#downMs += down;
        this.#emit('restored', operation, now, undefined, undefined);
        process.emitWarning(`weir: step "${this.#step}": connection to ${this.#server} restored after ${down} ms (${this.#outageRetries} retries)`, {
          code: 'WEIR_CONNECTION_RESTORED',
        });
        this.#downSince = undefined;
      }
      return result;
    }
  }

  #emit(type: ConnectionEvent['type'], operation: string, now: number, delayMs: number | undefined, err: unknown): void {
    const onEvent = this.#s.onEvent;
    if (onEvent === undefined) return;
    const event: ConnectionEvent = {
      type,
      step: this.#step,
      server: this.#server,
      operation,
      retries: this.#outageRetries,
      downMs: this.#downSince === undefined ? 0 : now - this.#downSince,
      ...(delayMs === undefined ? {} : { delayMs }),
      ...(err === undefined ? {} : { error: this.#explain(err) }),
    };
    try {
      onEvent(event);
    } catch {
      // A metrics hook must not change what the connector does.
    }
  }
}
