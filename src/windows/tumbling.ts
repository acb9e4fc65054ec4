import { alignDown } from './align.js';
import { integer, positiveInteger } from './check-options.js';
import type { TimeWindow } from './time-window.js';

/** Fixed-size, non-overlapping event-time windows. Build with {@link tumbling}. */
export interface TumblingWindows {
  readonly kind: 'tumbling';
  readonly sizeMs: number;
  readonly offsetMs: number;
  /** The one window holding event time `t`. */
  assign(t: number): TimeWindow[];
}

/**
 * Tumbling windows of `sizeMs`: each record belongs to exactly one window `[start, start + sizeMs)`
 * with `start = t − ((t − offsetMs) mod sizeMs)` (floored modulo, also for negative `t`).
 * `offsetMs` shifts the grid, e.g. `tumbling(86_400_000, -3_600_000)` for days in UTC+1.
 * A window fires when the watermark reaches `end − 1`.
 *
 * @param sizeMs - window length in ms, a positive integer.
 * @param offsetMs - grid offset in ms, an integer (default 0).
 * @throws ConfigError when an argument is not such an integer.
 *
 * @example
 * ```ts
 * stream.keyBy('user').window(windows.tumbling(60_000)).aggregate(agg.count());
 * ```
 */
export function tumbling(sizeMs: number, offsetMs = 0): TumblingWindows {
  const what = 'windows.tumbling';
  const size = positiveInteger(what, 'sizeMs', sizeMs, ' (ms)');
  const offset = integer(what, 'offsetMs', offsetMs);
  return {
    kind: 'tumbling',
    sizeMs: size,
    offsetMs: offset,
    assign(t) {
      const start = alignDown(t, size, offset);
      return [{ start, end: start + size }];
    },
  };
}
