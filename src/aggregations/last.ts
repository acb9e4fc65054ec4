import type { Aggregation } from './aggregation.js';
import { selector } from './selector.js';

/**
 * The last present value of a field, by arrival order: records whose value is `null` or `undefined`
 * are skipped, so the result is the latest value that exists. `merge(a, b)` treats `b` as later.
 * Empty result: `undefined`. The accumulator is the value itself (`undefined` while empty); it must be
 * serializable with `v8.serialize` for checkpoints.
 *
 * @param field - a field name, or a function of the record.
 *
 * @example
 * ```ts
 * const closing = last<{ price: number }>('price');
 * closing.result(closing.add(closing.add(closing.create(), { price: 7 }), { price: 9 })); // 9
 * ```
 */
export function last<T = any, K extends keyof T & string = keyof T & string>(
  field: K,
): Aggregation<T, NonNullable<T[K]> | undefined, NonNullable<T[K]> | undefined>;
export function last<T = any, V = unknown>(
  field: (record: T) => V,
): Aggregation<T, NonNullable<V> | undefined, NonNullable<V> | undefined>;
export function last<T>(field: unknown): Aggregation<T, unknown, unknown> {
  const get = selector<T>('agg.last', field);
  return {
    create: () => undefined,
    add: (acc, record) => {
      const v = get(record);
      return v === null || v === undefined ? acc : v;
    },
    merge: (a, b) => (b !== undefined ? b : a),
    result: (acc) => acc,
  };
}
