import { deserialize, serialize } from 'node:v8';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { intervalJoin, windowJoin } from '../../src/builder/joins.js';
import { pipeline } from '../../src/builder/pipeline.js';
import type { Stream } from '../../src/builder/stream.js';
import { ManualClock } from '../../src/runtime/clock.js';
import { batch as makeBatch } from '../../src/runtime/elements.js';
import { asStepError, deadLetter, type DeadLetter } from '../../src/runtime/error-policy.js';
import { AbortedError, ConfigError, WeirError } from '../../src/runtime/errors.js';
import type { Sink } from '../../src/runtime/sink.js';
import type { Source } from '../../src/runtime/source.js';
import type { OperatorContext, OperatorSpec, Output } from '../../src/runtime/operator.js';
import { boundedOutOfOrderness } from '../../src/runtime/watermark-strategy.js';
import { collectSink } from '../../src/sinks/collect-sink.js';
import { intervalJoinOperator } from '../../src/processors/interval-join.js';
import type { JoinEnvelope, JoinSide } from '../../src/processors/join-envelope.js';
import { checkJoinWindows, type JoinWindow } from '../../src/processors/join-window.js';
import { windowJoinOperator } from '../../src/processors/window-join.js';
import { listSource, recording, recordingSink } from '../support/inline.js';

interface Rec {
  id: string;
  k: string;
  t: number;
}

const BOUND_MS = 5;

const tick = () => new Promise((r) => setImmediate(r));

/**
 * Random records of one side: event times drift upwards with jitter of at most BOUND_MS, so
 * with boundedOutOfOrderness(BOUND_MS) no record is ever late.
 */
function sideArb(prefix: string) {
  return fc
    .array(fc.record({ k: fc.constantFrom('a', 'b', 'c'), dt: fc.integer({ min: 0, max: 8 }), lag: fc.integer({ min: 0, max: BOUND_MS }) }), { maxLength: 30 })
    .map((raw) => {
      let base = 0;
      return raw.map((r, i): Rec => ({ id: `${prefix}${i}`, k: r.k, t: (base += r.dt) - r.lag }));
    });
}

/** Run a join built by `join` over two list sources; output records with their event times, sorted. */
async function runJoin(
  left: Rec[],
  right: Rec[],
  chunks: [number, number],
  batchSize: number,
  join: (l: ReturnType<Stream<Rec>['keyBy']>, r: ReturnType<Stream<Rec>['keyBy']>) => Stream<string>,
): Promise<string[]> {
  const rec = recording<string>();
  const p = pipeline('join-prop');
  const opts = { timestamp: 't' as const, watermark: boundedOutOfOrderness(BOUND_MS) };
  const l = p.source(listSource(left, { chunk: chunks[0], name: 'left' }), opts).keyBy('k');
  const r = p.source(listSource(right, { chunk: chunks[1], name: 'right' }), opts).keyBy('k');
  await join(l, r).sink(recordingSink(rec)).run({ batchSize });
  return rec.records.map((x, i) => `${x}@${rec.timestamps[i]}`).sort();
}

function intervalReference(left: Rec[], right: Rec[], lowerMs: number, upperMs: number): string[] {
  const out: string[] = [];
  for (const l of left) for (const r of right) if (l.k === r.k && l.t + lowerMs <= r.t && r.t <= l.t + upperMs) out.push(`${l.id}|${r.id}@${Math.max(l.t, r.t)}`);
  return out.sort();
}

function windowReference(left: Rec[], right: Rec[], sizeMs: number, slideMs: number, offsetMs: number): string[] {
  const out: string[] = [];
  for (const l of left) {
    for (const r of right) {
      if (l.k !== r.k) continue;
      const lo = Math.max(l.t, r.t) - sizeMs + 1;
      const hi = Math.min(l.t, r.t);
      for (let j = Math.ceil((lo - offsetMs) / slideMs); offsetMs + j * slideMs <= hi; j++) {
        const start = offsetMs + j * slideMs;
        out.push(`${l.id}|${r.id}|${start}@${start + sizeMs - 1}`);
      }
    }
  }
  return out.sort();
}

/** Drive a join operator by hand: envelopes, watermarks, snapshots. Policy 'fail' unless `skip`. */
function drive<O>(spec: OperatorSpec<JoinEnvelope, O>, options: { restored?: unknown; skip?: boolean } = {}) {
  const clock = new ManualClock(0);
  const out: Array<{ record: O; t: number }> = [];
  const counts = { late: 0, failed: 0 };
  const output: Output<O> = {
    emit: (records, times) => void records.forEach((record, i) => out.push({ record, t: times[i] })),
    watermark: () => undefined,
    side: () => undefined,
  };
  const ctx: OperatorContext = {
    job: 'test',
    name: spec.name,
    signal: new AbortController().signal,
    now: () => clock.now(),
    restored: options.restored,
    recordFailed(_r, _t, cause) {
      if (options.skip !== true) throw asStepError(spec.name, cause);
      counts.failed++;
    },
    registerProcessingTimer: () => undefined,
    countDropped(n, reason) {
      if (reason === 'late') counts.late += n;
    },
  };
  const op = spec.create(ctx);
  return {
    out,
    counts,
    send: (items: Array<[JoinSide, Rec]>) =>
      op.processBatch(makeBatch(items.map(([side, record]) => ({ side, record })), items.map(([, r]) => r.t)), output),
    watermark: (t: number) => op.onWatermark!(t, output),
    snapshot: () => deserialize(serialize(op.snapshot!(1))) as { body: { table: Array<[unknown, Array<[string, unknown]>]>; timers: unknown[] } },
  };
}

const byKey = (r: Rec) => r.k;
const pairName = (l: Rec, r: Rec) => `${l.id}|${r.id}`;

/** One step of a hand-driven scenario: a batch of records, or a watermark. */
type Step = { batch: Array<[JoinSide, Rec]> } | { wm: number };

/** Random scenario: batches with records possibly late, and watermarks that only go up. */
const scenarioArb = fc
  .array(
    fc.oneof(
      fc.array(fc.record({ side: fc.constantFrom<JoinSide>(0, 1), k: fc.constantFrom('a', 'b'), t: fc.integer({ min: 0, max: 80 }) }), { minLength: 1, maxLength: 4 }),
      fc.integer({ min: 0, max: 12 }),
    ),
    { maxLength: 30 },
  )
  .map((raw) => {
    let wm = -1;
    let n = 0;
    return raw.map((x): Step => {
      if (typeof x === 'number') return { wm: (wm += x) };
      return { batch: x.map((r) => [r.side, { id: `${r.side === 0 ? 'L' : 'R'}${n++}`, k: r.k, t: r.t }] as [JoinSide, Rec]) };
    });
  });

/** Records of a scenario with the watermark in force when each arrived. */
function arrivals(steps: Step[]): Array<{ side: JoinSide; r: Rec; wm: number }> {
  let wm = Number.NEGATIVE_INFINITY;
  const out: Array<{ side: JoinSide; r: Rec; wm: number }> = [];
  for (const s of steps) {
    if ('wm' in s) wm = Math.max(wm, s.wm);
    else for (const [side, r] of s.batch) out.push({ side, r, wm });
  }
  return out;
}

describe('interval join: pipeline', () => {
  it('joins records of the same key within the bounds, at max(left.t, right.t)', async () => {
    const orders: Rec[] = [
      { id: 'o1', k: 'a', t: 10 },
      { id: 'o2', k: 'b', t: 20 },
      { id: 'o3', k: 'a', t: 30 },
    ];
    const payments: Rec[] = [
      { id: 'p1', k: 'a', t: 12 },
      { id: 'p2', k: 'b', t: 19 },
      { id: 'p3', k: 'a', t: 45 },
      { id: 'p4', k: 'c', t: 30 },
    ];
    const out = await runJoin(orders, payments, [1, 2], 16, (l, r) => intervalJoin(l, r, { lowerMs: -2, upperMs: 15 }, pairName, { name: 'paid' }));
    expect(out).toEqual(['o1|p1@12', 'o2|p2@20', 'o3|p3@45']);
  });

  it('emits nothing for empty inputs', async () => {
    expect(await runJoin([], [], [1, 1], 4, (l, r) => intervalJoin(l, r, { lowerMs: 0, upperMs: 10 }, pairName))).toEqual([]);
    expect(await runJoin([{ id: 'x', k: 'a', t: 1 }], [], [1, 1], 4, (l, r) => intervalJoin(l, r, { lowerMs: 0, upperMs: 10 }, pairName))).toEqual([]);
  });

  it('matches a nested-loop reference on random out-of-order input and batch sizes', async () => {
    await fc.assert(
      fc.asyncProperty(
        sideArb('L'),
        sideArb('R'),
        fc.integer({ min: -20, max: 20 }),
        fc.integer({ min: 0, max: 25 }),
        fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 })),
        fc.integer({ min: 1, max: 8 }),
        async (left, right, lowerMs, width, chunks, batchSize) => {
          const upperMs = lowerMs + width;
          const got = await runJoin(left, right, chunks, batchSize, (l, r) => intervalJoin(l, r, { lowerMs, upperMs }, pairName));
          expect(got).toEqual(intervalReference(left, right, lowerMs, upperMs));
        },
      ),
      { numRuns: 120 },
    );
  });

  it('joins a stream with itself', async () => {
    const data: Rec[] = [
      { id: 'x', k: 'a', t: 1 },
      { id: 'y', k: 'a', t: 3 },
    ];
    const rec = recording<string>();
    const p = pipeline('self-join');
    const s = p.source(listSource(data), { timestamp: 't' }).keyBy('k');
    await intervalJoin(s, s, { lowerMs: 0, upperMs: 5 }, pairName).sink(recordingSink(rec)).run();
    expect(rec.records.sort()).toEqual(['x|x', 'x|y', 'y|y']);
  });

  it('fails with the join step name when the join function throws, or dead-letters the pair', async () => {
    const left: Rec[] = [{ id: 'l', k: 'a', t: 1 }];
    const right: Rec[] = [{ id: 'r', k: 'a', t: 2 }];
    const build = (onError: 'fail' | ReturnType<typeof deadLetter>) => {
      const p = pipeline('join-fail');
      const l = p.source(listSource(left, { name: 'left' }), { timestamp: 't' }).keyBy('k');
      const r = p.source(listSource(right, { name: 'right' }), { timestamp: 't' }).keyBy('k');
      return intervalJoin(
        l,
        r,
        { lowerMs: 0, upperMs: 5 },
        (): string => {
          throw new Error('cannot combine');
        },
        { name: 'combine', onError },
      );
    };
    const rec = recording<string>();
    const err = await build('fail')
      .sink(recordingSink(rec))
      .run()
      .then(() => undefined, (e: unknown) => e);
    await tick();
    expect(rec.closes).toBe(1);
    expect(err).toBeInstanceOf(WeirError);
    expect((err as WeirError).step).toBe('combine');
    expect((err as Error).message).toContain('cannot combine');

    const dead: DeadLetter[] = [];
    const out: string[] = [];
    await build(deadLetter(collectSink(dead))).sink(collectSink(out)).run();
    expect(out).toEqual([]);
    expect(dead).toHaveLength(1);
    expect(dead[0].record).toEqual({ left: left[0], right: right[0] });
    expect(dead[0].error.step).toBe('combine');
  });

  it('a slow sink pauses both inputs instead of buffering output', async () => {
    const reads = { L: 0, R: 0 };
    const closed = { L: 0, R: 0 };
    const endless = (side: 'L' | 'R'): Source<Rec> => ({
      name: side,
      bounded: false,
      replayable: true,
      open: () => ({
        read(max) {
          const records = Array.from({ length: max }, (_, i) => ({ id: `${side}${reads[side] + i}`, k: 'a', t: reads[side] + i }));
          reads[side] += max;
          return { records };
        },
        position: () => reads[side],
        close: () => void closed[side]++,
      }),
    });
    const gate = { writes: 0, release: [] as Array<() => void> };
    const gated: Sink<string> = {
      name: 'gated',
      open: () => ({
        write() {
          gate.writes++;
          return new Promise<void>((resolve) => gate.release.push(resolve));
        },
      }),
    };
    const batchSize = 50;
    const bufferBatches = 2;
    const p = pipeline('join-slow');
    const l = p.source(endless('L'), { timestamp: 't' }).keyBy('k');
    const r = p.source(endless('R'), { timestamp: 't' }).keyBy('k');
    const job = intervalJoin(l, r, { lowerMs: 0, upperMs: 0 }, pairName).sink(gated).start({ batchSize, bufferBatches });
    for (let i = 0; i < 100; i++) await tick();
    // The side that runs ahead is held in join state until the other catches up (as in Flink,
    // without watermark alignment); once the sink blocks, backpressure stops both sources.
    const blocked = { ...reads };
    for (let i = 0; i < 100; i++) await tick();
    expect(gate.writes).toBe(1);
    expect(reads).toEqual(blocked);
    gate.release.shift()?.();
    for (let i = 0; i < 100 && gate.writes < 2; i++) await tick();
    expect(gate.writes).toBe(2);
    job.abort();
    await expect(job.done).rejects.toBeInstanceOf(AbortedError);
    await tick();
    expect(closed).toEqual({ L: 1, R: 1 });
  });

  it('names the join step when a key selector throws', async () => {
    const p = pipeline('join-key-fail');
    const l = p.source(listSource<Rec>([{ id: 'l', k: 'a', t: 1 }], { name: 'left' }), { timestamp: 't' }).keyBy((): string => {
      throw new Error('no key here');
    });
    const r = p.source(listSource<Rec>([], { name: 'right' }), { timestamp: 't' }).keyBy('k');
    const err = await intervalJoin(l, r, { lowerMs: 0, upperMs: 1 }, pairName, { name: 'keyed-join' })
      .sink(collectSink([]))
      .run()
      .then(() => undefined, (e: unknown) => e);
    expect((err as WeirError).step).toBe('keyed-join');
    expect((err as Error).message).toContain('no key here');
  });

  it('validates its arguments at build time', () => {
    const p = pipeline('join-build');
    const l = p.source(listSource<Rec>([], { name: 'left' })).keyBy('k');
    const r = p.source(listSource<Rec>([], { name: 'right' })).keyBy('k');
    expect(() => intervalJoin(l, r, { lowerMs: 5, upperMs: 1 }, pairName)).toThrow(/lowerMs must be ≤ upperMs/);
    expect(() => intervalJoin(l, r, { lowerMs: Number.NaN, upperMs: 1 }, pairName)).toThrow(/lowerMs must be a finite number/);
    expect(() => intervalJoin(l, r, { lowerMs: 0, upperMs: 1 }, 'nope' as never)).toThrow(ConfigError);
    const other = pipeline('other').source(listSource<Rec>([])).keyBy('k');
    expect(() => intervalJoin(l, other, { lowerMs: 0, upperMs: 1 }, pairName)).toThrow(/same pipeline/);
    expect(() => intervalJoin(l, r.stream as never, { lowerMs: 0, upperMs: 1 }, pairName)).toThrow(/keyed streams/);
    intervalJoin(l, r, { lowerMs: 0, upperMs: 1 }, pairName, { name: 'j' });
    expect(() => intervalJoin(l, r, { lowerMs: 0, upperMs: 1 }, pairName, { name: 'j' })).toThrow(/step name "j" is already used/);
    expect(() => windowJoin(l, r, { sizeMs: 0 }, pairName)).toThrow(/sizeMs must be a positive number/);
    expect(() => windowJoin(l, r, { sizeMs: 10, slideMs: -1 }, pairName)).toThrow(/slideMs must be a positive number/);
    expect(() => windowJoin(l, r, { kind: 'session', sizeMs: 10 } as never, pairName)).toThrow(/only tumbling and sliding/);
  });
});

describe('interval join: state and lateness (driven by hand)', () => {
  it('matches the reference, drops late records, and keeps exactly the records that can still match', () => {
    fc.assert(
      fc.property(scenarioArb, fc.integer({ min: -10, max: 10 }), fc.integer({ min: 0, max: 15 }), (steps, lowerMs, width) => {
        const upperMs = lowerMs + width;
        const h = drive(intervalJoinOperator('ij', byKey, byKey, { lowerMs, upperMs }, pairName));
        const seen = arrivals(steps);
        let arrived = 0;
        for (const s of steps) {
          if ('batch' in s) {
            h.send(s.batch);
            arrived += s.batch.length;
            continue;
          }
          h.watermark(s.wm);
          // State after the watermark: exactly the on-time records whose match window is still open.
          const held = h.snapshot().body.table.flatMap(([side, entries]) => entries.flatMap(([, b]) => (b as { records: Rec[] }).records.map((r) => `${String(side)}:${r.id}`)));
          const expected = seen
            .slice(0, arrived)
            .filter((a) => a.r.t > a.wm && (a.side === 0 ? a.r.t + upperMs : a.r.t - lowerMs) > s.wm)
            .map((a) => `${a.side}:${a.r.id}`);
          expect(held.sort()).toEqual(expected.sort());
        }
        h.watermark(Number.POSITIVE_INFINITY);
        expect(h.snapshot().body.table).toEqual([]);
        expect(h.snapshot().body.timers).toEqual([]);
        const onTime = seen.filter((a) => a.r.t > a.wm);
        expect(h.counts.late).toBe(seen.length - onTime.length);
        const ref = intervalReference(
          onTime.filter((a) => a.side === 0).map((a) => a.r),
          onTime.filter((a) => a.side === 1).map((a) => a.r),
          lowerMs,
          upperMs,
        );
        expect(h.out.map((o) => `${o.record}@${o.t}`).sort()).toEqual(ref);
      }),
      { numRuns: 300 },
    );
  });

  it('restoring a snapshot mid-stream gives the same output as an uninterrupted run', () => {
    fc.assert(
      fc.property(scenarioArb, fc.nat(), (steps, cutSeed) => {
        const make = (restored?: unknown) => drive(intervalJoinOperator('ij', byKey, byKey, { lowerMs: -3, upperMs: 6 }, pairName), { restored });
        const play = (h: ReturnType<typeof make>, from: number, to: number) => {
          for (const s of steps.slice(from, to)) {
            if ('batch' in s) h.send(s.batch);
            else h.watermark(s.wm);
          }
        };
        const whole = make();
        play(whole, 0, steps.length);
        whole.watermark(Number.POSITIVE_INFINITY);
        const cut = cutSeed % (steps.length + 1);
        const first = make();
        play(first, 0, cut);
        const second = make(first.snapshot());
        play(second, cut, steps.length);
        second.watermark(Number.POSITIVE_INFINITY);
        expect([...first.out, ...second.out]).toEqual(whole.out);
        expect(first.counts.late + second.counts.late).toBe(whole.counts.late);
      }),
      { numRuns: 200 },
    );
  });

  it('sends records without event time through the error policy', () => {
    const h = drive(intervalJoinOperator('ij', byKey, byKey, { lowerMs: 0, upperMs: 1 }, pairName), { skip: true });
    h.send([[0, { id: 'x', k: 'a', t: Number.NaN }]]);
    expect(h.counts.failed).toBe(1);
    expect(() => drive(intervalJoinOperator('ij', byKey, byKey, { lowerMs: 0, upperMs: 1 }, pairName)).send([[0, { id: 'x', k: 'a', t: Number.NaN }]])).toThrow(
      /step "ij": an interval join needs event time/,
    );
  });
});

describe('window join', () => {
  it('joins pairs of the same key in the same tumbling window, at window end − 1', async () => {
    const left: Rec[] = [
      { id: 'l1', k: 'a', t: 1 },
      { id: 'l2', k: 'a', t: 12 },
      { id: 'l3', k: 'b', t: 3 },
    ];
    const right: Rec[] = [
      { id: 'r1', k: 'a', t: 9 },
      { id: 'r2', k: 'a', t: 10 },
      { id: 'r3', k: 'b', t: 15 },
    ];
    const out = await runJoin(left, right, [2, 1], 16, (l, r) =>
      windowJoin(l, r, { sizeMs: 10 }, (a, b, w: JoinWindow) => `${a.id}|${b.id}|${w.start}-${w.end}`),
    );
    expect(out).toEqual(['l1|r1|0-10@9', 'l2|r2|10-20@19']);
  });

  it('emits nothing for empty inputs', async () => {
    expect(await runJoin([], [], [1, 1], 4, (l, r) => windowJoin(l, r, { sizeMs: 5 }, pairName))).toEqual([]);
  });

  it('matches a nested-loop reference for tumbling and sliding windows on random input', async () => {
    await fc.assert(
      fc.asyncProperty(
        sideArb('L'),
        sideArb('R'),
        fc.integer({ min: 1, max: 25 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: -7, max: 7 }),
        fc.boolean(),
        fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 })),
        fc.integer({ min: 1, max: 8 }),
        async (left, right, sizeMs, slideSeed, offsetMs, tumbling, chunks, batchSize) => {
          // Sliding windows may overlap (slide < size) or leave gaps (slide > size).
          const slideMs = tumbling ? sizeMs : slideSeed;
          const got = await runJoin(left, right, chunks, batchSize, (l, r) =>
            windowJoin(l, r, tumbling ? { sizeMs, offsetMs } : { sizeMs, slideMs, offsetMs }, (a, b, w) => `${a.id}|${b.id}|${w.start}`),
          );
          expect(got).toEqual(windowReference(left, right, sizeMs, slideMs, offsetMs));
        },
      ),
      { numRuns: 120 },
    );
  });

  it('fires on the watermark, drops the window state after firing, and counts records too late for every window', () => {
    fc.assert(
      fc.property(scenarioArb, fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 20 }), (steps, sizeMs, slideMs) => {
        const windows = checkJoinWindows({ sizeMs, slideMs }, 'test');
        const h = drive(windowJoinOperator('wj', byKey, byKey, windows, (a: Rec, b: Rec, w) => `${a.id}|${b.id}|${w.start}`));
        const seen = arrivals(steps);
        for (const s of steps) {
          if ('batch' in s) h.send(s.batch);
          else {
            h.watermark(s.wm);
            // No window that the watermark has reached is still held.
            for (const [start] of h.snapshot().body.table) expect((start as number) + sizeMs - 1).toBeGreaterThan(s.wm);
          }
        }
        h.watermark(Number.POSITIVE_INFINITY);
        expect(h.snapshot().body.table).toEqual([]);
        expect(h.snapshot().body.timers).toEqual([]);
        // Reference: a record is in window s when it arrived before s fired.
        const starts = (t: number) => {
          const out: number[] = [];
          for (let j = Math.ceil((t - sizeMs + 1) / slideMs); j * slideMs <= t; j++) out.push(j * slideMs);
          return out;
        };
        const expected: string[] = [];
        let late = 0;
        for (const a of seen) {
          const open = starts(a.r.t).filter((s) => s + sizeMs - 1 > a.wm);
          if (starts(a.r.t).length > 0 && open.length === 0) late++;
          if (a.side !== 0) continue;
          for (const b of seen) {
            if (b.side !== 1 || b.r.k !== a.r.k) continue;
            for (const s of open) if (starts(b.r.t).includes(s) && s + sizeMs - 1 > b.wm) expected.push(`${a.r.id}|${b.r.id}|${s}@${s + sizeMs - 1}`);
          }
        }
        expect(h.out.map((o) => `${o.record}@${o.t}`).sort()).toEqual(expected.sort());
        expect(h.counts.late).toBe(late);
      }),
      { numRuns: 300 },
    );
  });

  it('restoring a snapshot mid-stream gives the same output as an uninterrupted run', () => {
    fc.assert(
      fc.property(scenarioArb, fc.nat(), (steps, cutSeed) => {
        const windows = checkJoinWindows({ sizeMs: 10, slideMs: 4 }, 'test');
        const make = (restored?: unknown) => drive(windowJoinOperator('wj', byKey, byKey, windows, (a: Rec, b: Rec, w) => `${a.id}|${b.id}|${w.start}`), { restored });
        const play = (h: ReturnType<typeof make>, from: number, to: number) => {
          for (const s of steps.slice(from, to)) {
            if ('batch' in s) h.send(s.batch);
            else h.watermark(s.wm);
          }
        };
        const whole = make();
        play(whole, 0, steps.length);
        whole.watermark(Number.POSITIVE_INFINITY);
        const cut = cutSeed % (steps.length + 1);
        const first = make();
        play(first, 0, cut);
        const second = make(first.snapshot());
        play(second, cut, steps.length);
        second.watermark(Number.POSITIVE_INFINITY);
        expect([...first.out, ...second.out]).toEqual(whole.out);
      }),
      { numRuns: 200 },
    );
  });

  it('fails with the step name when the join function throws', async () => {
    const p = pipeline('wj-fail');
    const l = p.source(listSource<Rec>([{ id: 'l', k: 'a', t: 1 }], { name: 'left' }), { timestamp: 't' }).keyBy('k');
    const r = p.source(listSource<Rec>([{ id: 'r', k: 'a', t: 2 }], { name: 'right' }), { timestamp: 't' }).keyBy('k');
    const err = await windowJoin(
      l,
      r,
      { sizeMs: 10 },
      (): string => {
        throw new Error('window broke');
      },
      { name: 'wj' },
    )
      .sink(collectSink([]))
      .run()
      .then(() => undefined, (e: unknown) => e);
    expect((err as WeirError).step).toBe('wj');
    expect((err as Error).message).toContain('window broke');
  });
});
