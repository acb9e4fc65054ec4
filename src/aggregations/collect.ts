import type { Aggregation } from './aggregation.js';
import { selector } from './selector.js';

/**
 * All present values of a field, in arrival order (`merge(a, b)` appends `b`'s after `a`'s).
 * `null` and `undefined` are skipped. Empty result: `[]`. The accumulator is an array that grows
 * with the input (memory is O(n)); `result` returns a copy. Values must be serializable with
 * `v8.serialize` for checkpoints.
 *
 * @param field - a field name, or a function of the record.
 *
 * @example
 * ```ts
 * const ids = collect<{ id: string }>('id');
 * ids.result(ids.add(ids.add(ids.create(), { id: 'a' }), { id: 'b' })); // ['a', 'b']
 * ```
 */
export function collect<T = any, K extends keyof T & string = keyof T & string>(
  field: K,
): Aggregation<T, NonNullable<T[K]>[], NonNullable<T[K]>[]>;
export function collect<T = any, V = unknown>(field: (record: T) => V): Aggregation<T, NonNullable<V>[], NonNullable<V>[]>;
export function collect<T>(field: unknown): Aggregation<T, unknown[], unknown[]> {
  const get = selector<T>('agg.collect', field);
  return {
    create: () => [],
    add: (acc, record) => {
      const v = get(record);
      if (v !== null && v !== undefined) acc.push(v);
      return acc;
    },
    merge: (a, b) => {
      // A loop, not `a.push(...b)`: spreading a large array overflows the call stack.
      for (let i = 0; i < b.length; i++) a.push(b[i]);
      return a;
    },
    result: (acc) => acc.slice(),
  };
}
