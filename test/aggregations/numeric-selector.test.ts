import { describe, expect, it } from 'vitest';
import { numericSelector } from '../../src/aggregations/numeric-selector.js';

describe('numericSelector', () => {
  const read = numericSelector<{ v?: unknown }>('agg.sum', 'v');
  const readFinite = numericSelector<{ v?: unknown }>('agg.variance', 'v', true);

  it('passes numbers through and turns null and undefined into undefined (skipped)', () => {
    expect(read({ v: -2.5 })).toBe(-2.5);
    expect(read({ v: 0 })).toBe(0);
    expect(read({ v: null })).toBeUndefined();
    expect(read({ v: undefined })).toBeUndefined();
    expect(read({})).toBeUndefined();
  });

  it.each([
    ['abc', '"abc"'],
    ['1', '"1"'],
    [NaN, 'NaN'],
    [10n, '10n'],
    [true, 'true'],
    [{ n: 1 }, '{"n":1}'],
  ])('throws a TypeError naming the aggregation, the field and %s', (value, shown) => {
    expect(() => read({ v: value })).toThrow(new TypeError(`agg.sum: field "v" must be a number, got ${shown}`));
  });

  it('accepts infinities unless finite numbers are required', () => {
    expect(read({ v: Infinity })).toBe(Infinity);
    expect(readFinite({ v: 3 })).toBe(3);
    expect(() => readFinite({ v: -Infinity })).toThrow(new TypeError('agg.variance: field "v" must be a finite number, got -Infinity'));
    expect(() => readFinite({ v: NaN })).toThrow(/got NaN/);
  });

  it('says "the selected value" for a function selector', () => {
    const fromFn = numericSelector<{ v: string }>('agg.min', (r: { v: string }) => r.v);
    expect(() => fromFn({ v: 'x' })).toThrow(new TypeError('agg.min: the selected value must be a number, got "x"'));
  });
});
