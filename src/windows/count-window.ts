import { positiveInteger } from './check-options.js';

/** Tumbling windows of a fixed number of records per key. Build with {@link countWindow}. */
export interface CountWindows {
  readonly kind: 'count';
  readonly size: number;
}

/**
 * Count windows: per key, in arrival order, every `n` records form a window, which fires as its
 * `n`-th record arrives. A window still incomplete at end of input is not emitted. Rows carry
 * `start` = the smallest event time of the window's records and `end` = the largest + 1 (`NaN` on
 * a stream without event time); their timestamp is `end − 1`.
 *
 * @param n - records per window, a positive integer.
 *
 * @example
 * ```ts
 * stream.keyBy('sensor').window(windows.count(100)).aggregate(agg.avg('value'));
 * ```
 */
export function countWindow(n: number): CountWindows {
  return { kind: 'count', size: positiveInteger('windows.count', 'n', n) };
}
