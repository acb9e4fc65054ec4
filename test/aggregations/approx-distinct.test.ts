import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { approxDistinct } from '../../src/aggregations/approx-distinct.js';
import { ConfigError } from '../../src/runtime/errors.js';
import { fold, mergeInOrder, roundTrip, seeded } from './support.js';

describe('approxDistinct', () => {
  const a = approxDistinct<{ v: unknown }>('v');

  it.each([
    ['sequential integers', (i: number) => i],
    ['strings', (i: number) => `user-${i}`],
    ['random doubles', (i: number, r: () => number) => r() * 1e6 + i],
  ])('estimates 10k and 100k distinct %s within 5%% at the default precision', (_, make) => {
    const random = seeded(7);
    for (const n of [10_000, 100_000]) {
      const values = Array.from({ length: n }, (_, i) => make(i, random));
      let acc = a.create();
      for (const v of values) acc = a.add(acc, { v });
      // Half of them again: duplicates must not count.
      for (let i = 0; i < n; i += 2) acc = a.add(acc, { v: values[i] });
      const estimate = a.result(acc);
      expect(Math.abs(estimate / n - 1)).toBeLessThan(0.05);
    }
  });

  it('merges exactly: chunked, restored and merged sketches equal the one-pass sketch', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.oneof(fc.integer(), fc.string(), fc.boolean()), { maxLength: 300 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 5 }),
        (chunks, picks) => {
          const records = chunks.map((chunk) => chunk.map((v) => ({ v })));
          const merged = mergeInOrder(a, records.map((chunk) => roundTrip(fold(a, chunk))), picks);
          const sequential = fold(a, records.flat());
          expect(Buffer.from(merged).equals(Buffer.from(sequential))).toBe(true);
          expect(a.result(merged)).toBe(a.result(sequential));
        },
      ),
      { numRuns: 50 },
    );
  });

  it('uses 2^precision one-byte registers', () => {
    expect(approxDistinct('v').create()).toHaveLength(16_384);
    expect(approxDistinct('v', { precision: 4 }).create()).toHaveLength(16);
    expect(approxDistinct('v', { precision: 18 }).create()).toHaveLength(262_144);
  });

  it('skips null and undefined and rejects objects with a TypeError', () => {
    expect(a.result(fold(a, [{ v: null }, { v: undefined }]))).toBe(0);
    expect(() => a.add(a.create(), { v: { id: 1 } })).toThrow(
      new TypeError('agg.approxDistinct: field "v" must be a string, number, bigint or boolean, got {"id":1}'),
    );
  });

  it.each([3, 19, 14.5, '14', NaN])('rejects precision %s', (precision) => {
    expect(() => approxDistinct('v', { precision: precision as number })).toThrow(ConfigError);
    expect(() => approxDistinct('v', { precision: precision as number })).toThrow(/^agg\.approxDistinct: precision must be an integer in \[4, 18\], got /);
  });

  it('rejects options that are not an object', () => {
    expect(() => approxDistinct('v', 14 as never)).toThrow('agg.approxDistinct: options must be an object, got 14');
  });
});
