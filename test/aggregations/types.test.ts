import { describe, expectTypeOf, it } from 'vitest';
import {
  type Aggregation,
  agg,
  approxPercentile,
  collect,
  composite,
  count,
  first,
  sum,
} from '../../src/aggregations/index.js';

interface Order {
  price: number;
  note?: string;
  qty: number | null;
}

// Type-level checks: `tsc --noEmit` fails if these stop holding (the runtime part is trivial).
describe('aggregation types', () => {
  it('infers results and inputs', () => {
    const stats = composite({ n: count(), total: sum<Order>('price'), notes: collect<Order, 'note'>('note') });
    expectTypeOf(stats.result).returns.toEqualTypeOf<{ n: number; total: number; notes: string[] }>();
    expectTypeOf(first((o: Order) => o.note)).toEqualTypeOf<Aggregation<Order, string | undefined, string | undefined>>();
    expectTypeOf(agg.percentile<Order>('qty', 0.5).result).returns.toEqualTypeOf<number | undefined>();
  });

  it('checks field names against the record type, also from the context', () => {
    const fromContext: Aggregation<Order, number, number> = sum('price');
    expectTypeOf(fromContext).not.toBeAny();
    // @ts-expect-error: 'note' is not numeric
    sum<Order>('note');
    // @ts-expect-error: no such field
    approxPercentile<Order>('cost', 0.5);
    // @ts-expect-error: a selector must return a number
    sum((o: Order) => o.note);
  });
});
