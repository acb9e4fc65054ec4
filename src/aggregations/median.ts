import type { Aggregation } from './aggregation.js';
import { exactQuantile } from './exact-quantile.js';
import type { NumericSelector } from './selector.js';

/**
 * Exact median of a numeric field: {@link percentile} at `q = 0.5` (the mean of the two middle values
 * for an even count). `null` and `undefined` are skipped; any other non-number (or `NaN`) throws a
 * `TypeError`. Empty result: `undefined`. Keeps every value (memory O(n)).
 *
 * @param field - a numeric field name, or a function of the record.
 *
 * @example
 * ```ts
 * const mid = median<{ ms: number }>('ms');
 * mid.result(mid.add(mid.add(mid.create(), { ms: 1 }), { ms: 4 })); // 2.5
 * ```
 */
export function median<T = any>(field: NumericSelector<T>): Aggregation<T, number[], number | undefined> {
  return exactQuantile<T>('agg.median', field, 0.5);
}
