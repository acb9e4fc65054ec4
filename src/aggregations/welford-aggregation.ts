import { ConfigError } from '../runtime/errors.js';
import type { Aggregation } from './aggregation.js';
import { numericSelector } from './numeric-selector.js';
import { readOptions } from './read-options.js';
import { showValue } from './show-value.js';

/**
 * Accumulator of `variance` and `stddev`: Welford's running moments, mutated in place.
 * `m2` is the sum of squared deviations from `mean`.
 */
export interface WelfordState {
  count: number;
  mean: number;
  m2: number;
}

/** Options of `variance` and `stddev`. */
export interface VarianceOptions {
  /**
   * `true`: sample (unbiased) variance, dividing by n − 1; `undefined` for fewer than 2 values.
   * `false` (default): population variance, dividing by n; `undefined` for no values.
   */
  sample?: boolean;
}

/**
 * Build a variance-like aggregation over Welford's online moments; `add` updates one value at a time
 * (numerically stable, no catastrophic cancellation) and `merge` combines two partial results with
 * Chan et al.'s parallel formula. Shared by `variance` and `stddev`.
 *
 * @param name - the aggregation's name for messages (`agg.variance`).
 * @param finish - maps the variance to the result (identity, or `Math.sqrt`).
 *
 * @example
 * ```ts
 * const spread = welfordAggregation<{ ms: number }>('agg.variance', 'ms', {}, (v) => v);
 * ```
 */
export function welfordAggregation<T>(
  name: string,
  field: unknown,
  options: VarianceOptions | undefined,
  finish: (variance: number) => number,
): Aggregation<T, WelfordState, number | undefined> {
  const read = numericSelector<T>(name, field, true);
  const opts = readOptions(name, options);
  if (opts.sample !== undefined && typeof opts.sample !== 'boolean') {
    throw new ConfigError(`${name}: sample must be a boolean, got ${showValue(opts.sample)}`);
  }
  const sample = opts.sample === true;
  const minCount = sample ? 2 : 1;
  return {
    create: () => ({ count: 0, mean: 0, m2: 0 }),
    add: (acc, record) => {
      const x = read(record);
      if (x === undefined) return acc;
      const n = acc.count + 1;
      const delta = x - acc.mean;
      acc.count = n;
      acc.mean += delta / n;
      acc.m2 += delta * (x - acc.mean);
      return acc;
    },
    merge: (a, b) => {
      if (b.count === 0) return a;
      if (a.count === 0) {
        a.count = b.count;
        a.mean = b.mean;
        a.m2 = b.m2;
        return a;
      }
      const n = a.count + b.count;
      const delta = b.mean - a.mean;
      a.mean += (delta * b.count) / n;
      a.m2 += b.m2 + ((delta * delta * a.count) / n) * b.count;
      a.count = n;
      return a;
    },
    result: (acc) => {
      if (acc.count < minCount) return undefined;
      // Rounding can leave m2 a hair below zero for constant input.
      const m2 = acc.m2 > 0 ? acc.m2 : 0;
      return finish(m2 / (sample ? acc.count - 1 : acc.count));
    },
  };
}
