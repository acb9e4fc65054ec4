import type { Aggregation } from './aggregation.js';
import { numericSelector } from './numeric-selector.js';
import type { NumericSelector } from './selector.js';

/**
 * Sum of a numeric value. `null` and `undefined` are skipped; any other non-number (or `NaN`) throws
 * a `TypeError` naming the aggregation and the value. Empty result: `0`. The accumulator is a plain
 * number (plain floating-point addition, so a merged sum may differ from a sequential one in the last
 * bits when the inputs are not integers).
 *
 * @param field - a numeric field name, or a function of the record.
 *
 * @example
 * ```ts
 * const total = sum<{ price: number }>('price');
 * total.result(total.add(total.add(total.create(), { price: 2 }), { price: 3 })); // 5
 * ```
 */
export function sum<T = any>(field: NumericSelector<T>): Aggregation<T, number, number> {
  const read = numericSelector<T>('agg.sum', field);
  return {
    create: () => 0,
    add: (acc, record) => {
      const v = read(record);
      return v === undefined ? acc : acc + v;
    },
    merge: (a, b) => a + b,
    result: (acc) => acc,
  };
}
