import { describe, expect, it } from 'vitest';
import { percentile } from '../../src/aggregations/percentile.js';
import { ConfigError } from '../../src/runtime/errors.js';
import { fold } from './support.js';

const rows = (values: number[]) => values.map((v) => ({ v }));

describe('percentile', () => {
  it.each([
    // Values from numpy.percentile(a, 100 * q) with the default method "linear".
    [[1, 2, 3, 4], 0.25, 1.75],
    [[15, 20, 35, 40, 50], 0.4, 29],
    [[15, 20, 35, 40, 50], 0, 15],
    [[15, 20, 35, 40, 50], 1, 50],
    [[10, 7, 4, 3, 2, 1], 0.5, 3.5],
    [[42], 0.9, 42],
  ])('of %j at q=%d is %d (numpy linear)', (values, q, expected) => {
    const p = percentile<{ v: number }>('v', q);
    expect(p.result(fold(p, rows(values)))).toBeCloseTo(expected, 12);
  });

  it('does not produce NaN between two equal infinities', () => {
    const p = percentile<{ v: number }>('v', 0.75);
    expect(p.result(fold(p, rows([1, Infinity, Infinity])))).toBe(Infinity);
  });

  it('gives the same answer when asked again after more values (result reorders, never loses)', () => {
    const p = percentile<{ v: number }>('v', 0.5);
    let acc = fold(p, rows([9, 8, 7, 6, 5]));
    expect(p.result(acc)).toBe(7);
    acc = fold(p, rows([1, 2]), acc);
    expect(p.result(acc)).toBe(6);
    expect(acc.slice().sort((a, b) => a - b)).toEqual([1, 2, 5, 6, 7, 8, 9]);
  });

  it.each([1.5, -0.1, NaN, '0.5', undefined])('rejects q = %s with a ConfigError', (q) => {
    expect(() => percentile('v', q as number)).toThrow(ConfigError);
  });

  it('names the option and the value', () => {
    expect(() => percentile('v', 1.5)).toThrow(new ConfigError('agg.percentile: q must be in [0, 1], got 1.5'));
  });
});
