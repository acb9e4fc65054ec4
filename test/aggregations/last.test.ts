import { describe, expect, it } from 'vitest';
import { last } from '../../src/aggregations/last.js';
import { fold } from './support.js';

describe('last', () => {
  const l = last<{ v?: unknown }, 'v'>('v');

  it('keeps the latest present value, skipping null and undefined', () => {
    expect(l.result(fold(l, [{ v: 1 }, { v: false }, { v: null }, {}]))).toBe(false);
    expect(l.result(l.create())).toBeUndefined();
  });

  it('treats the second argument of merge as later', () => {
    expect(l.merge('a', 'b')).toBe('b');
    expect(l.merge('a', undefined)).toBe('a');
  });
});
