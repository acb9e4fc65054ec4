import { show } from '../runtime/errors.js';

/**
 * Render a value for an error message like the runtime's `show`, except that numbers keep their
 * JavaScript spelling (`NaN`, `Infinity`, `-0` would otherwise print as `null` or `0` through JSON)
 * and bigints get their `n` suffix.
 *
 * @example
 * ```ts
 * showValue(NaN);   // 'NaN'
 * showValue('ms');  // '"ms"'
 * ```
 */
export function showValue(value: unknown): string {
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (typeof value === 'bigint') return `${value}n`;
  return show(value);
}
