import { ConfigError, show } from '../runtime/errors.js';

/** Per-key activity sessions separated by gaps of inactivity. Build with {@link session}. */
export interface SessionWindows {
  readonly kind: 'session';
  readonly gapMs: number;
}

/**
 * Session windows, per key: a new session starts when the gap (in event time) to the previous
 * event is greater than `gapMs`; events exactly `gapMs` apart are in one session. A session is
 * the window `[first, last + gapMs)` and fires when the watermark reaches `last + gapMs − 1`.
 * An out-of-order event that bridges two sessions merges them.
 *
 * Once a session has fired and its allowed lateness has passed it is closed: an event arriving
 * later (even one exactly `gapMs` after its last event) starts a new session, as in Flink.
 *
 * @param gapMs - the inactivity gap in ms, a positive finite number.
 * @throws ConfigError when `gapMs` is not positive.
 *
 * @example
 * ```ts
 * clicks.keyBy('user').window(windows.session(30 * 60_000)).aggregate({ pages: agg.count() });
 * ```
 */
export function session(gapMs: number): SessionWindows {
  if (!(typeof gapMs === 'number' && Number.isFinite(gapMs) && gapMs > 0)) {
    throw new ConfigError(`windows.session: gapMs must be a positive number of milliseconds, got ${show(gapMs)}`);
  }
  return { kind: 'session', gapMs };
}
