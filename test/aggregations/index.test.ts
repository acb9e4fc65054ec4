import { describe, expect, it } from 'vitest';
import * as aggregations from '../../src/aggregations/index.js';

const factories = [
  'count',
  'sum',
  'min',
  'max',
  'avg',
  'first',
  'last',
  'collect',
  'distinctCount',
  'approxDistinct',
  'variance',
  'stddev',
  'median',
  'percentile',
  'approxPercentile',
  'reduce',
  'composite',
  'isAggregation',
] as const;

describe('aggregations entry', () => {
  it('exports every factory by name and the same function under agg', () => {
    for (const name of factories) {
      expect(typeof aggregations[name], name).toBe('function');
      expect(aggregations.agg[name], name).toBe(aggregations[name]);
    }
    expect(Object.keys(aggregations.agg).sort()).toEqual([...factories].sort());
  });
});
