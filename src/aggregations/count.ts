import type { Aggregation } from './aggregation.js';
import { selector, type Selector } from './selector.js';

/**
 * Count records. With a field (or function), count only the records whose value is neither `null`
 * nor `undefined`. Empty result: `0`. The accumulator is a plain number.
 *
 * @param field - optional: count only records where this value is present.
 *
 * @example
 * ```ts
 * const n = count();
 * const withEmail = count<{ email?: string }>('email');
 * n.result(n.add(n.add(n.create(), {}), {})); // 2
 * ```
 */
export function count<T = any>(field?: Selector<T>): Aggregation<T, number, number> {
  if (field === undefined) {
    return {
      create: () => 0,
      add: (acc) => acc + 1,
      merge: (a, b) => a + b,
      result: (acc) => acc,
    };
  }
  const get = selector<T>('agg.count', field);
  return {
    create: () => 0,
    add: (acc, record) => {
      const v = get(record);
      return v === null || v === undefined ? acc : acc + 1;
    },
    merge: (a, b) => a + b,
    result: (acc) => acc,
  };
}
