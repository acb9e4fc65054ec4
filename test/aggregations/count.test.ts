import { describe, expect, it } from 'vitest';
import { count } from '../../src/aggregations/count.js';
import { ConfigError } from '../../src/runtime/errors.js';
import { fold } from './support.js';

describe('count', () => {
  it('counts every record, whatever it holds', () => {
    const c = count();
    expect(c.result(fold(c, [null, undefined, 0, {}]))).toBe(4);
    expect(c.result(c.create())).toBe(0);
  });

  it('with a field, counts records where it is neither null nor undefined (falsy values count)', () => {
    const c = count<{ v?: unknown }>('v');
    expect(c.result(fold(c, [{ v: 0 }, { v: '' }, { v: false }, { v: null }, { v: undefined }, {}]))).toBe(3);
  });

  it('merges by adding', () => {
    const c = count();
    expect(c.result(c.merge(fold(c, [1, 2]), fold(c, [3])))).toBe(3);
  });

  it('rejects a field that is not a name or a function', () => {
    expect(() => count(7 as never)).toThrow(ConfigError);
  });
});
