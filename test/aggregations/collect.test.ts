import { describe, expect, it } from 'vitest';
import { collect } from '../../src/aggregations/collect.js';
import { fold } from './support.js';

describe('collect', () => {
  const c = collect<{ v?: number | null }, 'v'>('v');

  it('collects present values in arrival order', () => {
    expect(c.result(fold(c, [{ v: 3 }, { v: null }, {}, { v: 1 }, { v: 3 }]))).toEqual([3, 1, 3]);
    expect(c.result(c.create())).toEqual([]);
  });

  it('returns a copy: changing the result does not change the accumulator', () => {
    const acc = fold(c, [{ v: 1 }]);
    c.result(acc).push(99);
    expect(c.result(acc)).toEqual([1]);
  });

  it('merges arrays far larger than the call stack allows to spread', () => {
    const big = Array.from({ length: 300_000 }, (_, i) => i);
    const merged = c.merge([-1], big);
    expect(merged.length).toBe(300_001);
    expect(merged[300_000]).toBe(299_999);
  });
});
