import { ConfigError, show } from '../runtime/errors.js';

/**
 * Validate a positive integer argument of a window factory.
 *
 * @throws ConfigError such as `windows.tumbling: sizeMs must be a positive integer (ms), got -5`.
 *
 * @example
 * ```ts
 * const size = positiveInteger('windows.tumbling', 'sizeMs', 60_000, ' (ms)');
 * ```
 */
export function positiveInteger(what: string, field: string, value: unknown, unit = ''): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return value;
  throw new ConfigError(`${what}: ${field} must be a positive integer${unit}, got ${show(value)}`);
}

/**
 * Validate an integer argument (any sign) of a window factory.
 *
 * @example
 * ```ts
 * const offset = integer('windows.tumbling', 'offsetMs', -3_600_000);
 * ```
 */
export function integer(what: string, field: string, value: unknown): number {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  throw new ConfigError(`${what}: ${field} must be an integer number of milliseconds, got ${show(value)}`);
}
