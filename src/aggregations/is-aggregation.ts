import type { Aggregation } from './aggregation.js';

/**
 * True when `x` has the four methods of an {@link Aggregation}. Used to tell one aggregation from an
 * object of named aggregations (`{ n: count(), p95: percentile('ms', 0.95) }`).
 *
 * @example
 * ```ts
 * isAggregation(count());            // true
 * isAggregation({ n: count() });     // false
 * ```
 */
export function isAggregation(x: unknown): x is Aggregation<unknown, unknown, unknown> {
  if (x === null || (typeof x !== 'object' && typeof x !== 'function')) return false;
  const a = x as Record<string, unknown>;
  return (
    typeof a.create === 'function' &&
    typeof a.add === 'function' &&
    typeof a.merge === 'function' &&
    typeof a.result === 'function'
  );
}
