import { describe, expect, it } from 'vitest';
import { first } from '../../src/aggregations/first.js';
import { fold } from './support.js';

describe('first', () => {
  interface R {
    v?: unknown;
  }
  const f = first<R, 'v'>('v');

  it('keeps the earliest present value, skipping null and undefined', () => {
    expect(f.result(fold(f, [{ v: null }, {}, { v: 0 }, { v: 9 }]))).toBe(0);
    expect(f.result(fold(f, [{ v: null }]))).toBeUndefined();
    expect(f.result(f.create())).toBeUndefined();
  });

  it('treats the first argument of merge as earlier', () => {
    expect(f.merge('a', 'b')).toBe('a');
    expect(f.merge(undefined, 'b')).toBe('b');
  });

  it('keeps objects as they are, and works with a function selector', () => {
    const obj = { deep: [1] };
    const byFn = first((r: { w: { deep: number[] } }) => r.w);
    expect(byFn.result(fold(byFn, [{ w: obj }, { w: { deep: [2] } }]))).toBe(obj);
  });
});
