import { ConfigError } from '../runtime/errors.js';
import { showValue } from './show-value.js';

/**
 * Validate a quantile argument: a number in [0, 1].
 *
 * @throws ConfigError such as `agg.percentile: q must be in [0, 1], got 1.5`.
 *
 * @example
 * ```ts
 * const q = checkQuantile('agg.percentile', 0.95); // 0.95
 * ```
 */
export function checkQuantile(name: string, q: unknown): number {
  if (typeof q === 'number' && q >= 0 && q <= 1) return q;
  throw new ConfigError(`${name}: q must be in [0, 1], got ${showValue(q)}`);
}
