import { describe, expect, it } from 'vitest';
import { hashValue } from '../../src/aggregations/hash-value.js';

const out = new Uint32Array(2);
function hash(v: string | number | bigint | boolean): string {
  hashValue(v, out);
  return `${out[0].toString(16).padStart(8, '0')}${out[1].toString(16).padStart(8, '0')}`;
}

/** z-score of a chi-square test that `bits` bits at `shift` of word `word` are uniform. */
function uniformity(gen: (i: number) => string | number, n: number, bits: number, shift: number, word = 0): number {
  const buckets = new Float64Array(2 ** bits);
  for (let i = 0; i < n; i++) {
    hashValue(gen(i), out);
    buckets[(out[word] >>> shift) & (buckets.length - 1)]++;
  }
  const expected = n / buckets.length;
  let chi = 0;
  for (const c of buckets) chi += (c - expected) ** 2 / expected;
  return (chi - buckets.length) / Math.sqrt(2 * buckets.length);
}

describe('hashValue', () => {
  it('hashes values equal under SameValueZero alike', () => {
    expect(hash(0)).toBe(hash(-0));
    const weirdNaN = new Float64Array(new Uint32Array([1, 0x7ff80000]).buffer)[0];
    expect(hash(weirdNaN)).toBe(hash(NaN));
    expect(hash('abc')).toBe(hash(['a', 'b', 'c'].join('')));
  });

  it('hashes different kinds apart', () => {
    const hashes = new Set([hash(1), hash('1'), hash(1n), hash(true), hash(0), hash(''), hash(false), hash(0n)]);
    expect(hashes.size).toBe(8);
  });

  it('is stable across releases (checkpointed sketches depend on it)', () => {
    expect([hash('user-42'), hash(''), hash(1), hash(-2.5), hash(12345678901234567890n), hash(true)]).toMatchInlineSnapshot(`
      [
        "c0d4321d0445cd6b",
        "5a4836c067c1e583",
        "b08ce1dbe2d3af39",
        "91ea140f2ac74876",
        "d47297e6693d6a17",
        "805b046b87ff288e",
      ]
    `);
  });

  it.each([
    ['sequential integers', (i: number) => i],
    ['small doubles', (i: number) => i / 1000],
    ['prefixed strings', (i: number) => `user-${i}`],
    ['digit strings', (i: number) => String(i)],
  ])('spreads %s uniformly over high, middle and low bits of both words', (_, gen) => {
    for (const [shift, word] of [
      [24, 0],
      [12, 0],
      [0, 0],
      [24, 1],
      [0, 1],
    ]) {
      expect(Math.abs(uniformity(gen, 100_000, 8, shift, word))).toBeLessThan(5);
    }
  });

  it('has no collisions among 200k strings and 200k integers', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200_000; i++) {
      seen.add(hash(`k${i}`));
      seen.add(hash(i));
    }
    expect(seen.size).toBe(400_000);
  });
});
