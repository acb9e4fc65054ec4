import { showValue } from './show-value.js';
import { selector } from './selector.js';

/**
 * Build the reader a numeric aggregation calls per record: it returns the selected number, or
 * `undefined` when the value is `null` or `undefined` (skipped), and throws a `TypeError` naming the
 * aggregation and the value for anything else (a string, a bigint, an object, `NaN`; also `±Infinity`
 * when `finite` is set). The runtime's error policy decides what happens to that record.
 *
 * @param name - the aggregation's name for messages, e.g. `agg.sum`.
 * @param select - a field name or a function; validated here (throws `ConfigError`).
 * @param finite - reject infinities too (sketches whose arithmetic breaks on them).
 *
 * @example
 * ```ts
 * const read = numericSelector<{ ms?: number }>('agg.sum', 'ms');
 * read({ ms: 4 }); // 4
 * read({});        // undefined
 * ```
 */
export function numericSelector<T>(name: string, select: unknown, finite = false): (record: T) => number | undefined {
  const get = selector<T>(name, select);
  const what = typeof select === 'string' ? `field ${JSON.stringify(select)}` : 'the selected value';
  return (record: T): number | undefined => {
    const v = get(record);
    // `v - v === 0` is false for NaN and ±Infinity: one comparison covers the `finite` case.
    if (typeof v === 'number' && (finite ? v - v === 0 : v === v)) return v;
    if (v === null || v === undefined) return undefined;
    throw new TypeError(`${name}: ${what} must be ${finite ? 'a finite number' : 'a number'}, got ${showValue(v)}`);
  };
}
