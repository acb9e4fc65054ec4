import { describe, expect, it } from 'vitest';
import { reduce } from '../../src/aggregations/reduce.js';
import { ConfigError } from '../../src/runtime/errors.js';
import { fold, roundTrip } from './support.js';

describe('reduce', () => {
  const longest = reduce<{ word: string }>((a, b) => (b.word.length > a.word.length ? b : a));

  it('folds records pairwise, starting from the first', () => {
    expect(longest.result(fold(longest, [{ word: 'ab' }, { word: 'abcd' }, { word: 'xyz' }]))).toEqual({ word: 'abcd' });
    expect(longest.result(longest.create())).toBeUndefined();
  });

  it('counts every record, null included', () => {
    const r = reduce<number | null>((a, b) => (a ?? 0) + (b ?? 10));
    expect(r.result(fold(r, [null, 1]))).toBe(1);
    expect(r.result(fold(r, [1, null]))).toBe(11);
  });

  it('merges with fn(a, b), a first', () => {
    const concat = reduce<string>((a, b) => a + b);
    expect(concat.result(concat.merge(fold(concat, ['a', 'b']), roundTrip(fold(concat, ['c']))))).toBe('abc');
    expect(concat.result(concat.merge(concat.create(), fold(concat, ['c'])))).toBe('c');
  });

  it('lets an error from fn propagate', () => {
    const boom = reduce<number>(() => {
      throw new Error('boom');
    });
    expect(() => fold(boom, [1, 2])).toThrow('boom');
  });

  it('rejects a non-function', () => {
    expect(() => reduce('x' as never)).toThrow(new ConfigError('agg.reduce: fn must be a function, got "x"'));
  });
});
