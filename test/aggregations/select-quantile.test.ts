import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { selectQuantile } from '../../src/aggregations/select-quantile.js';
import { sortedQuantile } from './support.js';

describe('selectQuantile', () => {
  it('matches sorting on any input, with many duplicates, sorted or reversed', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: -5, max: 5 }), fc.double({ noNaN: true, min: -1e9, max: 1e9 })), { maxLength: 200 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.constantFrom('as is', 'sorted', 'reversed'),
        (values, q, order) => {
          const input = order === 'as is' ? values.slice() : values.slice().sort((a, b) => (order === 'sorted' ? a - b : b - a));
          const expected = sortedQuantile(values, q);
          const actual = selectQuantile(input, q);
          if (expected === undefined) {
            expect(actual).toBeUndefined();
            return;
          }
          const scale = Math.max(1, ...values.map(Math.abs));
          expect(Math.abs((actual as number) - expected)).toBeLessThanOrEqual(1e-12 * scale);
          // A multiset: reordered, never changed.
          expect(input.slice().sort((a, b) => a - b)).toEqual(values.slice().sort((a, b) => a - b));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('handles a large sorted array (median-of-three pivots keep it linear)', () => {
    const values = Array.from({ length: 200_000 }, (_, i) => i);
    expect(selectQuantile(values, 0.5)).toBe(99_999.5);
    expect(selectQuantile(values, 0.99)).toBeCloseTo(197_999.01, 6);
  });
});
