/**
 * Windows: assigners (`windows.*`), triggers (`triggers.*`) and their types. A window step is
 * built with `keyed.window(assigner, options)` and then `.aggregate`, `.reduce` or `.process`.
 *
 * @example
 * ```ts
 * import { windows, triggers } from './windows/index.js';
 * stream.keyBy('user').window(windows.tumbling(60_000), { trigger: triggers.countEarly(100) }).aggregate(agg.count());
 * ```
 *
 * @packageDocumentation
 */
import { countEarlyTrigger } from './count-early-trigger.js';
import { countTrigger } from './count-trigger.js';
import { countWindow } from './count-window.js';
import { eventTimeTrigger } from './event-time-trigger.js';
import { globalWindow } from './global-window.js';
import { processingTimeEarlyTrigger } from './processing-time-early-trigger.js';
import { session } from './session.js';
import { slidingCount } from './sliding-count.js';
import { sliding } from './sliding.js';
import { tumbling } from './tumbling.js';

export type { CountWindows } from './count-window.js';
export type { GlobalWindows } from './global-window.js';
export type { SessionWindows } from './session.js';
export type { SlidingCountWindows } from './sliding-count.js';
export type { SlidingWindows } from './sliding.js';
export type { TumblingWindows } from './tumbling.js';
export type { TimeWindow } from './time-window.js';
export type { WindowAssigner } from './window-assigner.js';
export type { Trigger, TriggerAction, TriggerContext } from './trigger.js';
export type { ProcessWindowFunction } from './window-function.js';
export { LATE_TAG } from './late-records.js';
export type { WindowOperator } from './window-operator.js';

/**
 * Window assigners:
 * - `tumbling(sizeMs, offsetMs?)`: fixed, non-overlapping time windows;
 * - `sliding(sizeMs, slideMs, offsetMs?)`: overlapping time windows (computed over shared panes);
 * - `session(gapMs)`: per-key sessions of activity;
 * - `count(n)`, `slidingCount(n, step)`: per-key windows of records in arrival order;
 * - `global()`: one window per key, fired by a trigger.
 *
 * @example
 * ```ts
 * keyed.window(windows.sliding(10_000, 2_000)).aggregate({ n: agg.count() });
 * ```
 */
export const windows = Object.freeze({
  tumbling,
  sliding,
  session,
  count: countWindow,
  slidingCount,
  global: globalWindow,
});

/**
 * Triggers (when a window emits):
 * - `eventTime()`: the default — once, when the watermark reaches `end − 1`;
 * - `processingTimeEarly(intervalMs)`, `countEarly(n)`: early results, then the event-time firing;
 * - `count(n)`: fire and purge every `n` records (for `windows.global()`).
 * Any object of the {@link Trigger} shape is a custom trigger.
 *
 * @example
 * ```ts
 * keyed.window(windows.global(), { trigger: triggers.count(50) }).aggregate(agg.avg('value'));
 * ```
 */
export const triggers = Object.freeze({
  eventTime: eventTimeTrigger,
  processingTimeEarly: processingTimeEarlyTrigger,
  countEarly: countEarlyTrigger,
  count: countTrigger,
});
