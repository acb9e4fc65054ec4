import type { Batch } from '../runtime/elements.js';
import { RecordError } from '../runtime/errors.js';
import type { Operator, OperatorContext, OperatorSpec, Output } from '../runtime/operator.js';
import { HeapTable } from '../state/heap-table.js';
import type { TableSnapshot } from '../state/keyed-state.js';
import { TimerQueue } from '../state/timer-queue.js';
import { checkKey } from './check-key.js';
import { pollDueGroup } from './due-timers.js';
import type { JoinEnvelope } from './join-envelope.js';
import { lastWindowStart, type JoinWindow, type ResolvedJoinWindows } from './join-window.js';
import { readSnapshot, writeSnapshot } from './versioned-snapshot.js';

/** The records of both sides of one key in one window, in arrival order. */
interface WindowBuffer {
  left: unknown[];
  right: unknown[];
}

interface WindowJoinSnapshotBody<K> {
  readonly table: TableSnapshot<K, number, WindowBuffer>;
  readonly timers: Array<[number, K, number]>;
  readonly watermark: number;
}

const SNAPSHOT_KIND = 'window-join';
const SNAPSHOT_VERSION = 1;

/**
 * The keyed operator of a window join, fed {@link JoinEnvelope}s by a union of both inputs.
 *
 * Each record is put in every window (of `windows`) that contains its event time, under its key;
 * the table's namespace is the window start. When the watermark reaches a window's end − 1, the
 * window fires: `fn(left, right, window)` for every pair of its left and right records (left
 * major, arrival order), each output with event time end − 1; then the window's state is
 * dropped. Windows that fire at one watermark fire in order of end, then key. Output of a batch
 * or watermark leaves as one batch, before the watermark.
 *
 * Lateness (as Flink's window operator): a record is not added to windows that already fired
 * (end − 1 ≤ watermark); one whose windows all fired is dropped and counted
 * (`countDropped(n, 'late')`). With `slideMs > sizeMs` a record between two windows belongs to none
 * and is ignored. A record without event time, a throwing key selector or `fn`
 * follow the step's error policy.
 *
 * Snapshot invariant: open windows, their timers and the watermark as of the last record handled.
 *
 * @example
 * ```ts
 * const spec = windowJoinOperator('clicks-views', (c: Click) => c.user, (v: View) => v.user,
 *   { sizeMs: 60_000, slideMs: 60_000, offsetMs: 0 }, (c, v, w) => ({ user: c.user, minute: w.start }));
 * ```
 */
export function windowJoinOperator<L, R, K, O>(
  name: string,
  leftKey: (record: L) => K,
  rightKey: (record: R) => K,
  windows: ResolvedJoinWindows,
  fn: (left: L, right: R, window: JoinWindow) => O,
): OperatorSpec<JoinEnvelope, O> {
  return {
    name,
    stateless: false,
    create: (ctx) => new WindowJoinOperator(name, leftKey, rightKey, windows, fn, ctx),
  };
}

class WindowJoinOperator<L, R, K, O> implements Operator<JoinEnvelope, O> {
  readonly #name: string;
  /** `step "<name>"`, built once: messages about a record must not cost a string per record. */
  readonly #what: string;
  readonly #leftKey: (record: L) => K;
  readonly #rightKey: (record: R) => K;
  readonly #windows: ResolvedJoinWindows;
  readonly #fn: (left: L, right: R, window: JoinWindow) => O;
  readonly #ctx: OperatorContext;
  readonly #table: HeapTable<K, number, WindowBuffer>;
  readonly #timers: TimerQueue<K, number>;
  #watermark: number;

  constructor(
    name: string,
    leftKey: (record: L) => K,
    rightKey: (record: R) => K,
    windows: ResolvedJoinWindows,
    fn: (left: L, right: R, window: JoinWindow) => O,
    ctx: OperatorContext,
  ) {
    this.#name = name;
    this.#what = `step "${name}"`;
    this.#leftKey = leftKey;
    this.#rightKey = rightKey;
    this.#windows = windows;
    this.#fn = fn;
    this.#ctx = ctx;
    const restored = readSnapshot<WindowJoinSnapshotBody<K>>(name, SNAPSHOT_KIND, SNAPSHOT_VERSION, ctx.restored);
    this.#table = new HeapTable(restored?.table);
    this.#timers = new TimerQueue(restored?.timers);
    this.#watermark = restored?.watermark ?? Number.NEGATIVE_INFINITY;
  }

  processBatch(batch: Batch<JoinEnvelope>, out: Output<O>): void {
    const envelopes = batch.records;
    const times = batch.timestamps;
    const { sizeMs, slideMs } = this.#windows;
    const wm = this.#watermark;
    let late = 0;
    for (let i = 0; i < envelopes.length; i++) {
      const { side, record } = envelopes[i];
      const t = times[i];
      if (Number.isNaN(t)) {
        this.#failed(record, t, new RecordError(this.#name, 'a window join needs event time; give the source a timestamp'), batch, out);
        continue;
      }
      let key: K;
      try {
        key = side === 0 ? this.#leftKey(record as L) : this.#rightKey(record as R);
        checkKey(key, this.#what);
      } catch (err) {
        this.#failed(record, t, err, batch, out);
        continue;
      }
      // A record in a gap between windows (slideMs > sizeMs) belongs to none: not late, just unused.
      let fits = false;
      let added = false;
      for (let start = lastWindowStart(t, this.#windows); start > t - sizeMs; start -= slideMs) {
        fits = true;
        const fireAt = start + sizeMs - 1;
        if (fireAt <= wm) continue; // this window already fired
        let buffer = this.#table.get(key, start);
        if (buffer === undefined) {
          buffer = { left: [], right: [] };
          this.#table.set(key, start, buffer);
          this.#timers.register(fireAt, key, start);
        }
        (side === 0 ? buffer.left : buffer.right).push(record);
        added = true;
      }
      if (fits && !added) late++;
    }
    if (late > 0) this.#ctx.countDropped(late, 'late');
  }

  onWatermark(time: number, out: Output<O>): void | Promise<void> {
    if (time > this.#watermark) this.#watermark = time;
    const wm = this.#watermark;
    const records: O[] = [];
    const stamps: number[] = [];
    for (let due = pollDueGroup(this.#timers, wm); due.length > 0; due = pollDueGroup(this.#timers, wm)) {
      for (const timer of due) this.#fire(timer.key, timer.ns, records, stamps, out);
    }
    if (records.length === 0) return out.watermark(time);
    const emitted = out.emit(records, stamps);
    if (emitted !== undefined) return emitted.then(() => out.watermark(time));
    return out.watermark(time);
  }

  #fire(key: K, start: number, records: O[], stamps: number[], out: Output<O>): void {
    const buffer = this.#table.get(key, start);
    if (buffer === undefined) return;
    this.#table.delete(key, start);
    const { left, right } = buffer;
    if (left.length === 0 || right.length === 0) return;
    const window: JoinWindow = { start, end: start + this.#windows.sizeMs };
    const stamp = window.end - 1;
    const fn = this.#fn;
    for (let i = 0; i < left.length; i++) {
      for (let j = 0; j < right.length; j++) {
        try {
          records.push(fn(left[i] as L, right[j] as R, window));
          stamps.push(stamp);
        } catch (err) {
          this.#ctx.recordFailed({ left: left[i], right: right[j] }, stamp, err, undefined, out as Output<unknown>);
        }
      }
    }
  }

  snapshot(): unknown {
    const body: WindowJoinSnapshotBody<K> = { table: this.#table.snapshot(), timers: this.#timers.snapshot(), watermark: this.#watermark };
    return writeSnapshot(SNAPSHOT_KIND, SNAPSHOT_VERSION, body);
  }

  #failed(record: unknown, t: number, err: unknown, batch: Batch<JoinEnvelope>, out: Output<O>): void {
    this.#ctx.recordFailed(record, t, err, batch.source, out as Output<unknown>);
  }
}
