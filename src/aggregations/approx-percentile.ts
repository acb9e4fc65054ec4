import { ConfigError } from '../runtime/errors.js';
import type { Aggregation } from './aggregation.js';
import { checkQuantile } from './check-quantile.js';
import { numericSelector } from './numeric-selector.js';
import { readOptions } from './read-options.js';
import type { NumericSelector } from './selector.js';
import { showValue } from './show-value.js';
import { tDigest, type TDigestState } from './t-digest.js';

/** Options of {@link approxPercentile}. */
export interface ApproxPercentileOptions {
  /**
   * The t-digest's δ, a finite number ≥ 10. Default 100: at most about 100 centroids (a few KiB per
   * accumulator, plus a buffer of up to 5δ values) and a rank error typically below 0.5 %, smaller
   * in the tails. Accuracy and memory both grow linearly with it.
   */
  compression?: number;
}

/**
 * Estimated `q`-quantile of a numeric field in fixed memory, with a merging t-digest (see
 * {@link tDigest}). `q = 0` and `q = 1` give the exact minimum and maximum. `null` and `undefined`
 * are skipped; any other value that is not a finite number (a string, `NaN`, `±Infinity`) throws a
 * `TypeError`. Empty result: `undefined`. Merging keeps the size bound, so panes and sessions work.
 * The accumulator is a plain {@link TDigestState} object, mutated in place; `result` compresses its
 * buffer, which does not change the estimate.
 *
 * @param field - a numeric field name, or a function of the record.
 * @param q - the quantile, in [0, 1].
 * @throws ConfigError when `q` is not in [0, 1] or `compression` is not a finite number ≥ 10.
 *
 * @example
 * ```ts
 * const p99 = approxPercentile<{ ms: number }>('ms', 0.99, { compression: 200 });
 * ```
 */
export function approxPercentile<T = any>(
  field: NumericSelector<T>,
  q: number,
  options?: ApproxPercentileOptions,
): Aggregation<T, TDigestState, number | undefined> {
  const name = 'agg.approxPercentile';
  const quantile = checkQuantile(name, q);
  const read = numericSelector<T>(name, field, true);
  const opts = readOptions(name, options);
  const compression = opts.compression ?? 100;
  if (typeof compression !== 'number' || !(compression >= 10) || compression === Infinity) {
    throw new ConfigError(`${name}: compression must be a finite number >= 10, got ${showValue(compression)}`);
  }
  return {
    create: () => tDigest.create(compression),
    add: (acc, record) => {
      const v = read(record);
      if (v !== undefined) tDigest.add(acc, v);
      return acc;
    },
    merge: (a, b) => {
      tDigest.merge(a, b);
      return a;
    },
    result: (acc) => tDigest.quantile(acc, quantile),
  };
}
