import { describe, expect, it } from 'vitest';
import { distinctCount } from '../../src/aggregations/distinct-count.js';
import { fold, roundTrip } from './support.js';

describe('distinctCount', () => {
  const d = distinctCount<{ v?: unknown }>('v');

  it('counts distinct present values like a Set does', () => {
    const values = [1, '1', 1, NaN, NaN, 0, -0, null, undefined, 1n, true];
    // 1, '1', NaN, 0, 1n, true
    expect(d.result(fold(d, values.map((v) => ({ v }))))).toBe(6);
    expect(d.result(d.create())).toBe(0);
  });

  it('merges as a union', () => {
    const merged = d.merge(fold(d, [{ v: 'a' }, { v: 'b' }]), fold(d, [{ v: 'b' }, { v: 'c' }]));
    expect(d.result(merged)).toBe(3);
  });

  it('keeps a Set accumulator through the checkpoint serializer', () => {
    const restored = roundTrip(fold(d, [{ v: 'a' }, { v: 2 }]));
    expect(restored).toBeInstanceOf(Set);
    expect(d.result(d.add(restored, { v: 'a' }))).toBe(2);
  });
});
