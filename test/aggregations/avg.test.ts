import { describe, expect, it } from 'vitest';
import { avg } from '../../src/aggregations/avg.js';
import { fold } from './support.js';

describe('avg', () => {
  const a = avg<{ v?: number | null }>('v');

  it('averages present values; missing ones do not count', () => {
    expect(a.result(fold(a, [{ v: 1 }, { v: null }, {}, { v: 4 }]))).toBe(2.5);
    expect(a.result(a.create())).toBeUndefined();
  });

  it('mutates one accumulator object in place instead of allocating per record', () => {
    const acc = a.create();
    expect(a.add(acc, { v: 2 })).toBe(acc);
    expect(acc).toEqual({ sum: 2, count: 1 });
  });

  it('merges sums and counts', () => {
    expect(a.result(a.merge(fold(a, [{ v: 1 }]), fold(a, [{ v: 2 }, { v: 3 }, { v: 6 }])))).toBe(3);
  });

  it('throws on a non-number', () => {
    expect(() => a.add(a.create(), { v: '3' as never })).toThrow(TypeError);
  });
});
