import type { Aggregation } from './aggregation.js';
import { selector } from './selector.js';

/**
 * The first present value of a field, by arrival order: records whose value is `null` or `undefined`
 * are skipped, so the result is the earliest value that exists. `merge(a, b)` treats `a` as earlier.
 * Empty result: `undefined`. The accumulator is the value itself (`undefined` while empty); it must be
 * serializable with `v8.serialize` for checkpoints.
 *
 * @param field - a field name, or a function of the record.
 *
 * @example
 * ```ts
 * const opening = first<{ price: number }>('price');
 * opening.result(opening.add(opening.add(opening.create(), { price: 7 }), { price: 9 })); // 7
 * ```
 */
export function first<T = any, K extends keyof T & string = keyof T & string>(
  field: K,
): Aggregation<T, NonNullable<T[K]> | undefined, NonNullable<T[K]> | undefined>;
export function first<T = any, V = unknown>(
  field: (record: T) => V,
): Aggregation<T, NonNullable<V> | undefined, NonNullable<V> | undefined>;
export function first<T>(field: unknown): Aggregation<T, unknown, unknown> {
  const get = selector<T>('agg.first', field);
  return {
    create: () => undefined,
    add: (acc, record) => {
      if (acc !== undefined) return acc;
      const v = get(record);
      return v === null ? undefined : v;
    },
    merge: (a, b) => (a !== undefined ? a : b),
    result: (acc) => acc,
  };
}
