import { ConfigError } from '../runtime/errors.js';
import type { Aggregation } from './aggregation.js';
import { hyperLogLog } from './hyper-log-log.js';
import { readOptions } from './read-options.js';
import { selector } from './selector.js';
import { showValue } from './show-value.js';

/** Options of {@link approxDistinct}. */
export interface ApproxDistinctOptions {
  /**
   * log2 of the number of registers, an integer in [4, 18]. Default 14: 16 KiB per accumulator and a
   * relative standard error of about 0.81 % (`1.04 / sqrt(2^precision)`); each step up halves the
   * error's variance and doubles the memory.
   */
  precision?: number;
}

/**
 * Estimated number of distinct present values of a field, in fixed memory (a HyperLogLog sketch,
 * see {@link hyperLogLog}). Values are strings, numbers, bigints or booleans, compared like a `Set`
 * (`1` and `'1'` differ); `null` and `undefined` are skipped, anything else (an object) throws a
 * `TypeError`. Empty result: `0`. Merging is exact (a merged sketch equals the sketch of the whole
 * input), so panes and sessions lose nothing. The accumulator is a `Uint8Array` of `2^precision`
 * registers, mutated in place.
 *
 * @param field - a field name, or a function of the record.
 * @throws ConfigError when `precision` is not an integer in [4, 18].
 *
 * @example
 * ```ts
 * const visitors = approxDistinct<{ user: string }>('user', { precision: 12 });
 * ```
 */
export function approxDistinct<T = any>(
  field: keyof T & string | ((record: T) => string | number | bigint | boolean | null | undefined),
  options?: ApproxDistinctOptions,
): Aggregation<T, Uint8Array, number> {
  const name = 'agg.approxDistinct';
  const get = selector<T>(name, field);
  const opts = readOptions(name, options);
  const precision = opts.precision ?? 14;
  if (
    typeof precision !== 'number' ||
    !Number.isInteger(precision) ||
    precision < hyperLogLog.minPrecision ||
    precision > hyperLogLog.maxPrecision
  ) {
    throw new ConfigError(
      `${name}: precision must be an integer in [${hyperLogLog.minPrecision}, ${hyperLogLog.maxPrecision}], got ${showValue(precision)}`,
    );
  }
  const what = typeof field === 'string' ? `field ${JSON.stringify(field)}` : 'the selected value';
  return {
    create: () => hyperLogLog.create(precision),
    add: (acc, record) => {
      const v = get(record);
      const type = typeof v;
      if (type === 'string' || type === 'number' || type === 'bigint' || type === 'boolean') {
        hyperLogLog.add(acc, v as string | number | bigint | boolean);
      } else if (v !== null && v !== undefined) {
        throw new TypeError(`${name}: ${what} must be a string, number, bigint or boolean, got ${showValue(v)}`);
      }
      return acc;
    },
    merge: (a, b) => {
      hyperLogLog.merge(a, b);
      return a;
    },
    result: (acc) => hyperLogLog.estimate(acc),
  };
}
