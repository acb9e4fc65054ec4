import { ConfigError, show } from '../../runtime/errors.js';

/** Options of {@link retryPolicy}. Every field is optional; defaults are listed per field. */
export interface RetryOptions {
  /** Attempts in total, the first one included (`1`: never retry). Default `5`. */
  attempts?: number;
  /** Delay before the first retry, in ms; it doubles on every further retry. Default `100`. */
  baseDelayMs?: number;
  /** Upper bound of the exponential delay, in ms. Default `10_000`. */
  maxDelayMs?: number;
  /**
   * Share of the delay that is random, in [0, 1]: the delay is drawn uniformly from
   * `[d × (1 − jitter), d]`. `1` is "full jitter" (spreads clients that failed together best),
   * `0` none (exactly `d`). Default `1`.
   */
  jitter?: number;
  /** Random numbers in [0, 1) for the jitter (tests pass a fixed one). Default `Math.random`. */
  random?: () => number;
}

/**
 * When and how long to wait before retrying. Stateless: one policy serves every writer and reader.
 */
export interface RetryPolicy {
  /** Attempts in total, the first one included. */
  readonly attempts: number;
  /**
   * Delay in ms before attempt `attempt + 1`, after attempt `attempt` (1-based) failed, or
   * `undefined` when `attempt` was the last one. `retryAfterMs` (a server's Retry-After) is a
   * floor: the delay is never shorter than what the server asked for.
   */
  delayMs(attempt: number, retryAfterMs?: number): number | undefined;
}

/**
 * Exponential backoff with jitter: after failed attempt `n`, wait
 * `min(maxDelayMs, baseDelayMs × 2^(n−1))`, of which the `jitter` share is random, then try again,
 * up to `attempts` attempts in total. A Retry-After from the server raises the delay to at least
 * that (it is not capped by `maxDelayMs`: the server knows best when it will take requests again).
 *
 * Options are validated here; messages start with `where` (the connector's name).
 *
 * @example
 * ```ts
 * const policy = retryPolicy({ attempts: 4, baseDelayMs: 50, maxDelayMs: 1_000, jitter: 0 }, 'sinks.http');
 * policy.delayMs(1);        // 50
 * policy.delayMs(3);        // 200
 * policy.delayMs(2, 1_000); // 1000: Retry-After wins
 * policy.delayMs(4);        // undefined: that was the last attempt
 * ```
 */
export function retryPolicy(options: RetryOptions | undefined, where: string): RetryPolicy {
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object') throw new ConfigError(`${where}: retry must be an object, got ${show(options)}`);
  const attempts = options.attempts ?? 5;
  if (!(Number.isSafeInteger(attempts) && attempts >= 1)) {
    throw new ConfigError(`${where}: retry.attempts must be an integer ≥ 1 (attempts in total), got ${show(attempts)}`);
  }
  const baseDelayMs = options.baseDelayMs ?? 100;
  if (!(Number.isFinite(baseDelayMs) && baseDelayMs >= 0)) {
    throw new ConfigError(`${where}: retry.baseDelayMs must be a non-negative number of ms, got ${show(baseDelayMs)}`);
  }
  const maxDelayMs = options.maxDelayMs ?? Math.max(10_000, baseDelayMs);
  if (!(Number.isFinite(maxDelayMs) && maxDelayMs >= baseDelayMs)) {
    throw new ConfigError(`${where}: retry.maxDelayMs must be a number of ms ≥ baseDelayMs (${baseDelayMs}), got ${show(maxDelayMs)}`);
  }
  const jitter = options.jitter ?? 1;
  if (!(typeof jitter === 'number' && jitter >= 0 && jitter <= 1)) {
    throw new ConfigError(`${where}: retry.jitter must be a number in [0, 1], got ${show(jitter)}`);
  }
  const random = options.random ?? Math.random;
  if (typeof random !== 'function') throw new ConfigError(`${where}: retry.random must be a function () => number in [0, 1), got ${show(random)}`);
  return Object.freeze({
    attempts,
    delayMs(attempt: number, retryAfterMs?: number): number | undefined {
      if (attempt >= attempts) return undefined;
      // 2^(n−1) overflows to Infinity for huge n, which min() then caps: no special case needed.
      const exponential = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
      const delay = exponential * (1 - jitter * random());
      return retryAfterMs !== undefined && retryAfterMs > delay ? retryAfterMs : delay;
    },
  });
}
