import { ConfigError } from '../runtime/errors.js';
import type { Aggregation } from './aggregation.js';
import { showValue } from './show-value.js';

/**
 * Accumulator of {@link reduce}: whether a record was seen, and the running value, mutated in place.
 * The value must be serializable with `v8.serialize` for checkpoints.
 */
export interface ReduceState<T> {
  has: boolean;
  value: T | undefined;
}

/**
 * Fold whole records pairwise with `fn`, as `Array.prototype.reduce` without a seed: the first record
 * is the start value, each later one is combined as `fn(soFar, record)`. `merge(a, b)` computes
 * `fn(a, b)`, so `fn` must be associative (`fn(fn(x, y), z)` equals `fn(x, fn(y, z))`) for panes and
 * sessions to give the same result as one pass. Every record counts, `null` included.
 * Empty result: `undefined`. A throw from `fn` propagates to the runtime's error policy.
 *
 * @param fn - the combining function. It must not mutate its arguments (they may be the user's records
 *   or values shared with another accumulator after a merge): return a new value instead.
 *
 * @example
 * ```ts
 * const biggest = reduce<{ ms: number }>((a, b) => (b.ms > a.ms ? b : a));
 * biggest.result(biggest.add(biggest.add(biggest.create(), { ms: 1 }), { ms: 5 })); // { ms: 5 }
 * ```
 */
export function reduce<T = any>(fn: (a: T, b: T) => T): Aggregation<T, ReduceState<T>, T | undefined> {
  if (typeof fn !== 'function') throw new ConfigError(`agg.reduce: fn must be a function, got ${showValue(fn)}`);
  return {
    create: () => ({ has: false, value: undefined }),
    add: (acc, record) => {
      if (acc.has) {
        acc.value = fn(acc.value as T, record);
      } else {
        acc.has = true;
        acc.value = record;
      }
      return acc;
    },
    merge: (a, b) => {
      if (!b.has) return a;
      if (a.has) {
        a.value = fn(a.value as T, b.value as T);
      } else {
        a.has = true;
        a.value = b.value;
      }
      return a;
    },
    result: (acc) => acc.value,
  };
}
