import { describe, expect, it } from 'vitest';
import { count } from '../../src/aggregations/count.js';
import { sum } from '../../src/aggregations/sum.js';
import { pipeline } from '../../src/builder/pipeline.js';
import { ManualClock } from '../../src/runtime/clock.js';
import { ConfigError, WeirError } from '../../src/runtime/errors.js';
import type { Source } from '../../src/runtime/source.js';
import { collectSink } from '../../src/sinks/collect-sink.js';
import { triggers, windows } from '../../src/windows/index.js';
import { session } from '../../src/windows/session.js';
import { sliding } from '../../src/windows/sliding.js';
import { tumbling } from '../../src/windows/tumbling.js';
import type { Trigger } from '../../src/windows/trigger.js';
import type { WindowOperator } from '../../src/windows/window-operator.js';
import { listSource } from '../support/inline.js';
import { batchOf, context, drive, recorder, spec, type Element, type Ev, type OpOptions } from './support.js';

const ev = (t: number, k: number | string = 'a', v = 1): Ev => ({ k, t, v });
const tick = () => new Promise((resolve) => setImmediate(resolve));

async function runOp(options: OpOptions, elements: Element[]) {
  const { ctx, counts } = context();
  const op = spec({ aggregation: count(), ...options }).create(ctx) as WindowOperator<Ev>;
  const { out, got } = recorder();
  await drive(op, elements, out);
  return { got, counts, op };
}

describe('early firings by count', () => {
  it('tumbling: every n records of a (key, window), then the event-time firing', async () => {
    const { got, op } = await runOp({ assigner: tumbling(10), trigger: triggers.countEarly(2) }, [
      { kind: 'batch', records: [ev(1), ev(2), ev(3), ev(4, 'b'), ev(5), ev(6)] },
      { kind: 'watermark', time: 9 },
    ]);
    expect(got.rows).toEqual([
      { key: 'a', start: 0, end: 10, value: 2 },
      { key: 'a', start: 0, end: 10, value: 4 },
      { key: 'a', start: 0, end: 10, value: 5 },
      { key: 'b', start: 0, end: 10, value: 1 },
    ]);
    expect(op.stateSize()).toBe(0);
  });

  it('sliding: each window counts its own records', async () => {
    const { got, op } = await runOp({ assigner: sliding(10, 5), trigger: triggers.countEarly(2) }, [
      { kind: 'batch', records: [ev(6), ev(7), ev(11)] },
    ]);
    // [0,10) gets 6, 7 → early firing at 2; [5,15) gets 6, 7, 11 → early at 2; [10,20) gets 11.
    expect(got.rows).toEqual([
      { key: 'a', start: 0, end: 10, value: 2 },
      { key: 'a', start: 5, end: 15, value: 2 },
      { key: 'a', start: 0, end: 10, value: 2 },
      { key: 'a', start: 5, end: 15, value: 3 },
      { key: 'a', start: 10, end: 20, value: 1 },
    ]);
    expect(op.stateSize()).toBe(0);
  });

  it('sessions: the count follows merges (values add up)', async () => {
    const { got, op } = await runOp({ assigner: session(5), trigger: triggers.countEarly(3) }, [
      { kind: 'batch', records: [ev(0), ev(20), ev(10)] }, // 10 bridges nothing yet (gap 5): three sessions
      { kind: 'batch', records: [ev(5), ev(15)] }, // merges [0..20] into one session of 5 records
    ]);
    expect(got.rows[0]).toEqual({ key: 'a', start: 0, end: 15, value: 3 });
    expect(got.rows.at(-1)).toEqual({ key: 'a', start: 0, end: 25, value: 5 });
    expect(op.stateSize()).toBe(0);
  });
});

describe('early firings by processing time', () => {
  it('fires windows that received records at the next interval, then at event time (operator, manual clock)', async () => {
    const clock = new ManualClock(1000);
    const due: number[] = [];
    const { ctx } = context({ now: () => clock.now() });
    const timers: number[] = [];
    const op = spec({ assigner: tumbling(100), aggregation: count(), trigger: triggers.processingTimeEarly(50) }).create({
      ...ctx,
      registerProcessingTimer: (t) => {
        timers.push(t);
        clock.schedule(t, () => due.push(t));
      },
    }) as WindowOperator<Ev>;
    const { out, got } = recorder();
    await op.processBatch(batchOf([ev(1), ev(2), ev(150, 'b')]), out);
    expect(timers).toEqual([1050]);
    clock.advance(50);
    for (const t of due.splice(0)) await op.onProcessingTime!(t, out);
    expect(got.rows).toEqual([
      { key: 'a', start: 0, end: 100, value: 2 },
      { key: 'b', start: 100, end: 200, value: 1 },
    ]);
    // Nothing new: no early firing at 1100.
    clock.advance(50);
    expect(due).toEqual([]);
    await op.processBatch(batchOf([ev(3)]), out);
    clock.advance(60);
    for (const t of due.splice(0)) await op.onProcessingTime!(t, out);
    expect(got.rows.at(-1)).toEqual({ key: 'a', start: 0, end: 100, value: 3 });
    await op.onWatermark!(Infinity, out);
    await op.onEnd!(out);
    expect(got.rows.slice(3)).toEqual([
      { key: 'a', start: 0, end: 100, value: 3 },
      { key: 'b', start: 100, end: 200, value: 1 },
    ]);
    expect(op.stateSize()).toBe(0);
  });

  it('through a pipeline with a ManualClock passed to run()', async () => {
    const clock = new ManualClock(0);
    const gate: Array<() => void> = [];
    const chunks = [[ev(1), ev(2)], [ev(3)]];
    const source: Source<Ev> = {
      name: 'gated',
      bounded: true,
      replayable: false,
      open: () => {
        let i = 0;
        return {
          read: () => {
            if (i === 0) return { records: chunks[i++] };
            // Later chunks (and the end) wait until the test lets them through.
            return new Promise((resolve) => gate.push(() => resolve(i < chunks.length ? { records: chunks[i++] } : null)));
          },
          position: () => i,
        };
      },
    };
    const rows: Array<Record<string, any>> = [];
    const done = pipeline('early-pt')
      .source(source, { timestamp: 't' })
      .keyBy('k')
      .window(windows.tumbling(1000), { trigger: triggers.processingTimeEarly(100) })
      .aggregate({ n: count(), total: sum<Ev>('v') })
      .sink(collectSink(rows))
      .run({ clock });
    const until = async (cond: () => boolean) => {
      for (let i = 0; i < 10_000 && !cond(); i++) await tick();
      expect(cond()).toBe(true);
    };
    await until(() => clock.pending > 0 && gate.length > 0);
    clock.advance(100);
    await until(() => rows.length === 1);
    gate.shift()!();
    await until(() => clock.pending > 0 && gate.length > 0);
    clock.advance(100);
    await until(() => rows.length === 2);
    gate.shift()!();
    await done;
    expect(rows).toEqual([
      { key: 'a', start: 0, end: 1000, n: 2, total: 2 },
      { key: 'a', start: 0, end: 1000, n: 3, total: 3 },
      { key: 'a', start: 0, end: 1000, n: 3, total: 3 },
    ]);
  });
});

describe('global windows', () => {
  it('with triggers.count(n): fire and purge every n records per key; a remainder is not emitted', async () => {
    const { got, op } = await runOp({ assigner: windows.global(), trigger: triggers.count(3) }, [
      { kind: 'batch', records: [ev(5), ev(1), ev(9, 'b'), ev(7)] },
      { kind: 'watermark', time: 100 },
      { kind: 'batch', records: [ev(2), ev(3), ev(4), ev(8)] },
    ]);
    expect(got.rows).toEqual([
      { key: 'a', start: 1, end: 8, value: 3 },
      { key: 'a', start: 2, end: 5, value: 3 },
    ]);
    expect(got.times).toEqual([7, 4]);
    expect(op.stateSize()).toBe(0);
  });

  it('a custom trigger decides: fire on a marker record, purge, and emit what is left at the end', async () => {
    const onMarker: Trigger<Ev> = {
      name: 'on-marker',
      onElement: (record) => (record.v < 0 ? 'fire-and-purge' : 'continue'),
      onEventTime: () => 'fire',
    };
    const { got, op } = await runOp({ assigner: windows.global(), trigger: onMarker as Trigger, aggregation: sum<Ev>('v') }, [
      { kind: 'batch', records: [ev(1, 'a', 5), ev(2, 'a', 6), ev(3, 'a', -1), ev(4, 'a', 2)] },
    ]);
    expect(got.rows).toEqual([
      { key: 'a', start: 1, end: 4, value: 10 },
      { key: 'a', start: 4, end: 5, value: 2 },
    ]);
    expect(op.stateSize()).toBe(0);
  });
});

describe('custom triggers on time windows', () => {
  it('purge on a tumbling window drops its contents; onEventTime can veto the firing', async () => {
    const everySecond: Trigger = {
      name: 'every-second',
      onElement(_r, _t, ctx) {
        ctx.value++;
        return ctx.value % 2 === 0 ? 'fire-and-purge' : 'continue';
      },
      onEventTime: () => 'continue',
    };
    const { got, op } = await runOp({ assigner: tumbling(10), trigger: everySecond }, [
      { kind: 'batch', records: [ev(1), ev(2), ev(3), ev(4), ev(5)] },
    ]);
    expect(got.rows).toEqual([
      { key: 'a', start: 0, end: 10, value: 2 },
      { key: 'a', start: 0, end: 10, value: 2 },
    ]);
    expect(op.stateSize()).toBe(0);
  });

  it('a trigger returning something else fails the step, naming the trigger', async () => {
    const bad = { name: 'bad', onElement: () => 'yes' } as unknown as Trigger;
    await expect(runOp({ assigner: tumbling(10), trigger: bad }, [{ kind: 'batch', records: [ev(1)] }])).rejects.toThrow(
      /window "w": trigger "bad" onElement must return 'continue', 'fire', 'purge' or 'fire-and-purge', got "yes"/,
    );
  });

  it('purge is refused on sliding windows (panes are shared)', async () => {
    await expect(
      runOp({ assigner: sliding(10, 5), trigger: { name: 'p', onElement: () => 'purge' } }, [{ kind: 'batch', records: [ev(1)] }]),
    ).rejects.toThrow(/sliding windows share panes/);
  });
});

describe('trigger options are validated when the step is built', () => {
  const keyed = () => pipeline('v').source(listSource([ev(1)]), { timestamp: 't' }).keyBy('k');
  it('global() needs a trigger', () => {
    expect(() => keyed().window(windows.global())).toThrow(new ConfigError('.window(global): windows.global() never fires on its own; give a trigger, e.g. { trigger: triggers.count(100) }'));
  });
  it('count windows take no trigger and no lateness', () => {
    expect(() => keyed().window(windows.count(5), { trigger: triggers.countEarly(2) })).toThrow(/count windows fire by count/);
    expect(() => keyed().window(windows.count(5), { allowedLateness: 10 })).toThrow(/apply to event-time windows/);
  });
  it('a trigger must look like one', () => {
    expect(() => keyed().window(windows.tumbling(10), { trigger: { onElement: 5 } as unknown as Trigger })).toThrow(/trigger must be a trigger/);
    expect(() => triggers.countEarly(0)).toThrow(/triggers.countEarly: n must be a positive integer, got 0/);
  });
  it('the triggers namespace exposes the four built-ins', () => {
    expect(Object.keys(triggers).sort()).toEqual(['count', 'countEarly', 'eventTime', 'processingTimeEarly']);
    expect(triggers.eventTime().name).toBe('eventTime');
  });
  it('errors are WeirErrors with a stable code', () => {
    try {
      keyed().window(windows.global());
    } catch (err) {
      expect(err).toBeInstanceOf(WeirError);
      expect((err as WeirError).code).toBe('WEIR_CONFIG');
    }
  });
});
