import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Rng } from '../../src/sources/rng.js';

describe('Rng', () => {
  it('gives the same stream for the same (seed, index), whatever it drew before', () => {
    const a = new Rng(5, 10);
    const first = [a.next(), a.next(), a.nextUint32()];
    a.reset(99, 3);
    a.next();
    a.reset(5, 10);
    expect([a.next(), a.next(), a.nextUint32()]).toEqual(first);
    const b = new Rng(5, 10);
    expect([b.next(), b.next(), b.nextUint32()]).toEqual(first);
  });

  it('gives different streams for neighbouring indices and seeds, including beyond 32 bits', () => {
    const rng = new Rng();
    const seen = new Set<number>();
    for (const [seed, index] of [
      [1, 0], [1, 1], [2, 0], [0, 0], [-1, 0], [1, 2 ** 32], [2 ** 32 + 1, 0], [1, 2 ** 40 + 1],
    ]) {
      rng.reset(seed, index);
      seen.add(rng.nextUint32());
    }
    expect(seen.size).toBe(8);
  });

  it('draws next() in [0, 1), int(n) in [0, n) and pick() from the array, roughly uniformly', () => {
    const rng = new Rng(3);
    const counts = new Array<number>(10).fill(0);
    let sum = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      rng.reset(3, i);
      const x = rng.next();
      if (!(x >= 0 && x < 1)) throw new Error(`next() out of range: ${x}`);
      sum += x;
      counts[rng.int(10)]++;
    }
    expect(sum / n).toBeGreaterThan(0.48);
    expect(sum / n).toBeLessThan(0.52);
    for (const c of counts) expect(c).toBeGreaterThan(n / 10 * 0.9);
    const picked = new Set<string>();
    for (let i = 0; i < 200; i++) picked.add(rng.pick(['a', 'b', 'c']));
    expect([...picked].sort()).toEqual(['a', 'b', 'c']);
  });

  it('keeps int(n) within bounds for any n', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 32 }), fc.integer(), fc.nat(), (n, seed, index) => {
        const v = new Rng(seed, index).int(n);
        return Number.isInteger(v) && v >= 0 && v < n;
      }),
    );
  });
});
