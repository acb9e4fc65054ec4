import type { Aggregation } from './aggregation.js';
import { numericSelector } from './numeric-selector.js';
import type { NumericSelector } from './selector.js';

/**
 * Smallest value of a numeric field. `null` and `undefined` are skipped; any other non-number (or
 * `NaN`) throws a `TypeError`. Empty result: `undefined`. The accumulator is the number itself
 * (`undefined` while empty).
 *
 * @param field - a numeric field name, or a function of the record.
 *
 * @example
 * ```ts
 * const fastest = min<{ ms: number }>('ms');
 * fastest.result(fastest.add(fastest.add(fastest.create(), { ms: 9 }), { ms: 4 })); // 4
 * ```
 */
export function min<T = any>(field: NumericSelector<T>): Aggregation<T, number | undefined, number | undefined> {
  const read = numericSelector<T>('agg.min', field);
  return {
    create: () => undefined,
    add: (acc, record) => {
      const v = read(record);
      return v === undefined || (acc !== undefined && acc <= v) ? acc : v;
    },
    merge: (a, b) => (b === undefined || (a !== undefined && a <= b) ? a : b),
    result: (acc) => acc,
  };
}
