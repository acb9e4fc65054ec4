import { ConfigError } from '../runtime/errors.js';
import { showValue } from './show-value.js';

/**
 * Which value of a record an aggregation reads: a top-level field name, or a function of the record.
 * A field read on a record that is not an object throws a `TypeError`.
 *
 * @example
 * ```ts
 * const byName: Selector<{ ms: number }, number> = 'ms';
 * const byFn: Selector<{ ms: number }, number> = (r) => r.ms / 1000;
 * ```
 */
export type Selector<T, V = unknown> = (keyof T & string) | ((record: T) => V);

/**
 * Field names of `T` whose values are numbers, `null` or `undefined` (any string when `T` is `any`).
 *
 * @example
 * ```ts
 * type F = NumericField<{ ms: number; name: string }>; // 'ms'
 * ```
 */
export type NumericField<T> = {
  [K in keyof T]-?: T[K] extends number | null | undefined ? K : never;
}[keyof T] &
  string;

/**
 * A selector of a numeric value: a numeric field name, or a function returning a number, `null` or
 * `undefined` (the last two are skipped).
 *
 * @example
 * ```ts
 * const s: NumericSelector<{ ms: number }> = (r) => r.ms * 2;
 * ```
 */
export type NumericSelector<T> = NumericField<T> | ((record: T) => number | null | undefined);

/**
 * Turn a selector into an extractor function, validating it once at build time.
 *
 * @param name - the aggregation's name for messages, e.g. `agg.sum`.
 * @throws ConfigError when `selector` is neither a non-empty string nor a function.
 *
 * @example
 * ```ts
 * const read = selector<{ ms: number }>('agg.sum', 'ms');
 * read({ ms: 3 }); // 3
 * ```
 */
export function selector<T>(name: string, select: unknown): (record: T) => unknown {
  if (typeof select === 'function') return select as (record: T) => unknown;
  if (typeof select === 'string' && select.length > 0) {
    const field = select;
    return (record: T): unknown => {
      // Checked per record so a bad record fails with a message naming the field, not a bare
      // "Cannot read properties of null".
      if (record !== null && (typeof record === 'object' || typeof record === 'function')) {
        return (record as Record<string, unknown>)[field];
      }
      throw new TypeError(`${name}: cannot read field ${JSON.stringify(field)} of a record that is not an object, got ${showValue(record)}`);
    };
  }
  throw new ConfigError(`${name}: field must be a non-empty field name or a function, got ${showValue(select)}`);
}
