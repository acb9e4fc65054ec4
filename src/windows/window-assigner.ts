import type { CountWindows } from './count-window.js';
import type { GlobalWindows } from './global-window.js';
import type { SessionWindows } from './session.js';
import type { SlidingCountWindows } from './sliding-count.js';
import type { SlidingWindows } from './sliding.js';
import type { TumblingWindows } from './tumbling.js';

/**
 * Decides which window(s) a record belongs to. Build one with the `windows.*` factories; the
 * `kind` tells the window operator which state layout to use.
 *
 * @example
 * ```ts
 * const perMinute: WindowAssigner = windows.tumbling(60_000);
 * ```
 */
export type WindowAssigner = TumblingWindows | SlidingWindows | SessionWindows | CountWindows | SlidingCountWindows | GlobalWindows;

const KINDS = new Set(['tumbling', 'sliding', 'session', 'count', 'sliding-count', 'global']);

/**
 * True when `x` is an assigner made by a `windows.*` factory.
 *
 * @example
 * ```ts
 * isWindowAssigner(windows.session(1000)); // true
 * ```
 */
export function isWindowAssigner(x: unknown): x is WindowAssigner {
  return x !== null && typeof x === 'object' && KINDS.has((x as { kind?: unknown }).kind as string);
}

/**
 * True for assigners whose windows are ranges of event time (they need timestamps and watermarks,
 * and take allowed lateness).
 *
 * @example
 * ```ts
 * isEventTimeAssigner(windows.count(10)); // false
 * ```
 */
export function isEventTimeAssigner(a: WindowAssigner): a is TumblingWindows | SlidingWindows | SessionWindows {
  return a.kind === 'tumbling' || a.kind === 'sliding' || a.kind === 'session';
}
