/**
 * Aggregations: `{ create, add, merge, result }` folds used by windows and keyed aggregates.
 * Each factory is exported by name and also gathered in {@link agg}.
 *
 * @example
 * ```ts
 * const stats = agg.composite({ n: agg.count(), total: agg.sum<{ price: number }>('price') });
 * ```
 *
 * @packageDocumentation
 */
export type { Aggregation, AggregationInput, AggregationResult } from './aggregation.js';
export { agg } from './agg.js';
export { approxDistinct, type ApproxDistinctOptions } from './approx-distinct.js';
export { approxPercentile, type ApproxPercentileOptions } from './approx-percentile.js';
export { avg, type AvgState } from './avg.js';
export { collect } from './collect.js';
export { composite, type AggregationMembers, type CompositeInput, type CompositeResult } from './composite.js';
export { count } from './count.js';
export { distinctCount } from './distinct-count.js';
export { first } from './first.js';
export { hashValue } from './hash-value.js';
export { hyperLogLog } from './hyper-log-log.js';
export { isAggregation } from './is-aggregation.js';
export { last } from './last.js';
export { max } from './max.js';
export { median } from './median.js';
export { min } from './min.js';
export { percentile } from './percentile.js';
export { reduce, type ReduceState } from './reduce.js';
export type { NumericField, NumericSelector, Selector } from './selector.js';
export { stddev } from './stddev.js';
export { sum } from './sum.js';
export { tDigest, type TDigestState } from './t-digest.js';
export { variance } from './variance.js';
export type { VarianceOptions, WelfordState } from './welford-aggregation.js';
