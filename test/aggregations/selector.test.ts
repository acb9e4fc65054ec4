import { describe, expect, it } from 'vitest';
import { selector } from '../../src/aggregations/selector.js';
import { ConfigError } from '../../src/runtime/errors.js';

describe('selector', () => {
  it('reads a top-level field, or calls a function', () => {
    expect(selector<{ a: number }>('agg.x', 'a')({ a: 7 })).toBe(7);
    expect(selector<{ a: number }>('agg.x', (r: { a: number }) => r.a * 2)({ a: 7 })).toBe(14);
    expect(selector<{ a?: number }>('agg.x', 'a')({})).toBeUndefined();
  });

  it.each([42, '', null, {}, ['a']])('rejects %j with a ConfigError naming the aggregation and the value', (bad) => {
    const build = () => selector('agg.sum', bad);
    expect(build).toThrow(ConfigError);
    expect(build).toThrow(/^agg\.sum: field must be a non-empty field name or a function, got /);
    try {
      build();
    } catch (err) {
      expect((err as ConfigError).code).toBe('WEIR_CONFIG');
    }
  });

  it('names the field when a record is not an object', () => {
    const read = selector<unknown>('agg.sum', 'price');
    expect(() => read(null)).toThrow(new TypeError('agg.sum: cannot read field "price" of a record that is not an object, got null'));
    expect(() => read(5)).toThrow(/cannot read field "price" of a record that is not an object, got 5/);
  });
});
