import type { Aggregation } from './aggregation.js';
import { exactQuantile } from './exact-quantile.js';
import type { NumericSelector } from './selector.js';

/**
 * Exact `q`-quantile of a numeric field, interpolated linearly between the two closest ranks (the
 * value at rank `q * (n - 1)` of the sorted values: numpy's default `"linear"` method). `q = 0` is the
 * minimum, `q = 1` the maximum. `null` and `undefined` are skipped; any other non-number (or `NaN`)
 * throws a `TypeError`. Empty result: `undefined`.
 *
 * Keeps every value (memory O(n) per accumulator) and selects in O(n) at `result`; for large
 * windows use {@link approxPercentile}, which has a fixed size.
 *
 * @param field - a numeric field name, or a function of the record.
 * @param q - the quantile, in [0, 1] (0.95 for the 95th percentile).
 * @throws ConfigError when `q` is not in [0, 1], e.g. `agg.percentile: q must be in [0, 1], got 1.5`.
 *
 * @example
 * ```ts
 * const p95 = percentile<{ ms: number }>('ms', 0.95);
 * ```
 */
export function percentile<T = any>(field: NumericSelector<T>, q: number): Aggregation<T, number[], number | undefined> {
  return exactQuantile<T>('agg.percentile', field, q);
}
