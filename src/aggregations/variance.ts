import type { Aggregation } from './aggregation.js';
import type { NumericSelector } from './selector.js';
import { welfordAggregation, type VarianceOptions, type WelfordState } from './welford-aggregation.js';

/**
 * Variance of a numeric field, computed in one numerically stable pass (Welford) and merged with
 * Chan et al.'s parallel formula. Population variance (divide by n) by default; `{ sample: true }`
 * divides by n − 1. `null` and `undefined` are skipped; any other value that is not a finite number
 * (a string, `NaN`, `±Infinity`) throws a `TypeError`. Empty result: `undefined` (also for a single
 * value when `sample` is set).
 * The accumulator is one `{ count, mean, m2 }` object, mutated in place.
 *
 * @param field - a numeric field name, or a function of the record.
 * @throws ConfigError when `sample` is not a boolean.
 *
 * @example
 * ```ts
 * const v = variance<{ ms: number }>('ms', { sample: true });
 * v.result(v.add(v.add(v.create(), { ms: 1 }), { ms: 3 })); // 2
 * ```
 */
export function variance<T = any>(
  field: NumericSelector<T>,
  options?: VarianceOptions,
): Aggregation<T, WelfordState, number | undefined> {
  return welfordAggregation<T>('agg.variance', field, options, (v) => v);
}
