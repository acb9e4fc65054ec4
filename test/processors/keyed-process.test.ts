import { serialize, deserialize } from 'node:v8';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { processKeyed } from '../../src/builder/keyed-process.js';
import { pipeline } from '../../src/builder/pipeline.js';
import { ManualClock } from '../../src/runtime/clock.js';
import { batch as makeBatch } from '../../src/runtime/elements.js';
import { asStepError, deadLetter, type DeadLetter } from '../../src/runtime/error-policy.js';
import { NO_CHECKPOINTS } from '../../src/runtime/stage-context.js';
import { AbortedError, ConfigError, WeirError } from '../../src/runtime/errors.js';
import { JobRun } from '../../src/runtime/job-runner.js';
import type { Operator, OperatorContext, OperatorSpec, Output } from '../../src/runtime/operator.js';
import type { Sink } from '../../src/runtime/sink.js';
import type { Source } from '../../src/runtime/source.js';
import { boundedOutOfOrderness } from '../../src/runtime/watermark-strategy.js';
import { collectSink } from '../../src/sinks/collect-sink.js';
import {
  keyedProcessOperator,
  toKeyedProcessFunction,
  type KeyedProcessContext,
  type KeyedProcessFunction,
} from '../../src/processors/keyed-process.js';
import { listSource, recording, recordingSink } from '../support/inline.js';

interface Ev {
  user: string;
  n: number;
  t: number;
}

const tick = () => new Promise((r) => setImmediate(r));

/** Yield to the event loop until `cond` holds (bounded; no timers, no sleeps). */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await tick();
  expect(cond()).toBe(true);
}

/** What an operator driven by {@link drive} produced, in order. */
type Emitted = { kind: 'out'; record: unknown; t: number } | { kind: 'side'; tag: string; record: unknown; t: number } | { kind: 'wm'; t: number };

/**
 * Drive an operator by hand, outside any stream: batches, watermarks, a manual clock. The error
 * policy is 'fail' unless `skip` is set. Processing-time timers go through the manual clock.
 */
function drive<I, O>(spec: OperatorSpec<I, O>, options: { clock?: ManualClock; restored?: unknown; skip?: boolean } = {}) {
  const clock = options.clock ?? new ManualClock(0);
  const log: Emitted[] = [];
  const counts = { skipped: 0, late: 0 };
  const out: Output<O> = {
    emit(records, times) {
      records.forEach((record, i) => log.push({ kind: 'out', record, t: times[i] }));
    },
    watermark(t) {
      log.push({ kind: 'wm', t });
    },
    side(tag, records, times) {
      records.forEach((record, i) => log.push({ kind: 'side', tag, record, t: times[i] }));
    },
  };
  let op: Operator<I, O> | undefined;
  const ctx: OperatorContext = {
    job: 'test',
    name: spec.name,
    signal: new AbortController().signal,
    now: () => clock.now(),
    restored: options.restored,
    recordFailed(_record, _t, cause) {
      if (options.skip !== true) throw asStepError(spec.name, cause);
      counts.skipped++;
    },
    registerProcessingTimer(t) {
      clock.schedule(t, () => void op!.onProcessingTime?.(t, out));
    },
    countDropped(n, reason) {
      if (reason === 'late') counts.late += n;
      else counts.skipped += n;
    },
  };
  op = spec.create(ctx);
  const live = op;
  return {
    op: live,
    clock,
    log,
    counts,
    outputs: () => log.filter((e) => e.kind === 'out').map((e) => (e as { record: unknown }).record),
    batch: (records: I[], times: number[]) => live.processBatch(makeBatch(records, times), out),
    watermark: (t: number) => (live.onWatermark === undefined ? out.watermark(t) : live.onWatermark(t, out)),
    snapshot: () => deserialize(serialize(live.snapshot?.(1))) as unknown,
  };
}

/** Number of (key, state) entries in a keyed-process snapshot. */
function stateEntries(snapshot: unknown): number {
  const body = (snapshot as { body: { state: { table: Array<[string, unknown[]]> } } }).body;
  return body.state.table.reduce((n, [, entries]) => n + entries.length, 0);
}

function timersIn(snapshot: unknown): { event: number; processing: number } {
  const body = (snapshot as { body: { eventTimers: unknown[]; processingTimers: unknown[] } }).body;
  return { event: body.eventTimers.length, processing: body.processingTimers.length };
}

function spec<T, O>(fn: Parameters<typeof toKeyedProcessFunction<T, string, O>>[0], key: (r: T) => string, tags: string[] = []): OperatorSpec<T, O> {
  return keyedProcessOperator<T, string, O>('proc', key, toKeyedProcessFunction(fn, 'process'), tags);
}

/** An unbounded source the test feeds by hand; `close()` ends the input. */
function controlledSource<T>(name = 'ctl') {
  const queue: T[][] = [];
  let closed = false;
  let wake: (() => void) | undefined;
  const next = () => (queue.length > 0 ? { records: queue.shift()! } : closed ? null : { records: [] as T[] });
  const source: Source<T> = {
    name,
    bounded: false,
    replayable: false,
    open: () => ({
      read() {
        if (queue.length > 0 || closed) return next();
        return new Promise((resolve) => {
          wake = () => {
            wake = undefined;
            resolve(next());
          };
        });
      },
      position: () => null,
    }),
  };
  return {
    source,
    push(records: T[]) {
      queue.push(records);
      wake?.();
    },
    close() {
      closed = true;
      wake?.();
    },
  };
}

const events = (spec: Array<[string, number]>): Ev[] => spec.map(([user, t], n) => ({ user, n, t }));

describe('keyed process: pipeline', () => {
  it('counts per key with value state and keeps event time', async () => {
    const data = events([['a', 1], ['b', 2], ['a', 3], ['a', 4], ['b', 5], ['c', 6]]);
    const rec = recording<string>();
    const p = pipeline('kp-count');
    const keyed = p.source(listSource(data, { chunk: 2 }), { timestamp: 't' }).keyBy('user');
    const result = await processKeyed<Ev, string, string>(keyed, (e, ctx) => {
      const count = ctx.state.value<number>('count');
      const n = (count.get() ?? 0) + 1;
      count.set(n);
      ctx.emit(`${ctx.key}:${n}`);
    }, { name: 'counter' })
      .sink(recordingSink(rec))
      .run();
    expect(rec.records).toEqual(['a:1', 'b:1', 'a:2', 'a:3', 'b:2', 'c:1']);
    expect(rec.timestamps).toEqual([1, 2, 3, 4, 5, 6]);
    expect(rec.ends).toBe(1);
    expect(result.steps.counter.recordsIn).toBe(6);
    expect(result.steps.counter.recordsOut).toBe(6);
  });

  it('emits nothing on empty input and still ends the sink', async () => {
    const rec = recording<string>();
    const p = pipeline('kp-empty');
    await processKeyed<Ev, string, string>(p.source(listSource<Ev>([]), { timestamp: 't' }).keyBy('user'), {
      processElement: (e, ctx) => ctx.emit(e.user),
      onTimer: (_t, ctx) => ctx.emit('timer'),
    })
      .sink(recordingSink(rec))
      .run();
    expect(rec.records).toEqual([]);
    expect(rec.ends).toBe(1);
  });

  it('fails the job with the step name when the function throws, and closes the sink', async () => {
    const rec = recording<string>();
    const p = pipeline('kp-fail');
    const err = await processKeyed<Ev, string, string>(p.source(listSource(events([['a', 1], ['b', 2]]))).keyBy('user'), (e) => {
      if (e.user === 'b') throw new Error('bad user b');
    }, { name: 'picky' })
      .sink(recordingSink(rec))
      .run()
      .then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(WeirError);
    expect((err as WeirError).step).toBe('picky');
    expect((err as WeirError).code).toBe('WEIR_USER_FUNCTION');
    expect((err as Error).message).toContain('bad user b');
    await tick();
    expect(rec.closes).toBe(1);
    expect(rec.ends).toBe(0);
  });

  it('a slow sink pauses the source instead of buffering output', async () => {
    const src = { read: 0, closed: 0 };
    const endless: Source<Ev> = {
      name: 'endless',
      bounded: false,
      replayable: true,
      open: () => ({
        read(max) {
          const records = Array.from({ length: max }, (_, i) => ({ user: `u${(src.read + i) % 7}`, n: src.read + i, t: 0 }));
          src.read += max;
          return { records };
        },
        position: () => src.read,
        close: () => void src.closed++,
      }),
    };
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
    const job = processKeyed<Ev, string, string>(pipeline('kp-slow').source(endless).keyBy('user'), (e, ctx) => ctx.emit(e.user))
      .sink(gated)
      .start({ batchSize, bufferBatches });
    for (let i = 0; i < 50; i++) await tick();
    // Source, process stage (in + out buffers), sink (one in flight + buffer): a few batches per edge.
    const bound = batchSize * (1 + bufferBatches * 4 + 2);
    expect(gate.writes).toBe(1);
    expect(src.read).toBeLessThanOrEqual(bound);
    for (let round = 0; round < 10; round++) {
      gate.release.shift()?.();
      for (let i = 0; i < 5; i++) await tick();
    }
    expect(gate.writes).toBeGreaterThan(5);
    expect(src.read - gate.writes * batchSize).toBeLessThanOrEqual(bound);
    job.abort();
    await expect(job.done).rejects.toBeInstanceOf(AbortedError);
    await tick();
    expect(src.closed).toBe(1);
  });

  it('names the step when an onTimer or key selector throws', async () => {
    const p = pipeline('kp-fail-timer');
    const err = await processKeyed<Ev, string, string>(p.source(listSource(events([['a', 1]])), { timestamp: 't' }).keyBy('user'), {
      processElement: (_e, ctx) => ctx.timers.registerEventTime(ctx.timestamp + 10),
      onTimer: () => {
        throw new Error('timer broke');
      },
    }, { name: 'ticking' })
      .sink(recordingSink(recording()))
      .run()
      .then(() => undefined, (e: unknown) => e);
    expect((err as WeirError).step).toBe('ticking');
    expect((err as Error).message).toContain('timer broke');

    const q = pipeline('kp-fail-key');
    const keyErr = await processKeyed<Ev, string, string>(
      q.source(listSource(events([['a', 1]]))).keyBy(() => {
        throw new Error('no key');
      }),
      (e, ctx) => ctx.emit(e.user),
      { name: 'keyless' },
    )
      .sink(recordingSink(recording()))
      .run()
      .then(() => undefined, (e: unknown) => e);
    expect((keyErr as WeirError).step).toBe('keyless');
    expect((keyErr as Error).message).toContain('no key');
  });

  it("skips failing records under 'skip' and discards what they emitted", async () => {
    const out: string[] = [];
    const p = pipeline('kp-skip');
    const result = await processKeyed<Ev, string, string>(p.source(listSource(events([['a', 1], ['b', 2], ['a', 3]]))).keyBy('user'), (e, ctx) => {
      ctx.emit(`before ${e.n}`);
      if (e.user === 'b') throw new Error('no b');
    }, { name: 'skipper', onError: 'skip' })
      .sink(collectSink(out))
      .run();
    expect(out).toEqual(['before 0', 'before 2']);
    expect(result.steps.skipper.skipped).toBe(1);
  });

  it('routes failing records to a dead-letter sink', async () => {
    const out: string[] = [];
    const dead: DeadLetter[] = [];
    const p = pipeline('kp-dead');
    await processKeyed<Ev, string, string>(p.source(listSource(events([['a', 1], ['b', 2], ['a', 3]]))).keyBy('user'), (e, ctx) => {
      if (e.user === 'b') throw new Error('no b');
      ctx.emit(e.user);
    }, { name: 'dl', onError: deadLetter(collectSink(dead)) })
      .sink(collectSink(out))
      .run();
    expect(out).toEqual(['a', 'a']);
    expect(dead).toHaveLength(1);
    expect(dead[0].record).toEqual({ user: 'b', n: 1, t: 2 });
    expect(dead[0].error.step).toBe('dl');
    expect(dead[0].error.message).toContain('no b');
  });

  it('keeps list and map state per key', async () => {
    const data = events([['a', 1], ['b', 2], ['a', 3], ['b', 4], ['a', 5]]);
    const out: string[] = [];
    const p = pipeline('kp-list-map');
    await processKeyed<Ev, string, string>(p.source(listSource(data)).keyBy('user'), (e, ctx) => {
      const seen = ctx.state.list<number>('seen');
      seen.add(e.n);
      const parity = ctx.state.map<string, number>('parity');
      const side = e.n % 2 === 0 ? 'even' : 'odd';
      parity.set(side, (parity.get(side) ?? 0) + 1);
      ctx.emit(`${ctx.key} [${seen.get().join(',')}] ${JSON.stringify(Object.fromEntries(parity.entries()))}`);
    })
      .sink(collectSink(out))
      .run();
    expect(out).toEqual([
      'a [0] {"even":1}',
      'b [1] {"odd":1}',
      'a [0,2] {"even":2}',
      'b [1,3] {"odd":2}',
      'a [0,2,4] {"even":3}',
    ]);
  });

  it('fires event-time timers in time order before the watermark, and all of them at end of input', async () => {
    const data = events([['a', 10], ['b', 12], ['a', 30], ['b', 31], ['c', 100]]);
    const seen: Array<string | number> = [];
    const sink: Sink<string> = {
      name: 'ordered',
      open: () => ({
        write: (b) => void seen.push(...b.records),
        onWatermark: (t) => void seen.push(t),
      }),
    };
    const p = pipeline('kp-event-timers');
    await processKeyed<Ev, string, string>(p.source(listSource(data, { chunk: 1 }), { timestamp: 't', watermark: boundedOutOfOrderness(0) }).keyBy('user'), {
      processElement(_e, ctx) {
        ctx.timers.registerEventTime(ctx.timestamp + 5);
      },
      onTimer(t, ctx) {
        expect(ctx.timeDomain).toBe('event-time');
        expect(ctx.timestamp).toBe(t);
        ctx.emit(`${ctx.key}@${t}`);
      },
    })
      .sink(sink)
      .run();
    // Watermark = max t - 1 after each record. Timer at 15 fires once the watermark reaches 29
    // (after a@30), both 17 and 35/36 wait for later watermarks, 105 fires only at end of input.
    const timers = seen.filter((x) => typeof x === 'string');
    expect(timers).toEqual(['a@15', 'b@17', 'a@35', 'b@36', 'c@105']);
    for (const fired of timers) {
      const t = Number((fired as string).split('@')[1]);
      const idx = seen.indexOf(fired);
      // Every watermark before the timer's output is below its time; the one right after is ≥ it.
      expect(seen.slice(0, idx).every((x) => typeof x !== 'number' || x < t)).toBe(true);
      const nextWm = seen.slice(idx).find((x) => typeof x === 'number');
      if (nextWm !== undefined) expect(nextWm).toBeGreaterThanOrEqual(t);
    }
  });

  it('sends records to declared side outputs and rejects undeclared tags', async () => {
    const main: string[] = [];
    const odd: number[] = [];
    const p = pipeline('kp-side');
    await processKeyed<Ev, string, string>(p.source(listSource(events([['a', 1], ['b', 2], ['a', 3]]))).keyBy('user'), (e, ctx) => {
      if (e.n % 2 === 1) ctx.side('odd', e.n);
      else ctx.emit(e.user);
    }, { name: 'splitter', sideOutputs: { odd: collectSink(odd) } })
      .sink(collectSink(main))
      .run();
    expect(main).toEqual(['a', 'a']);
    expect(odd).toEqual([1]);

    const q = pipeline('kp-side-undeclared');
    const err = await processKeyed<Ev, string, string>(q.source(listSource(events([['a', 1]]))).keyBy('user'), (e, ctx) => ctx.side('typo', e), {
      name: 'sloppy',
      onError: 'skip',
      sideOutputs: { late: collectSink([]) },
    })
      .sink(collectSink([]))
      .run()
      .then(() => undefined, (e: unknown) => e);
    // A configuration mistake fails the job even under 'skip'.
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as WeirError).step).toBe('sloppy');
    expect((err as Error).message).toMatch(/side output "typo" is not declared.*"late"/);
  });

  it('validates the function and options at build time', () => {
    const keyed = () => pipeline('kp-build').source(listSource<Ev>([])).keyBy('user');
    expect(() => processKeyed(keyed(), 42 as never)).toThrow(ConfigError);
    expect(() => processKeyed(keyed(), { onTimer: () => undefined } as never)).toThrow(/processElement/);
    expect(() => processKeyed(keyed(), { processElement: () => undefined, onTimer: 1 } as never)).toThrow(/onTimer must be a function/);
    expect(() => processKeyed(keyed(), () => undefined, { sideOutputs: { x: {} as never } })).toThrow(/sideOutputs.x must be a sink/);
    expect(() => processKeyed(keyed(), () => undefined, { sideOutputs: { 'dead-letter': collectSink([]) } })).toThrow(/reserved/);
    expect(() => processKeyed(keyed(), () => undefined, { onError: 'explode' as never })).toThrow(/onError/);
  });

  it('refuses an async processElement', async () => {
    const p = pipeline('kp-async');
    const err = await processKeyed<Ev, string, string>(p.source(listSource(events([['a', 1]]))).keyBy('user'), async () => undefined, {
      name: 'async',
      onError: 'skip',
    })
      .sink(collectSink([]))
      .run()
      .then(() => undefined, (e: unknown) => e);
    expect((err as Error).message).toMatch(/returned a promise/);
  });
});

describe('keyed process: processing time (manual clock, running job)', () => {
  it('fires processing-time timers when the clock advances', async () => {
    const clock = new ManualClock(1_000);
    const ctl = controlledSource<Ev>();
    const out: string[] = [];
    const p = pipeline('kp-proc-timers');
    const done = processKeyed<Ev, string, string>(p.source(ctl.source).keyBy('user'), {
      processElement(e, ctx) {
        ctx.timers.registerProcessingTime(ctx.now() + 100);
        if (e.n === 2) ctx.timers.deleteProcessingTime(ctx.now() + 100);
        ctx.emit(`seen ${e.user}`);
      },
      onTimer(t, ctx) {
        expect(ctx.timeDomain).toBe('processing-time');
        ctx.emit(`timer ${ctx.key}@${t} now=${ctx.now()}`);
      },
    })
      .sink(collectSink(out))
      .run({ clock });
    ctl.push(events([['a', 0], ['b', 0]]));
    await until(() => out.length === 2);
    clock.advance(50);
    ctl.push([{ user: 'c', n: 2, t: 0 }]); // registers a timer for 1150, then deletes it
    await until(() => out.length === 3);
    clock.advance(49);
    for (let i = 0; i < 10; i++) await tick();
    expect(out).toEqual(['seen a', 'seen b', 'seen c']);
    clock.advance(1);
    await until(() => out.length === 5);
    expect(out.slice(3)).toEqual(['timer a@1100 now=1100', 'timer b@1100 now=1100']);
    clock.advance(100);
    for (let i = 0; i < 10; i++) await tick();
    expect(out).toHaveLength(5);
    ctl.close();
    await done;
  });

  it('expires state after its TTL of processing time (ManualClock via run options)', async () => {
    const clock = new ManualClock(0);
    const ctl = controlledSource<Ev>();
    const out: string[] = [];
    const p = pipeline('kp-ttl-run');
    const done = processKeyed<Ev, string, string>(p.source(ctl.source).keyBy('user'), (e, ctx) => {
      const last = ctx.state.value<number>('last', { ttlMs: 1_000 });
      ctx.emit(`${e.user}${e.n}: ${last.get() ?? 'none'}`);
      last.set(e.n);
    })
      .sink(collectSink(out))
      .run({ clock });
    ctl.push([{ user: 'a', n: 1, t: 0 }]);
    await until(() => out.length === 1);
    clock.advance(500);
    ctl.push([{ user: 'a', n: 2, t: 0 }]);
    await until(() => out.length === 2);
    clock.advance(999); // 1499: written at 500, still alive
    ctl.push([{ user: 'a', n: 3, t: 0 }]);
    await until(() => out.length === 3);
    clock.advance(1_000); // 2499: written at 1499, expired
    ctl.push([{ user: 'a', n: 4, t: 0 }]);
    await until(() => out.length === 4);
    ctl.close();
    await done;
    expect(out).toEqual(['a1: none', 'a2: 1', 'a3: 2', 'a4: none']);
  });
});

describe('keyed process: state and timers (driven by hand)', () => {
  it('TTL: values, list elements and map entries expire, on access and by the periodic cleanup', () => {
    const clock = new ManualClock(0);
    const reads: string[] = [];
    const h = drive(
      spec<{ k: string; op: string }, never>((r, ctx) => {
        const v = ctx.state.value<string>('v', { ttlMs: 100 });
        const l = ctx.state.list<number>('l', { ttlMs: 100 });
        const m = ctx.state.map<string, number>('m', { ttlMs: 100 });
        if (r.op === 'write') {
          v.set('x');
          l.add(ctx.now());
          m.set(`at${ctx.now()}`, ctx.now());
        } else {
          reads.push(`${String(v.get())} [${l.get().join(',')}] [${[...m.keys()].join(',')}] ${m.size} ${String(m.has('at0'))}`);
        }
      }, (r) => r.k),
      { clock },
    );
    h.batch([{ k: 'a', op: 'write' }], [0]);
    clock.set(60);
    h.batch([{ k: 'a', op: 'write' }, { k: 'b', op: 'write' }], [0, 0]);
    clock.set(99);
    h.batch([{ k: 'a', op: 'read' }], [0]);
    clock.set(100); // the first write of a expires (the cleanup runs at 100 too)
    h.batch([{ k: 'a', op: 'read' }], [0]);
    expect(reads).toEqual(['x [0,60] [at0,at60] 2 true', 'x [60] [at60] 1 false']);
    expect(stateEntries(h.snapshot())).toBe(6);
    // Nobody reads any more: the periodic cleanup alone must empty the state.
    clock.set(1_000);
    expect(stateEntries(h.snapshot())).toBe(0);
    expect(timersIn(h.snapshot())).toEqual({ event: 0, processing: 0 });
    expect(clock.pending).toBe(0);
  });

  it('state declared with another kind or TTL under the same name fails the job', () => {
    const h = drive(
      spec<string, never>((r, ctx) => {
        ctx.state.value('s');
        if (r === 'again') ctx.state.list('s');
      }, (r) => r),
      { skip: true },
    );
    h.batch(['once'], [0]);
    expect(() => h.batch(['again'], [0])).toThrow(/state "s" is declared as a value state without TTL and again as a list state/);
  });

  it('state used outside a key (in open) is an error naming the step', () => {
    expect(() =>
      drive(
        spec<string, never>({
          processElement: () => undefined,
          open: (ctx) => void ctx.state.value('x').get(),
        }, (r) => r),
      ),
    ).toThrow(/step "proc": keyed state can only be read or written/);
  });

  it('rejects keys that are objects, through the error policy', () => {
    const h = drive(spec<{ k: unknown }, never>(() => undefined, (r) => r.k as string), { skip: true });
    h.batch([{ k: { id: 1 } }, { k: 'fine' }], [0, 0]);
    expect(h.counts.skipped).toBe(1);
  });

  it('event-time timers: dedupe, delete, order by time then key, output before the watermark', () => {
    const h = drive(
      spec<{ k: string; at: number; del?: boolean }, string>({
        processElement(r, ctx) {
          if (r.del === true) ctx.timers.deleteEventTime(r.at);
          else ctx.timers.registerEventTime(r.at);
        },
        onTimer(t, ctx) {
          ctx.emit(`${ctx.key}@${t} wm=${ctx.currentWatermark}`);
        },
      }, (r) => r.k),
    );
    h.batch(
      [
        { k: 'b', at: 20 },
        { k: 'a', at: 20 },
        { k: 'a', at: 20 },
        { k: 'c', at: 5 },
        { k: 'c', at: 30 },
        { k: 'c', at: 30, del: true },
      ],
      [0, 0, 0, 0, 0, 0],
    );
    h.watermark(4);
    h.watermark(20);
    h.watermark(50);
    expect(h.log).toEqual([
      { kind: 'wm', t: 4 },
      { kind: 'out', record: 'c@5 wm=20', t: 5 },
      { kind: 'out', record: 'a@20 wm=20', t: 20 },
      { kind: 'out', record: 'b@20 wm=20', t: 20 },
      { kind: 'wm', t: 20 },
      { kind: 'wm', t: 50 },
    ]);
  });

  it('at end of input a timer that keeps re-registering itself stops after the last pending one', () => {
    const h = drive(
      spec<string, string>({
        processElement: (_r, ctx) => ctx.timers.registerEventTime(ctx.timestamp + 10),
        onTimer: (t, ctx) => {
          ctx.emit(`${t}`);
          ctx.timers.registerEventTime(t + 10); // a periodic timer
        },
      }, (r) => r),
    );
    h.batch(['a', 'b'], [0, 25]);
    h.watermark(Number.POSITIVE_INFINITY);
    // a: 10, 20, 30 (≤ 35, the last timer pending when input ended); b: 35.
    expect(h.outputs()).toEqual(['10', '20', '30', '35']);
  });

  it('processing-time timers: one runtime timer per time, emitted without event time by default', () => {
    const clock = new ManualClock(0);
    const h = drive(
      spec<string, string>({
        processElement: (_r, ctx) => ctx.timers.registerProcessingTime(100),
        onTimer: (t, ctx) => {
          ctx.emit(`${ctx.key}@${t}`);
          ctx.side('audit', ctx.key, 7);
        },
      }, (r) => r, ['audit']),
      { clock },
    );
    h.batch(['a', 'b', 'a'], [1, 2, 3]);
    expect(clock.pending).toBe(1);
    clock.set(100);
    expect(h.log).toEqual([
      { kind: 'side', tag: 'audit', record: 'a', t: 7 },
      { kind: 'side', tag: 'audit', record: 'b', t: 7 },
      { kind: 'out', record: 'a@100', t: Number.NaN },
      { kind: 'out', record: 'b@100', t: Number.NaN },
    ]);
  });

  it('state is empty at the end when the function clears it on its timers', () => {
    const h = drive(
      spec<string, number>({
        processElement(_r, ctx) {
          const n = ctx.state.value<number>('n');
          n.set((n.get() ?? 0) + 1);
          ctx.state.list<number>('times').add(ctx.timestamp);
          ctx.state.map<number, boolean>('m').set(ctx.timestamp, true);
          ctx.timers.registerEventTime(ctx.timestamp + 100);
        },
        onTimer(_t, ctx) {
          const n = ctx.state.value<number>('n');
          if (n.get() !== undefined) ctx.emit(n.get()!);
          n.clear();
          ctx.state.list<number>('times').update([]);
          const m = ctx.state.map<number, boolean>('m');
          for (const k of [...m.keys()]) m.delete(k);
        },
      }, (r) => r),
    );
    h.batch(['a', 'b', 'a'], [1, 2, 3]);
    expect(stateEntries(h.snapshot())).toBe(6); // 2 keys × 3 states
    h.watermark(Number.POSITIVE_INFINITY);
    expect(h.outputs()).toEqual([2, 1]);
    expect(stateEntries(h.snapshot())).toBe(0);
    expect(timersIn(h.snapshot())).toEqual({ event: 0, processing: 0 });
  });

  it('a snapshot of another operator is refused with the step name', () => {
    expect(() => drive(spec<string, never>(() => undefined, (r) => r), { restored: { kind: 'window', version: 1, body: {} } })).toThrow(
      /step "proc": restored state is not a keyed-process snapshot/,
    );
  });
});

/** A process function using every kind of state and both kinds of timers, for restore tests. */
function sessionFn(): KeyedProcessFunction<Ev, string, string> {
  return {
    processElement(e, ctx) {
      const count = ctx.state.value<number>('count');
      count.set((count.get() ?? 0) + 1);
      const recent = ctx.state.list<number>('recent', { ttlMs: 250 });
      recent.add(e.n);
      const byParity = ctx.state.map<string, number>('parity');
      byParity.set(e.n % 2 === 0 ? 'even' : 'odd', e.n);
      ctx.timers.registerEventTime(ctx.timestamp + 20);
      ctx.timers.registerProcessingTime(ctx.now() + 300);
      ctx.emit(`${e.user}#${e.n} count=${count.get()} recent=${recent.get().join(',')}`);
    },
    onTimer(t, ctx) {
      const parity = [...ctx.state.map<string, number>('parity').entries()].map(([k, v]) => `${k}${v}`).join(',');
      ctx.emit(`${ctx.timeDomain} ${ctx.key}@${t} count=${ctx.state.value<number>('count').get()} ${parity}`);
      if (ctx.timeDomain === 'event-time') ctx.state.map<string, number>('parity').delete('odd');
    },
  };
}

describe('keyed process: snapshot and restore', () => {
  it('restoring mid-stream gives the same output as an uninterrupted run (random input and cut)', async () => {
    const eventArb = fc.record({ user: fc.constantFrom('a', 'b', 'c'), dt: fc.integer({ min: 0, max: 15 }), lag: fc.integer({ min: 0, max: 10 }) });
    await fc.assert(
      fc.asyncProperty(fc.array(eventArb, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 5 }), fc.nat(), async (raw, batchSize, cutSeed) => {
        let clockT = 0;
        const input = raw.map((r, n) => ({ user: r.user, n, t: (clockT += r.dt) - r.lag }));
        const batches: Array<{ records: Ev[]; clock: number; wm: number }> = [];
        let max = Number.NEGATIVE_INFINITY;
        for (let i = 0; i < input.length; i += batchSize) {
          const records = input.slice(i, i + batchSize);
          for (const r of records) max = Math.max(max, r.t);
          batches.push({ records, clock: i * 37, wm: max - 11 });
        }
        const cut = cutSeed % (batches.length + 1);
        const feed = async (h: ReturnType<typeof drive<Ev, string>>, from: number, to: number) => {
          for (let b = from; b < to; b++) {
            h.clock.set(batches[b].clock);
            await h.batch(batches[b].records, batches[b].records.map((r) => r.t));
            await h.watermark(batches[b].wm);
          }
        };
        const make = (clock: ManualClock, restored?: unknown) =>
          drive(keyedProcessOperator<Ev, string, string>('session', (e) => e.user, sessionFn(), []), { clock, restored });

        const whole = make(new ManualClock(0));
        await feed(whole, 0, batches.length);
        whole.clock.set(batches.length * 37 + 1_000);
        await whole.watermark(Number.POSITIVE_INFINITY);

        const first = make(new ManualClock(0));
        await feed(first, 0, cut);
        const snap = first.snapshot();
        const clock = new ManualClock(first.clock.now());
        const second = make(clock, snap);
        await Promise.resolve(); // restored processing-time timers are registered in a microtask
        await feed(second, cut, batches.length);
        second.clock.set(batches.length * 37 + 1_000);
        await second.watermark(Number.POSITIVE_INFINITY);

        const strip = (log: Emitted[]) => log.filter((e) => e.kind !== 'wm');
        expect([...strip(first.log), ...strip(second.log)]).toEqual(strip(whole.log));
      }),
      { numRuns: 150 },
    );
  });

  it('a checkpoint taken by the runtime restores a job to the same output (v8-serialized)', async () => {
    const data = events(
      Array.from({ length: 60 }, (_, i): [string, number] => [['a', 'b', 'c', 'd'][(i * 7) % 4], i * 5 - (i % 3) * 4]),
    );
    const build = (source: Source<Ev>, sink: Sink<string>) => {
      const p = pipeline('kp-restore');
      processKeyed(p.source(source, { timestamp: 't', watermark: boundedOutOfOrderness(10) }).keyBy('user'), sessionFn(), { name: 'session' }).sink(
        sink,
        { name: 'out' },
      );
      return p;
    };
    /** A replayable source that asks for a barrier when it reaches `cutAt`. */
    const cuttingSource = (cutAt: number, inject: () => void): Source<Ev> => ({
      name: 'events',
      bounded: true,
      replayable: true,
      open(ctx) {
        let i = (ctx.restored as number | undefined) ?? 0;
        return {
          read() {
            if (i >= data.length) return null;
            if (i === cutAt) inject();
            const chunk = data.slice(i, i + 4);
            i += chunk.length;
            return { records: chunk };
          },
          position: () => i,
        };
      },
    });
    /** A transactional sink that remembers how much output came before each barrier. */
    const sinkInto = (into: { out: string[]; atBarrier: number[] }): Sink<string> => ({
      name: 'out',
      open: () => ({
        write: (b) => void into.out.push(...b.records),
        preCommit: () => into.atBarrier.push(into.out.length),
        commit: () => undefined,
        abort: () => undefined,
      }),
    });
    const settings = (clock: ManualClock) => ({ batchSize: 4, bufferBatches: 2, clock });

    const whole = { out: [] as string[], atBarrier: [] as number[] };
    await new JobRun(build(cuttingSource(-1, () => undefined), sinkInto(whole)).graph, settings(new ManualClock(0))).done;

    const saved = new Map<string, unknown>();
    const first = { out: [] as string[], atBarrier: [] as number[] };
    let run1: JobRun | undefined;
    run1 = new JobRun(build(cuttingSource(24, () => run1!.sources[0].injectBarrier(1)), sinkInto(first)).graph, {
      ...settings(new ManualClock(0)),
      checkpoints: { ...NO_CHECKPOINTS, acknowledge: (step: string, _id: number, snap: unknown) => void saved.set(step, deserialize(serialize(snap))) },
    });
    await run1.done;
    expect([...saved.keys()].sort()).toEqual(['events', 'out', 'session']);

    const second = { out: [] as string[], atBarrier: [] as number[] };
    await new JobRun(build(cuttingSource(-1, () => undefined), sinkInto(second)).graph, { ...settings(new ManualClock(0)), restored: saved }).done;

    expect(first.out).toEqual(whole.out);
    // The cut is really mid-stream: output on both sides of it, and state carried across.
    expect(first.atBarrier[0]).toBeGreaterThan(0);
    expect(second.out.length).toBeGreaterThan(0);
    expect(stateEntries(saved.get('session'))).toBeGreaterThan(0);
    expect([...first.out.slice(0, first.atBarrier[0]), ...second.out]).toEqual(whole.out);
  });
});

describe('keyed process: context', () => {
  it('passes one reusable context with key, timestamp and watermark', () => {
    const contexts = new Set<KeyedProcessContext<string, string>>();
    const h = drive(
      spec<string, string>((r, ctx) => {
        contexts.add(ctx);
        ctx.emit(`${ctx.key} t=${ctx.timestamp} wm=${ctx.currentWatermark} domain=${String(ctx.timeDomain)}`, ctx.timestamp + 1);
      }, (r) => r),
    );
    h.batch(['a'], [5]);
    h.watermark(7);
    h.batch(['b'], [9]);
    expect(contexts.size).toBe(1);
    expect(h.log).toEqual([
      { kind: 'out', record: 'a t=5 wm=-Infinity domain=undefined', t: 6 },
      { kind: 'wm', t: 7 },
      { kind: 'out', record: 'b t=9 wm=7 domain=undefined', t: 10 },
    ]);
  });
});
