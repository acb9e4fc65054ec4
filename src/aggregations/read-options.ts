import { ConfigError } from '../runtime/errors.js';
import { showValue } from './show-value.js';

/**
 * Validate an aggregation's options argument: `undefined` (meaning `{}`) or a plain object.
 *
 * @throws ConfigError naming the aggregation and the bad value.
 *
 * @example
 * ```ts
 * const opts = readOptions('agg.variance', { sample: true }); // { sample: true }
 * ```
 */
export function readOptions(name: string, options: unknown): Record<string, unknown> {
  if (options === undefined) return {};
  if (options !== null && typeof options === 'object' && !Array.isArray(options)) return options as Record<string, unknown>;
  throw new ConfigError(`${name}: options must be an object, got ${showValue(options)}`);
}
