import { describe, expect, it } from 'vitest';
import { count } from '../../src/aggregations/count.js';
import { isAggregation } from '../../src/aggregations/is-aggregation.js';

describe('isAggregation', () => {
  it('accepts anything with create, add, merge and result functions', () => {
    expect(isAggregation(count())).toBe(true);
    expect(isAggregation({ create() {}, add() {}, merge() {}, result() {} })).toBe(true);
  });

  it('rejects objects of named aggregations and partial shapes', () => {
    expect(isAggregation({ n: count() })).toBe(false);
    expect(isAggregation({ create() {}, add() {}, merge() {} })).toBe(false);
    expect(isAggregation({ create: 1, add() {}, merge() {}, result() {} })).toBe(false);
    expect(isAggregation(null)).toBe(false);
    expect(isAggregation('count')).toBe(false);
  });
});
