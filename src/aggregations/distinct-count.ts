import type { Aggregation } from './aggregation.js';
import { selector } from './selector.js';

/**
 * Exact number of distinct present values of a field (`null` and `undefined` are skipped), compared
 * like a `Set` does (SameValueZero: `1` and `'1'` differ, `NaN` equals `NaN`). Objects compare by
 * identity, which a checkpoint does not preserve: select a primitive key. Empty result: `0`.
 * The accumulator is a `Set` holding every distinct value (memory is O(distinct));
 * see {@link approxDistinct} for a fixed-size estimate.
 *
 * @param field - a field name, or a function of the record.
 *
 * @example
 * ```ts
 * const users = distinctCount<{ user: string }>('user');
 * users.result(users.add(users.add(users.create(), { user: 'a' }), { user: 'a' })); // 1
 * ```
 */
export function distinctCount<T = any>(field: keyof T & string | ((record: T) => unknown)): Aggregation<T, Set<unknown>, number> {
  const get = selector<T>('agg.distinctCount', field);
  return {
    create: () => new Set(),
    add: (acc, record) => {
      const v = get(record);
      if (v !== null && v !== undefined) acc.add(v);
      return acc;
    },
    merge: (a, b) => {
      for (const v of b) a.add(v);
      return a;
    },
    result: (acc) => acc.size,
  };
}
