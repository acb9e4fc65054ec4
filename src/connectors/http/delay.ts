import { AbortedError } from '../../runtime/errors.js';
import type { Clock } from '../../runtime/clock.js';

/**
 * Wait `ms` milliseconds; rejects with the signal's reason as soon as `signal` aborts (the timer
 * is cancelled then). With a `clock` the wait is a timer on that clock (tests pass a
 * `ManualClock` and advance it); without one it is a plain `setTimeout` that keeps the process
 * alive — a pending retry or poll is work in progress, unlike the system clock's unref'd timers.
 * `ms ≤ 0` resolves on the next microtask.
 *
 * @example
 * ```ts
 * await delay(250, ctx.signal);              // real time
 * const waiting = delay(250, signal, clock); // resolves once clock.advance(250) runs
 * ```
 */
export function delay(ms: number, signal: AbortSignal, clock?: Clock): Promise<void> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  if (!(ms > 0)) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      cancel();
      reject(abortReason(signal));
    };
    const done = (): void => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    };
    let cancel: () => void;
    if (clock === undefined) {
      const timer = setTimeout(done, ms);
      cancel = () => clearTimeout(timer);
    } else {
      cancel = clock.schedule(clock.now() + ms, done);
    }
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** What an aborted wait rejects with: the signal's reason, or an {@link AbortedError}. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new AbortedError();
}
