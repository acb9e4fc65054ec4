import { describe, expect, it } from 'vitest';
import { stddev } from '../../src/aggregations/stddev.js';
import { ConfigError } from '../../src/runtime/errors.js';
import { fold } from './support.js';

describe('stddev', () => {
  const rows = [2, 4, 4, 4, 5, 5, 7, 9].map((v) => ({ v }));

  it('is the square root of the population variance by default', () => {
    const s = stddev<{ v: number }>('v');
    expect(s.result(fold(s, rows))).toBeCloseTo(2, 12);
  });

  it('uses n − 1 with sample: true', () => {
    const s = stddev<{ v: number }>('v', { sample: true });
    expect(s.result(fold(s, rows))).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(s.result(fold(s, rows.slice(0, 1)))).toBeUndefined();
  });

  it('names itself in errors', () => {
    expect(() => stddev('v', { sample: 1 as never })).toThrow(new ConfigError('agg.stddev: sample must be a boolean, got 1'));
  });
});
