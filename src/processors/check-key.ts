import { show } from '../runtime/errors.js';

/**
 * Check that a key can scope state and timers: a string, number, bigint, boolean, `null` or
 * `undefined`. Objects are refused because state is looked up by identity (`Map`), so two equal
 * objects made for two records would be two keys, and because timers de-duplicate by `String(key)`.
 * Throws a `TypeError` naming `what` (the caller applies its error policy to the record).
 *
 * @example
 * ```ts
 * checkKey('user-1', 'keyBy'); // ok
 * checkKey({ id: 1 }, 'keyBy'); // throws TypeError
 * ```
 */
export function checkKey(key: unknown, what: string): void {
  const type = typeof key;
  if ((type === 'object' && key !== null) || type === 'function' || type === 'symbol') {
    throw new TypeError(`${what}: a key must be a string, number, bigint, boolean, null or undefined, got ${show(key)}`);
  }
}
