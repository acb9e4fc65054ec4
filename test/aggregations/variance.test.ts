import { describe, expect, it } from 'vitest';
import { variance } from '../../src/aggregations/variance.js';
import { ConfigError } from '../../src/runtime/errors.js';
import { fold, roundTrip } from './support.js';

const rows = (values: (number | null)[]) => values.map((v) => ({ v }));

describe('variance', () => {
  it('is the population variance by default and the sample variance on request (numpy var, ddof 0 and 1)', () => {
    const pop = variance<{ v: number | null }>('v');
    const sample = variance<{ v: number | null }>('v', { sample: true });
    expect(pop.result(fold(pop, rows([1, 2, 3, 4, null])))).toBeCloseTo(1.25, 12);
    expect(sample.result(fold(sample, rows([1, 2, 3, 4])))).toBeCloseTo(5 / 3, 12);
  });

  it('is undefined for no values, and for one value when sampling', () => {
    const pop = variance('v');
    const sample = variance('v', { sample: true });
    expect(pop.result(pop.create())).toBeUndefined();
    expect(sample.result(sample.create())).toBeUndefined();
    expect(pop.result(fold(pop, rows([7])))).toBe(0);
    expect(sample.result(fold(sample, rows([7])))).toBeUndefined();
  });

  it('does not lose precision to a large common offset, sequentially or merged', () => {
    const v = variance<{ v: number }>('v');
    const shifted = [4, 7, 13, 16].map((x) => ({ v: 1e9 + x }));
    expect(v.result(fold(v, shifted))).toBeCloseTo(22.5, 6);
    const merged = v.merge(roundTrip(fold(v, shifted.slice(0, 1))), fold(v, shifted.slice(1)));
    expect(v.result(merged)).toBeCloseTo(22.5, 6);
  });

  it('never returns a negative variance for constant input', () => {
    const v = variance<{ v: number }>('v');
    expect(v.result(fold(v, rows(Array(1000).fill(0.1))))).toBe(0);
  });

  it('rejects infinities, which would turn the moments into NaN', () => {
    const v = variance<{ v: number }>('v');
    expect(() => v.add(v.create(), { v: Infinity })).toThrow(new TypeError('agg.variance: field "v" must be a finite number, got Infinity'));
  });

  it('validates its options', () => {
    expect(() => variance('v', { sample: 'yes' as never })).toThrow(new ConfigError('agg.variance: sample must be a boolean, got "yes"'));
    expect(() => variance('v', 1 as never)).toThrow(ConfigError);
  });
});
