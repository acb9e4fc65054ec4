import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { count } from '../../src/aggregations/count.js';
import { sum } from '../../src/aggregations/sum.js';
import { countWindow } from '../../src/windows/count-window.js';
import { session } from '../../src/windows/session.js';
import { slidingCount } from '../../src/windows/sliding-count.js';
import { sliding } from '../../src/windows/sliding.js';
import { tumbling } from '../../src/windows/tumbling.js';
import type { WindowOperator } from '../../src/windows/window-operator.js';
import {
  bruteStats,
  context,
  drive,
  inputArb,
  multiset,
  recorder,
  referenceCount,
  referenceFixed,
  referenceSessions,
  spec,
  windowsContaining,
  type Element,
  type Ev,
  type OpOptions,
} from './support.js';

const RUNS = { numRuns: 200 };

async function run(options: OpOptions, elements: Element[]) {
  const { ctx, counts } = context();
  const op = spec(options).create(ctx) as WindowOperator<Ev>;
  const { out, got } = recorder();
  await drive(op, elements, out);
  // Every row carries the timestamp end − 1 of its window.
  got.rows.forEach((row, i) => expect(got.times[i]).toBe((row.end as number) - 1));
  return { got, counts, op };
}

describe('window assigners against brute-force references (random out-of-order input)', () => {
  it('tumbling(size, offset), incl. negative times and offsets, with allowed lateness', async () => {
    await fc.assert(
      fc.asyncProperty(
        inputArb(),
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: -100, max: 100 }),
        fc.integer({ min: 0, max: 80 }),
        async ({ elements }, size, offset, lateness) => {
          const { got, op } = await run({ assigner: tumbling(size, offset), lateness }, elements);
          const ref = referenceFixed(elements, (t) => windowsContaining(t, size, size, offset), lateness);
          expect(multiset(got.rows)).toEqual(multiset(ref.rows));
          expect(multiset(got.late)).toEqual(multiset(ref.late));
          expect(op.stateSize()).toBe(0);
        },
      ),
      RUNS,
    );
  });

  it('sliding(size, slide, offset) over panes, with allowed lateness', async () => {
    await fc.assert(
      fc.asyncProperty(
        inputArb(),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: -50, max: 50 }),
        fc.integer({ min: 0, max: 80 }),
        async ({ elements }, slideUnits, extraUnits, unit, offset, lateness) => {
          // Sizes that share a factor, so panes are smaller than the slide in many cases.
          const slide = slideUnits * unit;
          const size = slide + extraUnits * unit;
          const { got, op } = await run({ assigner: sliding(size, slide, offset), lateness }, elements);
          const ref = referenceFixed(elements, (t) => windowsContaining(t, size, slide, offset), lateness);
          expect(multiset(got.rows)).toEqual(multiset(ref.rows));
          expect(multiset(got.late)).toEqual(multiset(ref.late));
          expect(op.stateSize()).toBe(0);
        },
      ),
      RUNS,
    );
  });

  it('sliding with slide = size equals tumbling', async () => {
    await fc.assert(
      fc.asyncProperty(inputArb(), fc.integer({ min: 1, max: 40 }), async ({ elements }, size) => {
        const a = await run({ assigner: sliding(size, size) }, elements);
        const b = await run({ assigner: tumbling(size) }, elements);
        expect(multiset(a.got.rows)).toEqual(multiset(b.got.rows));
      }),
      RUNS,
    );
  });

  it('session(gap): merges out-of-order events, with allowed lateness', async () => {
    await fc.assert(
      fc.asyncProperty(
        inputArb({ span: 400 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 80 }),
        async ({ elements }, gap, lateness) => {
          const { got, op } = await run({ assigner: session(gap), lateness }, elements);
          const ref = referenceSessions(elements, gap, lateness);
          expect(multiset(got.rows)).toEqual(multiset(ref.rows));
          expect(multiset(got.late)).toEqual(multiset(ref.late));
          expect(op.stateSize()).toBe(0);
        },
      ),
      RUNS,
    );
  });

  it('count(n) and slidingCount(n, step): arrival order per key, incomplete windows not emitted', async () => {
    await fc.assert(
      fc.asyncProperty(
        inputArb(),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 9 }),
        async ({ elements }, a, b) => {
          const n = Math.max(a, b);
          const step = Math.min(a, b);
          const sliding = await run({ assigner: slidingCount(n, step) }, elements);
          expect(multiset(sliding.got.rows)).toEqual(multiset(referenceCount(elements, n, step).rows));
          expect(sliding.op.stateSize()).toBe(0);
          const tumbling = await run({ assigner: countWindow(n) }, elements);
          expect(multiset(tumbling.got.rows)).toEqual(multiset(referenceCount(elements, n, n).rows));
          expect(tumbling.op.stateSize()).toBe(0);
        },
      ),
      RUNS,
    );
  });

  it('a single aggregation gives { key, start, end, value }', async () => {
    await fc.assert(
      fc.asyncProperty(inputArb(), fc.integer({ min: 1, max: 50 }), async ({ elements }, size) => {
        const { got } = await run({ assigner: sliding(size * 2, size), aggregation: sum<Ev>('v') }, elements);
        const ref = referenceFixed(elements, (t) => windowsContaining(t, size * 2, size, 0), 0, (key, start, end, records) => ({
          key,
          start,
          end,
          value: bruteStats(records).total,
        }));
        expect(multiset(got.rows)).toEqual(multiset(ref.rows));
      }),
      RUNS,
    );
  });

  it('emits each firing as one batch, windows in end order', async () => {
    const elements: Element[] = [
      { kind: 'batch', records: [0, 5, 12, 25, 31, 3].map((t, i) => ({ k: i % 2, t, v: 1 })) },
      { kind: 'watermark', time: 40 },
    ];
    const { got } = await run({ assigner: tumbling(10), aggregation: count() }, elements);
    expect(got.batches).toBe(1);
    const ends = got.rows.map((r) => r.end as number);
    expect(ends).toEqual([...ends].sort((a, b) => a - b));
    expect(got.rows).toHaveLength(5);
  });
});
