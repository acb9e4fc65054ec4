import { ConfigError } from '../runtime/errors.js';
import { positiveInteger } from './check-options.js';

/** Overlapping windows of a fixed number of records per key. Build with {@link slidingCount}. */
export interface SlidingCountWindows {
  readonly kind: 'sliding-count';
  readonly size: number;
  readonly step: number;
}

/**
 * Sliding count windows: per key, in arrival order, window `i` holds the key's records
 * `i·step … i·step + n − 1` and fires as its last record arrives, so after the first `n` records
 * a window fires every `step` records. A window still incomplete at end of input is not emitted.
 * Rows carry `start`/`end` as {@link countWindow}'s. Records are kept in panes of `gcd(n, step)`
 * records, not copied into every window.
 *
 * @param n - records per window, a positive integer.
 * @param step - records between window starts, a positive integer ≤ `n`.
 *
 * @example
 * ```ts
 * stream.keyBy('sensor').window(windows.slidingCount(10, 2)).aggregate(agg.max('value'));
 * ```
 */
export function slidingCount(n: number, step: number): SlidingCountWindows {
  const what = 'windows.slidingCount';
  const size = positiveInteger(what, 'n', n);
  const by = positiveInteger(what, 'step', step);
  if (by > size) throw new ConfigError(`${what}: step must not exceed n (records would fall between windows), got step ${by} > n ${size}`);
  return { kind: 'sliding-count', size, step: by };
}
