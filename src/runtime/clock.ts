/**
 * Processing time. The runtime reads the time and schedules processing-time timers only through
 * a clock, so tests can drive time by hand with {@link ManualClock} instead of sleeping.
 */
export interface Clock {
  /** Current processing time in ms since the epoch. */
  now(): number;
  /** Call `fn` once the time reaches `atMs`. Returns a function that cancels the timer. */
  schedule(atMs: number, fn: () => void): () => void;
}

/** The system clock: `Date.now()` and unref'd `setTimeout`s (timers never keep a finished job alive). */
export const systemClock: Clock = {
  now: () => Date.now(),
  schedule(atMs, fn) {
    const timer = setTimeout(fn, Math.max(0, atMs - Date.now()));
    timer.unref();
    return () => clearTimeout(timer);
  },
};

/**
 * A clock that only moves when told to. `advance` fires due timers in time order.
 *
 * @example
 * ```ts
 * const clock = new ManualClock(0);
 * clock.schedule(100, () => console.log('fired'));
 * clock.advance(100); // prints "fired"
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  #timers: Array<{ at: number; fn: () => void; seq: number }> = [];
  #seq = 0;

  constructor(startMs = 0) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  schedule(atMs: number, fn: () => void): () => void {
    const timer = { at: atMs, fn, seq: this.#seq++ };
    this.#timers.push(timer);
    return () => {
      this.#timers = this.#timers.filter((t) => t !== timer);
    };
  }

  /** Move time forward by `ms`, firing every timer that becomes due, earliest first. */
  advance(ms: number): void {
    this.set(this.#now + ms);
  }

  /** Move time to `timeMs` (never backwards), firing due timers. */
  set(timeMs: number): void {
    if (timeMs < this.#now) return;
    for (;;) {
      let next: { at: number; fn: () => void; seq: number } | undefined;
      for (const t of this.#timers) if (t.at <= timeMs && (next === undefined || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t;
      if (next === undefined) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.#now = Math.max(this.#now, next.at);
      next.fn();
    }
    this.#now = timeMs;
  }

  /** Timers not yet fired. */
  get pending(): number {
    return this.#timers.length;
  }
}
