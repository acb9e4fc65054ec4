import { describe, expect, it } from 'vitest';
import { agg } from '../../src/aggregations/agg.js';
import { pipeline } from '../../src/builder/pipeline.js';
import { ConfigError, UserFunctionError, WeirError } from '../../src/runtime/errors.js';
import type { OperatorSpec } from '../../src/runtime/operator.js';
import type { Sink } from '../../src/runtime/sink.js';
import type { Source } from '../../src/runtime/source.js';
import { collectSink } from '../../src/sinks/collect-sink.js';
import { windows } from '../../src/windows/index.js';
import type { WindowOperator } from '../../src/windows/window-operator.js';
import { listSource, recording, recordingSink } from '../support/inline.js';

interface Bid {
  auction: number;
  bidder: string;
  price: number;
  t: number;
}

const bids: Bid[] = [
  { auction: 1, bidder: 'x', price: 10, t: 1000 },
  { auction: 2, bidder: 'y', price: 5, t: 1500 },
  { auction: 1, bidder: 'y', price: 30, t: 4000 },
  { auction: 2, bidder: 'x', price: 7, t: 9000 },
  { auction: 1, bidder: 'z', price: 20, t: 12_000 },
];

const source = () => pipeline('bids').source(listSource(bids, { chunk: 2 }), { timestamp: 't' });
const byEnd = <R extends { end: number; key: unknown }>(rows: R[]) => [...rows].sort((a, b) => a.end - b.end || String(a.key).localeCompare(String(b.key)));

describe('keyed.window(...)', () => {
  it('aggregate(named) gives { key, start, end, ...named } rows stamped end − 1', async () => {
    const rec = recording<{ key: number; start: number; end: number; n: number; total: number }>();
    await source()
      .keyBy('auction')
      .window(windows.tumbling(10_000))
      .aggregate({ n: agg.count(), total: agg.sum('price') })
      .sink(recordingSink(rec))
      .run();
    expect(byEnd(rec.records)).toEqual([
      { key: 1, start: 0, end: 10_000, n: 2, total: 40 },
      { key: 2, start: 0, end: 10_000, n: 2, total: 12 },
      { key: 1, start: 10_000, end: 20_000, n: 1, total: 20 },
    ]);
    rec.records.forEach((r, i) => expect(rec.timestamps[i]).toBe(r.end - 1));
  });

  it('aggregate(one) gives { key, start, end, value }; sliding windows', async () => {
    const rows: Array<{ key: number; start: number; end: number; value: number | undefined }> = [];
    await source().keyBy('auction').window(windows.sliding(10_000, 5000)).aggregate(agg.max('price')).sink(collectSink(rows)).run();
    expect(byEnd(rows)).toEqual([
      { key: 1, start: -5000, end: 5000, value: 30 },
      { key: 2, start: -5000, end: 5000, value: 5 },
      { key: 1, start: 0, end: 10_000, value: 30 },
      { key: 2, start: 0, end: 10_000, value: 7 },
      { key: 2, start: 5000, end: 15_000, value: 7 },
      { key: 1, start: 5000, end: 15_000, value: 20 },
      { key: 1, start: 10_000, end: 20_000, value: 20 },
    ].sort((a, b) => a.end - b.end || String(a.key).localeCompare(String(b.key))));
  });

  it('reduce(fn) folds whole records', async () => {
    const rows: Array<{ key: number; value: Bid }> = [];
    await source()
      .keyBy('auction')
      .window(windows.session(5000))
      .reduce((a, b) => (b.price > a.price ? b : a))
      .sink(collectSink(rows))
      .run();
    expect(rows.map((r) => [r.key, r.value.bidder])).toEqual(
      expect.arrayContaining([
        [1, 'y'],
        [2, 'y'],
        [2, 'x'],
        [1, 'z'],
      ]),
    );
    expect(rows).toHaveLength(4);
  });

  it('process(fn) sees the full window and emits any number of rows', async () => {
    const rec = recording<string>();
    await source()
      .keyBy((b) => b.bidder)
      .window(windows.tumbling(100_000))
      .process<string>((key, window, records, emit) => {
        for (const r of records) emit(`${key}@${window.start}-${window.end}:${r.auction}`);
      })
      .sink(recordingSink(rec))
      .run();
    expect(rec.records.sort()).toEqual(['x@0-100000:1', 'x@0-100000:2', 'y@0-100000:1', 'y@0-100000:2', 'z@0-100000:1']);
    expect(new Set(rec.timestamps)).toEqual(new Set([99_999]));
  });

  it('user-defined aggregations of the four-method shape work, also with an undefined empty accumulator', async () => {
    // Highest price so far; `undefined` while empty (like agg.max), which pane state must keep apart from "no entry".
    const highest = {
      create: (): number | undefined => undefined,
      add: (acc: number | undefined, b: Bid) => (acc === undefined || b.price > acc ? b.price : acc),
      merge: (a: number | undefined, b: number | undefined) => (a === undefined ? b : b === undefined ? a : Math.max(a, b)),
      result: (acc: number | undefined) => acc ?? null,
    };
    const rows: Array<{ key: number; start: number; value: number | null }> = [];
    await source().keyBy('auction').window(windows.sliding(10_000, 5000)).aggregate({ top: highest, n: agg.count() }).sink(collectSink(rows as never[])).run();
    expect(rows.find((r) => r.key === 1 && r.start === 0)).toEqual({ key: 1, start: 0, end: 10_000, top: 30, n: 2 });
    const single: Array<{ value: number | null }> = [];
    await source().keyBy('auction').window(windows.tumbling(100_000)).aggregate(highest).sink(collectSink(single as never[])).run();
    expect(single.map((r) => r.value).sort()).toEqual([30, 7]);
  });

  it('object keys are keyed by JSON and rows carry the object', async () => {
    const rows: Array<{ key: { a: number }; value: number }> = [];
    await source()
      .keyBy((b) => ({ a: b.auction }))
      .window(windows.tumbling(100_000))
      .aggregate(agg.count())
      .sink(collectSink(rows))
      .run();
    expect(rows.sort((x, y) => x.key.a - y.key.a)).toEqual([
      { key: { a: 1 }, start: 0, end: 100_000, value: 3 },
      { key: { a: 2 }, start: 0, end: 100_000, value: 2 },
    ]);
  });

  it('empty input: no rows, the job ends', async () => {
    const rows: unknown[] = [];
    const result = await pipeline('empty')
      .source(listSource<Bid>([]), { timestamp: 't' })
      .keyBy('auction')
      .window(windows.session(10))
      .aggregate(agg.count())
      .sink(collectSink(rows))
      .run();
    expect(rows).toEqual([]);
    expect(result.steps.window.recordsIn).toBe(0);
  });

  it('the window runs in its own stage, its state is empty after the job, and it is named', async () => {
    const p = pipeline('state');
    p.source(listSource(bids), { timestamp: 't' })
      .map((b) => b)
      .keyBy('auction')
      .window(windows.sliding(10_000, 2000), { name: 'per-10s' })
      .aggregate(agg.count())
      .map((r) => r)
      .sink(collectSink([]));
    const node = p.graph.nodes.find((n) => n.type === 'operator' && n.name === 'per-10s');
    expect(node?.type === 'operator' && node.spec.stateless).toBe(false);
    const spec = (node as { spec: OperatorSpec }).spec as { create: OperatorSpec['create'] };
    const created: WindowOperator<Bid>[] = [];
    const create = spec.create;
    spec.create = (ctx) => {
      const op = create(ctx) as WindowOperator<Bid>;
      created.push(op);
      return op;
    };
    await p.run();
    expect(created).toHaveLength(1);
    expect(created[0].stateSize()).toBe(0);
  });

  it('a record without event time fails the job, naming the step and the timestamp option', async () => {
    const run = pipeline('no-ts').source(listSource(bids)).keyBy('auction').window(windows.tumbling(1000), { name: 'minutely' }).aggregate(agg.count()).sink(collectSink([])).run();
    await expect(run).rejects.toThrow(/window "minutely": a record has no event time \(timestamp NaN\).*give the source a `timestamp` option/);
    await expect(run).rejects.toMatchObject({ code: 'WEIR_CONFIG', step: 'minutely' });
  });

  it('an infinite event time is a bad record: it follows the error policy', async () => {
    const data = [...bids, { auction: 9, bidder: 'q', price: 1, t: Infinity }];
    const failing = pipeline('inf').source(listSource(data), { timestamp: 't' }).keyBy('auction').window(windows.tumbling(1000), { name: 'w1' }).aggregate(agg.count()).sink(collectSink([])).run();
    await expect(failing).rejects.toMatchObject({ code: 'WEIR_BAD_RECORD', step: 'w1' });
    await expect(failing).rejects.toThrow(/event time must be a finite number of ms, got Infinity/);
    const skipped = await pipeline('inf-skip')
      .source(listSource(data), { timestamp: 't' })
      .keyBy('auction')
      .window(windows.session(1000))
      .aggregate(agg.count(), { name: 'w2', onError: 'skip' })
      .sink(collectSink([]))
      .run();
    expect(skipped.steps.w2.skipped).toBe(1);
  });

  it('a throwing key selector or aggregation fails the job naming the step; onError skip counts instead', async () => {
    const failing = source()
      .keyBy((b) => {
        if (b.bidder === 'z') throw new Error('no key for z');
        return b.auction;
      })
      .window(windows.tumbling(10_000), { name: 'keyed' })
      .aggregate(agg.count())
      .sink(collectSink([]))
      .run();
    await expect(failing).rejects.toBeInstanceOf(UserFunctionError);
    await expect(failing).rejects.toThrow(/step "keyed": user function failed: no key for z/);

    const rows: Array<{ value: number }> = [];
    const skipped = await pipeline('skip')
      .source(listSource([...bids, { auction: 3, bidder: 'q', price: 'lots' as unknown as number, t: 100 }]), { timestamp: 't' })
      .keyBy('auction')
      .window(windows.tumbling(100_000))
      .aggregate(agg.sum('price'), { name: 'sums', onError: 'skip' })
      .sink(collectSink(rows))
      .run();
    expect(skipped.steps.sums.skipped).toBe(1);
    expect(rows.map((r) => r.value).sort((a, b) => a - b)).toEqual([12, 60]);
  });

  it('a throwing process function fails the job naming the step', async () => {
    const run = source()
      .keyBy('auction')
      .window(windows.tumbling(10_000))
      .process(() => {
        throw new Error('boom');
      }, { name: 'proc' })
      .sink(collectSink([]))
      .run();
    await expect(run).rejects.toThrow(/step "proc".*boom/);
  });

  it('validates its arguments when the step is built', () => {
    const keyed = source().keyBy('auction');
    expect(() => keyed.window({ kind: 'hourly' } as never)).toThrow(ConfigError);
    expect(() => keyed.window(windows.tumbling(10), { allowedLateness: -1 })).toThrow(/allowedLateness must be a non-negative number of milliseconds, got -1/);
    expect(() => keyed.window(windows.tumbling(10), { lateOutput: [] as never })).toThrow(/lateOutput must be a sink/);
    expect(() => keyed.window(windows.tumbling(10)).aggregate(5 as never)).toThrow(/aggregate\(\) expects an aggregation/);
    expect(() => keyed.window(windows.tumbling(10)).aggregate({ key: agg.count() })).toThrow(/cannot name an aggregation "key"/);
    expect(() => keyed.window(windows.tumbling(10)).aggregate({ n: 3 } as never)).toThrow(/member "n" must be an aggregation/);
    expect(() => keyed.window(windows.tumbling(10)).reduce('max' as never)).toThrow(/reduce\(\) expects a function/);
    const p = source();
    p.keyBy('auction').window(windows.tumbling(10), { name: 'w' }).aggregate(agg.count());
    expect(() => p.keyBy('auction').window(windows.tumbling(10), { name: 'w' }).aggregate(agg.count())).toThrow(WeirError);
  });

  it('a slow sink pauses the source instead of growing the window output buffers', async () => {
    let read = 0;
    const endless: Source<Bid> = {
      name: 'endless',
      bounded: false,
      replayable: true,
      open: () => ({
        read(max) {
          const records = Array.from({ length: max }, (_, i) => ({ auction: (read + i) % 5, bidder: 'b', price: 1, t: (read + i) * 10 }));
          read += max;
          return { records };
        },
        position: () => read,
      }),
    };
    const release: Array<() => void> = [];
    const blocked: Sink<unknown> = { name: 'blocked', open: () => ({ write: () => new Promise<void>((r) => release.push(r)) }) };
    const job = pipeline('slow')
      .source(endless, { timestamp: 't' })
      .keyBy('auction')
      .window(windows.tumbling(100))
      .aggregate(agg.count())
      .sink(blocked)
      .start({ batchSize: 50, bufferBatches: 2 });
    for (let i = 0; i < 200; i++) await new Promise((r) => setImmediate(r));
    const whileBlocked = read;
    for (let i = 0; i < 200; i++) await new Promise((r) => setImmediate(r));
    expect(read).toBe(whileBlocked);
    expect(read).toBeLessThan(50 * 40);
    job.abort();
    for (const r of release) r();
    await expect(job.done).rejects.toThrow();
  });
});
