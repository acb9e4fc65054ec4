import v8 from 'node:v8';
import fc from 'fast-check';
import type { Aggregation } from '../../src/aggregations/aggregation.js';

/** Copy a value through the checkpoint serializer, as a restore would. */
export function roundTrip<V>(value: V): V {
  return v8.deserialize(v8.serialize(value)) as V;
}

/** Add `records` one by one to `acc` (a fresh accumulator by default). */
export function fold<T, A, R>(agg: Aggregation<T, A, R>, records: readonly T[], acc: A = agg.create()): A {
  for (const r of records) acc = agg.add(acc, r);
  return acc;
}

/**
 * Merge accumulators that stand for consecutive chunks, keeping their order but choosing which
 * adjacent pair to merge next from `picks`, so every tree shape of merges gets exercised.
 */
export function mergeInOrder<T, A, R>(agg: Aggregation<T, A, R>, accs: A[], picks: readonly number[]): A {
  const list = accs.slice();
  if (list.length === 0) return agg.create();
  let p = 0;
  while (list.length > 1) {
    const i = (picks[p++ % Math.max(1, picks.length)] ?? 0) % (list.length - 1);
    list.splice(i, 2, agg.merge(list[i], list[i + 1]));
  }
  return list[0];
}

/** A record of the shape every contract case reads. */
export interface Rec {
  /** A double, sometimes missing, `null` or `undefined`. */
  x?: number | null | undefined;
  /** A small integer (many duplicates). */
  i: number;
  /** A short string or `null`. */
  s: string | null;
}

/** Records with few distinct values, so duplicates, ties and missing values are common. */
export const recArb: fc.Arbitrary<Rec> = fc.record(
  {
    x: fc.oneof(
      { weight: 8, arbitrary: fc.double({ min: -1e6, max: 1e6, noNaN: true }) },
      { weight: 1, arbitrary: fc.integer({ min: -3, max: 3 }) },
      { weight: 1, arbitrary: fc.constantFrom(null, undefined) },
    ),
    i: fc.integer({ min: -20, max: 20 }),
    s: fc.oneof(fc.constantFrom('a', 'b', 'c', 'αβ', ''), fc.string({ maxLength: 4 }), fc.constant(null)),
  },
  { requiredKeys: ['i', 's'] },
);

/** Present numeric values of `x`, as the numeric aggregations see them. */
export function xs(records: readonly Rec[]): number[] {
  const out: number[] = [];
  for (const r of records) if (r.x !== null && r.x !== undefined) out.push(r.x);
  return out;
}

/** |a − b| within `tolerance` relative to `scale` (at least 1), or both undefined. */
export function close(actual: number | undefined, expected: number | undefined, scale: number, tolerance = 1e-9): boolean {
  if (actual === undefined || expected === undefined) return actual === expected;
  return Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(scale));
}

/** The numpy "linear" quantile, by sorting (the brute-force reference for exact percentiles). */
export function sortedQuantile(values: readonly number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const s = values.slice().sort((a, b) => a - b);
  const h = (s.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo] + (h - lo) * (s[hi] - s[lo]);
}

/** Fraction of `sorted` strictly below `x` and at most `x`. */
export function rankRange(sorted: readonly number[], x: number): [number, number] {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (sorted[m] < x) lo = m + 1;
    else hi = m;
  }
  let upper = lo;
  while (upper < sorted.length && sorted[upper] === x) upper++;
  return [lo / sorted.length, upper / sorted.length];
}

/** A deterministic pseudo-random generator (mulberry32) for large fixed inputs. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
