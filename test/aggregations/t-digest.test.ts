import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { tDigest } from '../../src/aggregations/t-digest.js';
import { roundTrip, seeded } from './support.js';

describe('tDigest', () => {
  it('keeps ascending centroids whose weights add up to the count, within the size bound', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }), { maxLength: 800 }), { maxLength: 6 }),
        fc.constantFrom(10, 25, 100),
        (parts, compression) => {
          const digests = parts.map((values) => {
            const d = tDigest.create(compression);
            for (const v of values) tDigest.add(d, v);
            return d;
          });
          const d = tDigest.create(compression);
          for (const part of digests) tDigest.merge(d, part);
          tDigest.compress(d);
          const n = parts.flat().length;
          expect(tDigest.count(d)).toBe(n);
          expect(d.weight.reduce((a, b) => a + b, 0)).toBe(n);
          for (let i = 1; i < d.mean.length; i++) expect(d.mean[i]).toBeGreaterThanOrEqual(d.mean[i - 1]);
          expect(d.mean.length).toBeLessThanOrEqual(compression + 2);
          if (n > 0) {
            expect(d.min).toBe(Math.min(...parts.flat()));
            expect(d.max).toBe(Math.max(...parts.flat()));
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('keeps its memory bounded however many values it sees', () => {
    const random = seeded(3);
    const d = tDigest.create(100);
    for (let i = 0; i < 200_000; i++) tDigest.add(d, random());
    expect(d.buffer.length).toBeLessThan(500);
    tDigest.compress(d);
    expect(d.mean.length).toBeLessThanOrEqual(102);
    expect(d.buffer.length).toBe(0);
  });

  it('does not change the digest it merges from', () => {
    const a = tDigest.create(20);
    const b = tDigest.create(20);
    for (let i = 0; i < 300; i++) tDigest.add(b, i);
    for (let i = 0; i < 30; i++) tDigest.add(a, -i);
    const before = structuredClone(b);
    tDigest.merge(a, b);
    expect(b).toEqual(before);
    expect(tDigest.count(a)).toBe(330);
  });

  it('is plain data: a restored digest equals the original and answers the same', () => {
    const d = tDigest.create(50);
    for (let i = 0; i < 1234; i++) tDigest.add(d, Math.sin(i) * 100);
    const copy = roundTrip(d);
    expect(copy).toEqual(d);
    expect(tDigest.quantile(copy, 0.3)).toBe(tDigest.quantile(d, 0.3));
  });

  it('estimates in the tails between the exact extreme and the outer centroid', () => {
    const d = tDigest.create(100);
    for (let i = 1; i <= 100_000; i++) tDigest.add(d, i);
    expect(tDigest.quantile(d, 0)).toBe(1);
    expect(tDigest.quantile(d, 1)).toBe(100_000);
    expect(Math.abs((tDigest.quantile(d, 0.0001) as number) - 10)).toBeLessThan(5);
    expect(Math.abs((tDigest.quantile(d, 0.9999) as number) - 99_990)).toBeLessThan(5);
    expect(Math.abs((tDigest.quantile(d, 0.5) as number) - 50_000)).toBeLessThan(300);
  });
});
