import { describe, expect, it } from 'vitest';
import { hyperLogLog } from '../../src/aggregations/hyper-log-log.js';

describe('hyperLogLog', () => {
  it('is 0 when empty and exact or nearly so for tiny cardinalities', () => {
    const s = hyperLogLog.create(14);
    expect(hyperLogLog.estimate(s)).toBe(0);
    hyperLogLog.add(s, 'only');
    hyperLogLog.add(s, 'only');
    expect(hyperLogLog.estimate(s)).toBe(1);
    for (let i = 0; i < 50; i++) hyperLogLog.add(s, i);
    expect(Math.abs(hyperLogLog.estimate(s) - 51)).toBeLessThanOrEqual(1);
  });

  it.each([
    [14, 1_000, 20],
    [14, 20_000, 20],
    [12, 60_000, 20],
    [8, 5_000, 60],
  ])('at precision %i and %i distinct, the RMS error over %i sketches is near 1.04/sqrt(m)', (p, n, trials) => {
    const expected = 1.04 / Math.sqrt(2 ** p);
    let squares = 0;
    let worst = 0;
    for (let t = 0; t < trials; t++) {
      const s = hyperLogLog.create(p);
      for (let i = 0; i < n; i++) hyperLogLog.add(s, t % 2 === 0 ? i + t * 1e7 : `k${t}:${i}`);
      const err = hyperLogLog.estimate(s) / n - 1;
      squares += err * err;
      worst = Math.max(worst, Math.abs(err));
    }
    const rms = Math.sqrt(squares / trials);
    expect(rms).toBeLessThan(1.6 * expected);
    expect(worst).toBeLessThan(5 * expected);
  });

  it('stays accurate beyond a million distinct values (no 32-bit saturation)', () => {
    const s = hyperLogLog.create(14);
    const n = 1_500_000;
    for (let i = 0; i < n; i++) hyperLogLog.add(s, i * 7 + 0.5);
    expect(Math.abs(hyperLogLog.estimate(s) / n - 1)).toBeLessThan(0.04);
  });

  it('merges by register-wise maximum without changing the source', () => {
    const a = hyperLogLog.create(6);
    const b = hyperLogLog.create(6);
    a[0] = 3;
    b[0] = 1;
    b[5] = 7;
    const before = Uint8Array.from(b);
    hyperLogLog.merge(a, b);
    expect(a[0]).toBe(3);
    expect(a[5]).toBe(7);
    expect(b).toEqual(before);
  });

  it('refuses to merge sketches of different precisions', () => {
    expect(() => hyperLogLog.merge(hyperLogLog.create(10), hyperLogLog.create(12))).toThrow(
      new RangeError('HyperLogLog: cannot merge sketches of precision 10 and 12'),
    );
  });

  it('reads the precision back from the register count', () => {
    expect(hyperLogLog.precision(hyperLogLog.create(11))).toBe(11);
  });
});
