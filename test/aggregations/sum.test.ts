import { describe, expect, it } from 'vitest';
import { sum } from '../../src/aggregations/sum.js';
import { ConfigError } from '../../src/runtime/errors.js';
import { fold } from './support.js';

describe('sum', () => {
  it('adds present values and skips null and undefined', () => {
    const s = sum<{ price?: number | null }>('price');
    expect(s.result(fold(s, [{ price: 2 }, { price: null }, {}, { price: -0.5 }]))).toBe(1.5);
    expect(s.result(s.create())).toBe(0);
  });

  it('keeps the accumulator a plain number', () => {
    const s = sum<{ price: number }>('price');
    expect(typeof fold(s, [{ price: 1 }])).toBe('number');
  });

  it('throws a TypeError naming the aggregation and the value for a non-number', () => {
    const s = sum<{ price: unknown }>('price' as never);
    expect(() => s.add(0, { price: '12' })).toThrow(new TypeError('agg.sum: field "price" must be a number, got "12"'));
  });

  it('rejects a bad field at build time', () => {
    expect(() => sum(3 as never)).toThrow(ConfigError);
    expect(() => sum(3 as never)).toThrow('agg.sum: field must be a non-empty field name or a function, got 3');
  });
});
