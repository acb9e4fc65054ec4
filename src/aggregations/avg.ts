import type { Aggregation } from './aggregation.js';
import { numericSelector } from './numeric-selector.js';
import type { NumericSelector } from './selector.js';

/** Accumulator of {@link avg}: running sum and count of the values seen, mutated in place. */
export interface AvgState {
  sum: number;
  count: number;
}

/**
 * Arithmetic mean of a numeric field. `null` and `undefined` are skipped (they do not count);
 * any other non-number (or `NaN`) throws a `TypeError`. Empty result: `undefined`.
 * The accumulator is one `{ sum, count }` object per accumulator, mutated in place.
 *
 * @param field - a numeric field name, or a function of the record.
 *
 * @example
 * ```ts
 * const mean = avg<{ ms: number }>('ms');
 * mean.result(mean.add(mean.add(mean.create(), { ms: 2 }), { ms: 4 })); // 3
 * ```
 */
export function avg<T = any>(field: NumericSelector<T>): Aggregation<T, AvgState, number | undefined> {
  const read = numericSelector<T>('agg.avg', field);
  return {
    create: () => ({ sum: 0, count: 0 }),
    add: (acc, record) => {
      const v = read(record);
      if (v !== undefined) {
        acc.sum += v;
        acc.count += 1;
      }
      return acc;
    },
    merge: (a, b) => {
      a.sum += b.sum;
      a.count += b.count;
      return a;
    },
    result: (acc) => (acc.count === 0 ? undefined : acc.sum / acc.count),
  };
}
