import { describe, expect, it } from 'vitest';
import { median } from '../../src/aggregations/median.js';
import { fold } from './support.js';

describe('median', () => {
  const m = median<{ v: number | null }>('v');

  it('is the middle value, or the mean of the two middle values', () => {
    expect(m.result(fold(m, [5, 1, 3].map((v) => ({ v }))))).toBe(3);
    expect(m.result(fold(m, [5, 1, 3, 10, null].map((v) => ({ v }))))).toBe(4);
    expect(m.result(m.create())).toBeUndefined();
  });

  it('names itself in errors', () => {
    expect(() => m.add(m.create(), { v: 'x' as never })).toThrow(/^agg\.median: /);
  });
});
