import { describe, expect, it } from 'vitest';
import { approxPercentile } from '../../src/aggregations/approx-percentile.js';
import { ConfigError } from '../../src/runtime/errors.js';
import { fold, mergeInOrder, rankRange, roundTrip, seeded } from './support.js';

const QS = [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999];

/** |rank(estimate) − q|, taking the closest rank when the estimate ties with data values. */
function rankError(sorted: number[], estimate: number, q: number): number {
  const [below, atMost] = rankRange(sorted, estimate);
  return q < below ? below - q : q > atMost ? q - atMost : 0;
}

function chunks<T>(items: T[], random: () => number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; ) {
    const n = Math.floor(random() * 1500);
    out.push(items.slice(i, i + n));
    i += n;
  }
  return out;
}

describe('approxPercentile', () => {
  const random = seeded(42);
  const distributions: [string, number[]][] = [
    ['uniform', Array.from({ length: 10_000 }, () => random())],
    ['exponential', Array.from({ length: 10_000 }, () => -Math.log(1 - random()))],
    ['sorted uniform', Array.from({ length: 10_000 }, () => random()).sort((a, b) => a - b)],
    ['reversed', Array.from({ length: 10_000 }, (_, i) => 10_000 - i)],
  ];

  it.each(distributions)('on 10k %s values, the rank error is under 0.01 sequentially, merged and restored', (_, values) => {
    const sorted = values.slice().sort((a, b) => a - b);
    const rows = values.map((v) => ({ v }));
    for (const q of QS) {
      const p = approxPercentile<{ v: number }>('v', q);
      const sequential = p.result(fold(p, rows)) as number;
      const parts = chunks(rows, random).map((chunk) => roundTrip(fold(p, chunk)));
      const merged = p.result(roundTrip(mergeInOrder(p, parts, [3, 1, 4, 1, 5, 9, 2, 6]))) as number;
      expect(rankError(sorted, sequential, q), `q=${q} sequential`).toBeLessThan(0.01);
      expect(rankError(sorted, merged, q), `q=${q} merged`).toBeLessThan(0.01);
    }
  });

  it('returns the exact minimum and maximum at q = 0 and q = 1', () => {
    const rows = [5, -3, 8, 2, 11, 0.5].map((v) => ({ v }));
    const lo = approxPercentile<{ v: number }>('v', 0);
    const hi = approxPercentile<{ v: number }>('v', 1);
    expect(lo.result(fold(lo, rows))).toBe(-3);
    expect(hi.result(fold(hi, rows))).toBe(11);
  });

  it('is exact on tiny inputs made of single values', () => {
    const p = approxPercentile<{ v: number | null }>('v', 0.5);
    expect(p.result(fold(p, [{ v: 7 }]))).toBe(7);
    expect(p.result(fold(p, [{ v: 1 }, { v: null }, { v: 2 }, { v: 3 }]))).toBe(2);
    expect(p.result(p.create())).toBeUndefined();
  });

  it('rejects values that are not finite numbers', () => {
    const p = approxPercentile<{ v: number }>('v', 0.5);
    expect(() => p.add(p.create(), { v: Infinity })).toThrow(
      new TypeError('agg.approxPercentile: field "v" must be a finite number, got Infinity'),
    );
    expect(() => p.add(p.create(), { v: '1' as never })).toThrow(TypeError);
  });

  it.each([
    [1.5, {}, 'agg.approxPercentile: q must be in [0, 1], got 1.5'],
    [0.5, { compression: 5 }, 'agg.approxPercentile: compression must be a finite number >= 10, got 5'],
    [0.5, { compression: Infinity }, 'agg.approxPercentile: compression must be a finite number >= 10, got Infinity'],
    [0.5, { compression: NaN }, 'agg.approxPercentile: compression must be a finite number >= 10, got NaN'],
    [0.5, { compression: '100' }, 'agg.approxPercentile: compression must be a finite number >= 10, got "100"'],
  ])('rejects q=%s with %j', (q, options, message) => {
    expect(() => approxPercentile('v', q, options as never)).toThrow(new ConfigError(message));
  });
});
