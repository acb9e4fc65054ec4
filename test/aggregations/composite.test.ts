import { describe, expect, it } from 'vitest';
import { composite } from '../../src/aggregations/composite.js';
import { count } from '../../src/aggregations/count.js';
import { percentile } from '../../src/aggregations/percentile.js';
import { sum } from '../../src/aggregations/sum.js';
import { ConfigError } from '../../src/runtime/errors.js';
import { fold, roundTrip } from './support.js';

describe('composite', () => {
  const stats = composite({ n: count(), total: sum<{ price: number }>('price'), mid: percentile<{ price: number }>('price', 0.5) });

  it('computes every named member in one pass', () => {
    const acc = fold(stats, [{ price: 40 }, { price: 2 }, { price: 6 }]);
    expect(stats.result(acc)).toEqual({ n: 3, total: 48, mid: 6 });
    expect(Object.keys(stats.result(acc))).toEqual(['n', 'total', 'mid']);
    expect(stats.result(stats.create())).toEqual({ n: 0, total: 0, mid: undefined });
  });

  it('keeps the members’ accumulators in an array, in key order, that survives the serializer', () => {
    const acc = roundTrip(fold(stats, [{ price: 1 }]));
    expect(acc).toEqual([1, 1, [1]]);
    expect(stats.result(stats.merge(acc, fold(stats, [{ price: 3 }])))).toEqual({ n: 2, total: 4, mid: 2 });
  });

  it('nests', () => {
    const nested = composite({ outer: count(), inner: composite({ total: sum<{ price: number }>('price') }) });
    expect(nested.result(fold(nested, [{ price: 2 }, { price: 5 }]))).toEqual({ outer: 2, inner: { total: 7 } });
  });

  it('calls members as methods, for any number of members', () => {
    // A member written as a class uses `this`; the unrolled code must keep the receiver.
    class Longest {
      readonly field = 'w';
      create(): number {
        return 0;
      }
      add(acc: number, r: { w: string }): number {
        return Math.max(acc, r[this.field as 'w'].length);
      }
      merge(a: number, b: number): number {
        return Math.max(a, b);
      }
      result(acc: number): number {
        return acc;
      }
    }
    const members: Record<string, Longest | ReturnType<typeof count>> = { longest: new Longest() };
    for (let i = 0; i < 7; i++) members[`n${i}`] = count();
    const wide = composite(members);
    const a = fold(wide, [{ w: 'abc' }, { w: 'a' }]);
    const b = fold(wide, [{ w: 'abcdef' }]);
    expect(wide.result(wide.merge(a, b))).toEqual({ longest: 6, n0: 3, n1: 3, n2: 3, n3: 3, n4: 3, n5: 3, n6: 3 });
    expect(wide.result(b)).toEqual({ longest: 6, n0: 1, n1: 1, n2: 1, n3: 1, n4: 1, n5: 1, n6: 1 });
  });

  it.each([
    [{}, 'agg.composite: members must name at least one aggregation, got {}'],
    [null, 'agg.composite: members must be an object of named aggregations, got null'],
    [[count()], /^agg\.composite: members must be an object of named aggregations, got /],
    [count(), /^agg\.composite: members must be an object of named aggregations, got /],
    [{ n: count(), p: 0.95 }, 'agg.composite: member "p" must be an aggregation, got 0.95'],
  ])('rejects %j', (members, message) => {
    expect(() => composite(members as never)).toThrow(ConfigError);
    expect(() => composite(members as never)).toThrow(message);
  });
});
