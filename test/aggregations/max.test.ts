import { describe, expect, it } from 'vitest';
import { max } from '../../src/aggregations/max.js';
import { fold } from './support.js';

describe('max', () => {
  const m = max<{ v?: number | null }>('v');

  it('finds the largest present value', () => {
    expect(m.result(fold(m, [{ v: 3 }, { v: null }, { v: -7 }, {}, { v: 5 }]))).toBe(5);
    expect(m.result(fold(m, [{ v: -3 }, { v: -2 }]))).toBe(-2);
  });

  it('is undefined when empty', () => {
    expect(m.result(m.create())).toBeUndefined();
  });

  it('merges either side empty', () => {
    expect(m.merge(undefined, -4)).toBe(-4);
    expect(m.merge(-4, undefined)).toBe(-4);
    expect(m.merge(1, 2)).toBe(2);
  });

  it('rejects NaN', () => {
    expect(() => m.add(undefined, { v: NaN })).toThrow(/^agg\.max: field "v" must be a number, got NaN$/);
  });
});
