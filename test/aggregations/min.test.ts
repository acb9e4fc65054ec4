import { describe, expect, it } from 'vitest';
import { min } from '../../src/aggregations/min.js';
import { fold } from './support.js';

describe('min', () => {
  const m = min<{ v?: number | null }>('v');

  it('finds the smallest present value', () => {
    expect(m.result(fold(m, [{ v: 3 }, { v: null }, { v: -7 }, {}, { v: 5 }]))).toBe(-7);
    expect(m.result(fold(m, [{ v: -Infinity }, { v: 0 }]))).toBe(-Infinity);
  });

  it('is undefined when empty or when every value is missing', () => {
    expect(m.result(m.create())).toBeUndefined();
    expect(m.result(fold(m, [{ v: null }, {}]))).toBeUndefined();
  });

  it('merges either side empty', () => {
    expect(m.merge(undefined, 4)).toBe(4);
    expect(m.merge(4, undefined)).toBe(4);
    expect(m.merge(4, 2)).toBe(2);
  });

  it('rejects strings instead of comparing them', () => {
    expect(() => m.add(undefined, { v: 'a' as never })).toThrow(/^agg\.min: field "v" must be a number, got "a"$/);
  });
});
