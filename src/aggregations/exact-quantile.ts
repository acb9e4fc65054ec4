import type { Aggregation } from './aggregation.js';
import { checkQuantile } from './check-quantile.js';
import { numericSelector } from './numeric-selector.js';
import { selectQuantile } from './select-quantile.js';

/**
 * Build an exact quantile aggregation: collect every present value, then select at `result` time
 * (linear interpolation between closest ranks, numpy's default). Shared by `percentile` and `median`.
 * The accumulator is a `number[]` (memory O(n)); `result` reorders it in place, which does not change
 * what it stands for.
 *
 * @param name - the aggregation's name for messages (`agg.percentile`).
 * @throws ConfigError when `q` is not in [0, 1] or `field` is not a selector.
 *
 * @example
 * ```ts
 * const p90 = exactQuantile<{ ms: number }>('agg.percentile', 'ms', 0.9);
 * ```
 */
export function exactQuantile<T>(name: string, field: unknown, q: unknown): Aggregation<T, number[], number | undefined> {
  const quantile = checkQuantile(name, q);
  const read = numericSelector<T>(name, field);
  return {
    create: () => [],
    add: (acc, record) => {
      const v = read(record);
      if (v !== undefined) acc.push(v);
      return acc;
    },
    merge: (a, b) => {
      for (let i = 0; i < b.length; i++) a.push(b[i]);
      return a;
    },
    result: (acc) => selectQuantile(acc, quantile),
  };
}
