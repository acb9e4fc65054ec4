/**
 * The state key of a record's key: primitives are used as they are (Map semantics: `NaN` equals
 * `NaN`, `0` equals `-0`), objects and arrays by `JSON.stringify`, so `{ a: 1 }` from two records
 * is one key (and also equals the string `'{"a":1}'`). Rows carry the key as the selector returned
 * it for the window's first record.
 *
 * @example
 * ```ts
 * stateKey('u1');            // 'u1'
 * stateKey({ user: 'u1' });  // '{"user":"u1"}'
 * ```
 */
export function stateKey(key: unknown): unknown {
  return typeof key === 'object' && key !== null ? JSON.stringify(key) : key;
}
