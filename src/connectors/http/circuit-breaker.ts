import { ConfigError, show } from '../../runtime/errors.js';

/** Options of a {@link CircuitBreaker}. */
export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit (≥ 1). */
  failureThreshold: number;
  /** How long the circuit stays open before one probe is let through, in ms (> 0). */
  resetMs: number;
}

/** Where a {@link CircuitBreaker} is. */
export type CircuitState = 'closed' | 'open' | 'half-open';

/**
 * Stops hammering a server that keeps failing. Closed: requests go through and consecutive
 * failures are counted; `failureThreshold` of them in a row open the circuit. Open: no request
 * is sent for `resetMs` — callers *wait* (nothing is dropped). Then half-open: exactly one probe
 * goes through; its success closes the circuit, its failure opens it for another `resetMs`.
 *
 * Time is passed in (ms), so the breaker has no timers and tests drive it with plain numbers.
 * Protocol: call `waitMs(now)`; when it returns 0, send and report the outcome with
 * `onSuccess()` or `onFailure(now)`; otherwise wait that long and ask again.
 *
 * What counts as a failure is the caller's choice: the HTTP connectors count only retryable
 * failures (5xx, 408, 429, timeouts, connection errors), never a permanent 4xx, which shows the
 * server is up.
 *
 * @example
 * ```ts
 * const breaker = new CircuitBreaker(circuitBreakerOptions({ failureThreshold: 2, resetMs: 1_000 }, 'sinks.http'));
 * breaker.onFailure(0);
 * breaker.onFailure(10);    // opens until 1010
 * breaker.waitMs(500);      // 510
 * breaker.waitMs(1_010);    // 0: the probe may go (half-open)
 * breaker.onSuccess();      // closed again
 * ```
 */
export class CircuitBreaker {
  readonly #threshold: number;
  readonly #resetMs: number;
  #failures = 0;
  #state: CircuitState = 'closed';
  #openUntil = 0;
  #probing = false;

  constructor(options: CircuitBreakerOptions) {
    this.#threshold = options.failureThreshold;
    this.#resetMs = options.resetMs;
  }

  /** The current state (`'open'` until the first `waitMs` at or after the reset time). */
  get state(): CircuitState {
    return this.#state;
  }

  /**
   * Ms to wait before a request may be sent at `nowMs`; 0 means send now and report the outcome.
   * In half-open state only one probe is let through until its outcome is reported.
   */
  waitMs(nowMs: number): number {
    if (this.#state === 'closed') return 0;
    if (this.#state === 'open') {
      if (nowMs < this.#openUntil) return this.#openUntil - nowMs;
      this.#state = 'half-open';
      this.#probing = false;
    }
    if (this.#probing) return this.#resetMs;
    this.#probing = true;
    return 0;
  }

  /** The request succeeded (or failed in a way that shows the server is up): close the circuit. */
  onSuccess(): void {
    this.#failures = 0;
    this.#state = 'closed';
    this.#probing = false;
  }

  /** The request failed at `nowMs`: count it; open the circuit at the threshold or when a probe failed. */
  onFailure(nowMs: number): void {
    this.#failures++;
    if (this.#state === 'half-open' || this.#failures >= this.#threshold) {
      this.#state = 'open';
      this.#openUntil = nowMs + this.#resetMs;
      this.#probing = false;
    }
  }
}

/**
 * Validate circuit breaker options given to a connector factory; messages start with `where`.
 *
 * @example
 * ```ts
 * const options = circuitBreakerOptions({ failureThreshold: 5, resetMs: 30_000 }, 'sinks.http');
 * const breaker = new CircuitBreaker(options); // one per live writer
 * ```
 */
export function circuitBreakerOptions(value: unknown, where: string): CircuitBreakerOptions {
  if (value === null || typeof value !== 'object') {
    throw new ConfigError(`${where}: circuitBreaker must be { failureThreshold, resetMs }, got ${show(value)}`);
  }
  const { failureThreshold, resetMs } = value as Partial<CircuitBreakerOptions>;
  if (!(Number.isSafeInteger(failureThreshold) && (failureThreshold as number) >= 1)) {
    throw new ConfigError(`${where}: circuitBreaker.failureThreshold must be an integer ≥ 1, got ${show(failureThreshold)}`);
  }
  if (!(typeof resetMs === 'number' && Number.isFinite(resetMs) && resetMs > 0)) {
    throw new ConfigError(`${where}: circuitBreaker.resetMs must be a positive number of ms, got ${show(resetMs)}`);
  }
  return Object.freeze({ failureThreshold: failureThreshold as number, resetMs });
}
