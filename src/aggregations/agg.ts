import { approxDistinct } from './approx-distinct.js';
import { approxPercentile } from './approx-percentile.js';
import { avg } from './avg.js';
import { collect } from './collect.js';
import { composite } from './composite.js';
import { count } from './count.js';
import { distinctCount } from './distinct-count.js';
import { first } from './first.js';
import { isAggregation } from './is-aggregation.js';
import { last } from './last.js';
import { max } from './max.js';
import { median } from './median.js';
import { min } from './min.js';
import { percentile } from './percentile.js';
import { reduce } from './reduce.js';
import { stddev } from './stddev.js';
import { sum } from './sum.js';
import { variance } from './variance.js';

/**
 * Every built-in aggregation under one name, for jobs that prefer `agg.sum('price')` to importing
 * each factory (the same functions are also exported one by one).
 *
 * @example
 * ```ts
 * const perMinute = agg.composite({ n: agg.count(), p95: agg.percentile<{ ms: number }>('ms', 0.95) });
 * ```
 */
export const agg = {
  count,
  sum,
  min,
  max,
  avg,
  first,
  last,
  collect,
  distinctCount,
  approxDistinct,
  variance,
  stddev,
  median,
  percentile,
  approxPercentile,
  reduce,
  composite,
  isAggregation,
} as const;
