import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Aggregation } from '../../src/aggregations/aggregation.js';
import {
  approxDistinct,
  approxPercentile,
  avg,
  collect,
  composite,
  count,
  distinctCount,
  first,
  hyperLogLog,
  last,
  max,
  median,
  min,
  percentile,
  reduce,
  stddev,
  sum,
  variance,
} from '../../src/aggregations/index.js';
import { close, fold, mergeInOrder, rankRange, type Rec, recArb, roundTrip, sortedQuantile, xs } from './support.js';

/**
 * One contract, run against every aggregation: sequential adds match a brute-force reference, any
 * order-preserving tree of merges over any chunking matches it too, accumulators survive the
 * checkpoint serializer, `merge` leaves `b` untouched and unaliased, and `result` is repeatable.
 */
interface Case {
  name: string;
  agg: Aggregation<Rec, any, any>;
  /** Brute-force result over the whole input. */
  reference: (records: Rec[]) => unknown;
  /** Does `actual` match `expected` for this input? Default: equal (0 and -0 alike). */
  matches?: (actual: any, expected: any, records: Rec[]) => boolean;
  /** What `result(create())` is documented to be. */
  empty: unknown;
}

const maxAbs = (records: Rec[]) => xs(records).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const sumAbs = (records: Rec[]) => xs(records).reduce((m, v) => m + Math.abs(v), 0);
const present = <V>(values: (V | null | undefined)[]) => values.filter((v): v is V => v !== null && v !== undefined);

function populationVariance(values: number[], sample: boolean): number | undefined {
  if (values.length < (sample ? 2 : 1)) return undefined;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const ss = values.reduce((a, v) => a + (v - mean) ** 2, 0);
  return ss / (values.length - (sample ? 1 : 0));
}

/** Welford vs two-pass: equal up to rounding relative to the square of the data's magnitude. */
const varianceMatches = (actual: number | undefined, expected: number | undefined, records: Rec[]) =>
  close(actual, expected, maxAbs(records) ** 2, 1e-9);
const stddevMatches = (actual: number | undefined, expected: number | undefined, records: Rec[]) =>
  close(actual, expected, maxAbs(records), 1e-6);

/** An estimated quantile is good when `q` lies within `tolerance` of the estimate's rank range. */
function quantileMatches(q: number, tolerance: number) {
  return (actual: number | undefined, _expected: unknown, records: Rec[]) => {
    const values = xs(records).sort((a, b) => a - b);
    if (values.length === 0) return actual === undefined;
    if (actual === undefined) return false;
    const [below, atMost] = rankRange(values, actual);
    const slack = tolerance + 1 / values.length;
    return below - slack <= q && q <= atMost + slack;
  };
}

/**
 * HyperLogLog merges are exact, so however the input was split, merged and restored, the estimate must
 * equal that of one sketch fed each distinct value once (in another order); it must also be near the
 * true count (the bound is over 6 standard errors for these sizes: never flaky).
 */
function approxDistinctCase(
  name: string,
  agg: Aggregation<Rec, any, number>,
  precision: number,
  values: (rs: Rec[]) => unknown[],
  tolerance: number,
): Case {
  return {
    name,
    agg,
    reference: (rs) => {
      const distinct = [...new Set(values(rs))].reverse();
      const sketch = hyperLogLog.create(precision);
      for (const v of distinct) hyperLogLog.add(sketch, v as string | number);
      return { sketch: hyperLogLog.estimate(sketch), exact: distinct.length };
    },
    matches: (a, e: { sketch: number; exact: number }) =>
      a === e.sketch && Math.abs(a - e.exact) <= Math.max(3, tolerance * e.exact),
    empty: 0,
  };
}

const concatTags = (a: Rec, b: Rec): Rec => ({ i: a.i + b.i, s: `${a.s ?? '-'}${b.s ?? '-'}` });

const cases: Case[] = [
  { name: 'count()', agg: count(), reference: (rs) => rs.length, empty: 0 },
  { name: "count('x')", agg: count('x'), reference: (rs) => xs(rs).length, empty: 0 },
  { name: "sum('i') on integers is exact", agg: sum('i'), reference: (rs) => rs.reduce((a, r) => a + r.i, 0), empty: 0 },
  {
    name: "sum('x') on doubles",
    agg: sum('x'),
    reference: (rs) => xs(rs).reduce((a, b) => a + b, 0),
    matches: (a, e, rs) => close(a, e, sumAbs(rs), 1e-12),
    empty: 0,
  },
  {
    name: 'sum(fn)',
    agg: sum((r: Rec) => (r.x == null ? r.x : r.x * 2)),
    reference: (rs) => xs(rs).reduce((a, b) => a + 2 * b, 0),
    matches: (a, e, rs) => close(a, e, 2 * sumAbs(rs), 1e-12),
    empty: 0,
  },
  { name: "min('x')", agg: min('x'), reference: (rs) => (xs(rs).length ? Math.min(...xs(rs)) : undefined), empty: undefined },
  { name: "max('x')", agg: max('x'), reference: (rs) => (xs(rs).length ? Math.max(...xs(rs)) : undefined), empty: undefined },
  {
    name: "avg('x')",
    agg: avg('x'),
    reference: (rs) => (xs(rs).length ? xs(rs).reduce((a, b) => a + b, 0) / xs(rs).length : undefined),
    matches: (a, e, rs) => close(a, e, maxAbs(rs), 1e-9),
    empty: undefined,
  },
  { name: "first('s')", agg: first('s'), reference: (rs) => present(rs.map((r) => r.s))[0], empty: undefined },
  { name: "last('s')", agg: last('s'), reference: (rs) => present(rs.map((r) => r.s)).at(-1), empty: undefined },
  { name: "first('x')", agg: first('x'), reference: (rs) => xs(rs)[0], empty: undefined },
  { name: "collect('s')", agg: collect('s'), reference: (rs) => present(rs.map((r) => r.s)), empty: [] },
  { name: "distinctCount('i')", agg: distinctCount('i'), reference: (rs) => new Set(rs.map((r) => r.i)).size, empty: 0 },
  { name: "distinctCount('s')", agg: distinctCount('s'), reference: (rs) => new Set(present(rs.map((r) => r.s))).size, empty: 0 },
  approxDistinctCase("approxDistinct('s')", approxDistinct('s'), 14, (rs) => present(rs.map((r) => r.s)), 0.05),
  approxDistinctCase("approxDistinct('x', { precision: 10 })", approxDistinct('x', { precision: 10 }), 10, xs, 0.15),
  {
    name: "variance('x')",
    agg: variance('x'),
    reference: (rs) => populationVariance(xs(rs), false),
    matches: varianceMatches,
    empty: undefined,
  },
  {
    name: "variance('x', { sample: true })",
    agg: variance('x', { sample: true }),
    reference: (rs) => populationVariance(xs(rs), true),
    matches: varianceMatches,
    empty: undefined,
  },
  {
    name: "stddev('x')",
    agg: stddev('x'),
    reference: (rs) => {
      const v = populationVariance(xs(rs), false);
      return v === undefined ? undefined : Math.sqrt(v);
    },
    matches: stddevMatches,
    empty: undefined,
  },
  {
    name: "stddev('x', { sample: true })",
    agg: stddev('x', { sample: true }),
    reference: (rs) => {
      const v = populationVariance(xs(rs), true);
      return v === undefined ? undefined : Math.sqrt(v);
    },
    matches: stddevMatches,
    empty: undefined,
  },
  {
    name: "median('x')",
    agg: median('x'),
    reference: (rs) => sortedQuantile(xs(rs), 0.5),
    matches: (a, e, rs) => close(a, e, maxAbs(rs), 1e-12),
    empty: undefined,
  },
  ...[0, 0.1, 0.95, 1].map(
    (q): Case => ({
      name: `percentile('x', ${q})`,
      agg: percentile('x', q),
      reference: (rs) => sortedQuantile(xs(rs), q),
      matches: (a, e, rs) => close(a, e, maxAbs(rs), 1e-12),
      empty: undefined,
    }),
  ),
  ...[
    [0.5, 100],
    [0.9, 20],
    [0.01, 10],
  ].map(
    ([q, compression]): Case => ({
      name: `approxPercentile('x', ${q}, { compression: ${compression} })`,
      agg: approxPercentile('x', q, { compression }),
      reference: () => undefined,
      matches: quantileMatches(q, compression >= 100 ? 0.02 : 0.05),
      empty: undefined,
    }),
  ),
  {
    // Associative but not commutative: any reordering by a merge shows.
    name: 'reduce(concat)',
    agg: reduce(concatTags),
    reference: (rs) => (rs.length === 0 ? undefined : rs.reduce(concatTags)),
    empty: undefined,
  },
  {
    name: 'composite({ n, total, ids, mid, users })',
    agg: composite({ n: count(), total: sum('i'), ids: collect('s'), lo: min('x'), users: distinctCount('s') }),
    reference: (rs) => ({
      n: rs.length,
      total: rs.reduce((a, r) => a + r.i, 0),
      ids: present(rs.map((r) => r.s)),
      lo: xs(rs).length ? Math.min(...xs(rs)) : undefined,
      users: new Set(present(rs.map((r) => r.s))).size,
    }),
    empty: { n: 0, total: 0, ids: [], lo: undefined, users: 0 },
  },
];

/** Equality that treats 0 and -0 alike (a min over {0, -0} may return either). */
function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => same(v, b[i]));
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => same((a as any)[k], (b as any)[k]));
  }
  return Object.is(a, b);
}

function check(c: Case, actual: unknown, records: Rec[]): void {
  const expected = c.reference(records);
  const ok = c.matches ? c.matches(actual, expected, records) : same(actual, expected);
  if (!ok) expect.fail(`${c.name}: got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)} for ${records.length} records`);
}

const records = fc.array(recArb, { maxLength: 60 });
const chunked = fc.array(fc.array(recArb, { maxLength: 25 }), { minLength: 1, maxLength: 6 });
const picks = fc.array(fc.nat(), { maxLength: 8 });

describe.each(cases)('contract: $name', (c) => {
  it('gives the documented empty result', () => {
    expect(same(c.agg.result(c.agg.create()), c.empty)).toBe(true);
  });

  it('sequential add matches the brute-force reference', () => {
    fc.assert(fc.property(records, (rs) => check(c, c.agg.result(fold(c.agg, rs)), rs)));
  });

  it('merging chunk accumulators in order, in any tree shape, matches one pass', () => {
    fc.assert(
      fc.property(chunked, picks, fc.array(fc.boolean(), { maxLength: 6 }), (chunks, order, restore) => {
        // Some chunk accumulators go through the checkpoint serializer before merging.
        const accs = chunks.map((chunk, k) => {
          const acc = fold(c.agg, chunk);
          return restore[k] ? roundTrip(acc) : acc;
        });
        check(c, c.agg.result(mergeInOrder(c.agg, accs, order)), chunks.flat());
      }),
    );
  });

  it('merging with an empty accumulator on either side changes nothing', () => {
    fc.assert(
      fc.property(records, (rs) => {
        check(c, c.agg.result(c.agg.merge(c.agg.create(), fold(c.agg, rs))), rs);
        check(c, c.agg.result(c.agg.merge(fold(c.agg, rs), c.agg.create())), rs);
      }),
    );
  });

  it('an accumulator restored from v8.serialize keeps adding and merging correctly', () => {
    fc.assert(
      fc.property(records, records, records, (before, after, other) => {
        const restored = roundTrip(fold(c.agg, before));
        const continued = fold(c.agg, after, restored);
        const merged = c.agg.merge(continued, roundTrip(fold(c.agg, other)));
        check(c, c.agg.result(roundTrip(merged)), [...before, ...after, ...other]);
      }),
    );
  });

  it('merge neither changes b nor stays tied to it', () => {
    fc.assert(
      fc.property(records, records, records, (ra, rb, more) => {
        let b = fold(c.agg, rb);
        const merged = c.agg.merge(fold(c.agg, ra), b);
        check(c, c.agg.result(b), rb);
        b = fold(c.agg, more, b);
        check(c, c.agg.result(merged), [...ra, ...rb]);
        check(c, c.agg.result(b), [...rb, ...more]);
      }),
    );
  });

  it('result is repeatable, and later adds do not change an earlier result', () => {
    fc.assert(
      fc.property(records, records, (ra, rb) => {
        let acc = fold(c.agg, ra);
        const early = c.agg.result(acc);
        const earlyCopy = roundTrip(early);
        check(c, c.agg.result(acc), ra);
        acc = fold(c.agg, rb, acc);
        check(c, c.agg.result(acc), [...ra, ...rb]);
        expect(same(early, earlyCopy)).toBe(true);
      }),
    );
  });
});
