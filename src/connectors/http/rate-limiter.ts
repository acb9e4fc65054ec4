import { ConfigError, show } from '../../runtime/errors.js';

/**
 * A token bucket: at most `ratePerSec` operations per second on average, and at most `burst` at
 * once. Time is passed in (ms), so the limiter has no timers of its own and tests drive it with
 * plain numbers; the caller waits the returned delay and asks again.
 *
 * The bucket starts full. Invariant: `take(now)` returns 0 at most `burst + ratePerSec × t / 1000`
 * times over any stretch of `t` ms.
 *
 * @example
 * ```ts
 * const limiter = new RateLimiter(10, 'sinks.http');  // 10 per second, one at a time
 * limiter.take(0);    // 0: go
 * limiter.take(0);    // 100: wait 100 ms, then call take again
 * limiter.take(100);  // 0
 * ```
 */
export class RateLimiter {
  readonly #ratePerMs: number;
  readonly #burst: number;
  #tokens: number;
  #refilledAt: number | undefined;

  /**
   * @param ratePerSec operations per second, > 0.
   * @param where the connector's name, for error messages.
   * @param burst tokens the bucket holds at most (≥ 1). Default `1`: operations evenly spaced.
   * @throws ConfigError when `ratePerSec` or `burst` is out of range.
   */
  constructor(ratePerSec: number, where: string, burst = 1) {
    if (!(typeof ratePerSec === 'number' && Number.isFinite(ratePerSec) && ratePerSec > 0)) {
      throw new ConfigError(`${where}: ratePerSec must be a positive number of requests per second, got ${show(ratePerSec)}`);
    }
    if (!(typeof burst === 'number' && Number.isFinite(burst) && burst >= 1)) {
      throw new ConfigError(`${where}: burst must be a number ≥ 1, got ${show(burst)}`);
    }
    this.#ratePerMs = ratePerSec / 1000;
    this.#burst = burst;
    this.#tokens = burst;
  }

  /**
   * Take one token at time `nowMs`: returns 0 when taken (go ahead), else the ms to wait before
   * asking again (nothing is taken then).
   */
  take(nowMs: number): number {
    this.#refill(nowMs);
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - this.#tokens) / this.#ratePerMs);
  }

  #refill(nowMs: number): void {
    const last = this.#refilledAt;
    // A clock that steps back never mints tokens: only forward time refills.
    if (last !== undefined && nowMs <= last) return;
    this.#refilledAt = nowMs;
    if (last === undefined) return;
    const tokens = this.#tokens + (nowMs - last) * this.#ratePerMs;
    this.#tokens = tokens < this.#burst ? tokens : this.#burst;
  }
}
