import type { Aggregation } from './aggregation.js';
import type { NumericSelector } from './selector.js';
import { welfordAggregation, type VarianceOptions, type WelfordState } from './welford-aggregation.js';

/**
 * Standard deviation of a numeric field: the square root of {@link variance}, with the same
 * accumulator, options and rules. Population (divide by n) by default; `{ sample: true }` divides by
 * n − 1. Empty result: `undefined` (also for a single value when `sample` is set).
 *
 * @param field - a numeric field name, or a function of the record.
 * @throws ConfigError when `sample` is not a boolean.
 *
 * @example
 * ```ts
 * const s = stddev<{ ms: number }>('ms');
 * s.result(s.add(s.add(s.create(), { ms: 1 }), { ms: 3 })); // 1
 * ```
 */
export function stddev<T = any>(
  field: NumericSelector<T>,
  options?: VarianceOptions,
): Aggregation<T, WelfordState, number | undefined> {
  return welfordAggregation<T>('agg.stddev', field, options, Math.sqrt);
}
