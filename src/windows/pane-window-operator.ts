import type { Aggregation } from '../aggregations/aggregation.js';
import { CheckpointError, ConfigError } from '../runtime/errors.js';
import type { Batch } from '../runtime/elements.js';
import type { OperatorContext, Output } from '../runtime/operator.js';
import { HeapTable } from '../state/heap-table.js';
import type { TableSnapshot } from '../state/keyed-state.js';
import { TimerQueue } from '../state/timer-queue.js';
import { alignDown, gcd } from './align.js';
import { LateRecords } from './late-records.js';
import { type Pane, PaneTable, type Slot } from './pane-table.js';
import { missingTimestamp } from './missing-timestamp.js';
import { ProcessingTimers } from './processing-timers.js';
import type { SlidingWindows } from './sliding.js';
import type { Trigger, TriggerAction } from './trigger.js';
import { isPlainEventTime } from './trigger.js';
import { TriggerScope, checkAction } from './trigger-scope.js';
import type { TumblingWindows } from './tumbling.js';
import type { WindowFunction } from './window-function.js';
import type { WindowOperator, WindowParts } from './window-operator.js';

/** Where a pane stands against the watermark (same for every record of the pane in a batch). */
const OPEN = 0;
/** Some window of the pane already fired but is within allowed lateness: a record re-fires it. */
const REFIRE = 1;
/** Every window of the pane is closed: its records are late. */
const LATE = 2;

/** Cleanup timer kinds: drop a pane's accumulators, or a window's trigger values. */
const PANE = 0;
const WINDOW = 1;

/** What a pane window operator checkpoints. */
export interface PaneWindowSnapshot {
  readonly assigner: 'tumbling' | 'sliding';
  readonly sizeMs: number;
  readonly slideMs: number;
  readonly offsetMs: number;
  readonly watermark: number;
  /** (state key, pane start) → accumulator. */
  readonly panes: TableSnapshot<unknown, number, unknown>;
  /** (JSON key, pane start) → the object key as given, for rows. */
  readonly objectKeys: TableSnapshot<unknown, number, unknown>;
  /** (state key, window start) → trigger value. */
  readonly values: TableSnapshot<unknown, number, number>;
  /** Event-time firings: (end − 1, 0, window start). */
  readonly fire: Array<[number, number, number]>;
  /** Cleanups: (time, PANE | WINDOW, pane or window start). */
  readonly cleanup: Array<[number, number, number]>;
  readonly processing: Array<[number, unknown, number]>;
}

/**
 * Tumbling and sliding windows over *panes*: the time axis is cut into panes of
 * `gcd(sizeMs, slideMs)` (the window size for tumbling windows), each record is folded into the
 * accumulator of its (key, pane) only, and a window's result merges its `sizeMs / paneMs` panes
 * when it fires. Accumulators live in a {@link PaneTable} (pane start → key → accumulator), trigger
 * values and object keys in {@link HeapTable}s keyed by (key, pane or window start); per-window event
 * timers (window end − 1) and per-pane cleanup timers (the last window's end − 1 + allowed
 * lateness) live in {@link TimerQueue}s.
 *
 * Hot path (default trigger): per record one range check against the cached pane, one key
 * selector call, one Map lookup and the aggregation's `add`; the pane, its lateness state and its
 * timers are looked up once per pane change, not per record. The last two panes are cached, since
 * out-of-order records near a pane boundary alternate between two panes.
 *
 * @example
 * ```ts
 * // Built by the window step, not directly:
 * const spec = windowOperator('w', {
 *   assigner: windows.sliding(10_000, 2_000), key: (e: { user: string }) => e.user, fn: aggregateFunction(agg.count(), 'w'),
 *   trigger: triggers.eventTime(), allowedLatenessMs: 0, lateOutput: false,
 * });
 * const op = spec.create(ctx) as WindowOperator<{ user: string }>;
 * ```
 */
export class PaneWindowOperator<T> implements WindowOperator<T> {
  readonly #name: string;
  readonly #ctx: OperatorContext;
  readonly #keyOf: (record: T) => unknown;
  readonly #fn: WindowFunction<T>;
  readonly #agg: Aggregation<T, unknown, unknown>;
  readonly #trigger: Trigger;
  /** No trigger hook: skip every trigger call. */
  readonly #plain: boolean;
  readonly #lateSide: boolean;
  readonly #lateness: number;
  readonly #size: number;
  readonly #slide: number;
  readonly #offset: number;
  readonly #pane: number;
  readonly #tumbling: boolean;
  readonly #kind: 'tumbling' | 'sliding';

  readonly #panes: PaneTable;
  readonly #objectKeys: HeapTable<unknown, number, unknown>;
  readonly #values: HeapTable<unknown, number, number>;
  readonly #fire: TimerQueue<number, number>;
  readonly #cleanup: TimerQueue<number, number>;
  readonly #processing: ProcessingTimers;
  /** Panes whose timers are registered (their namespace may be empty after a purge). */
  readonly #livePanes = new Set<number>();
  #hasObjectKeys: boolean;
  #watermark = Number.NEGATIVE_INFINITY;

  // The pane of the previous record, and the one before (swapped in when a record goes back to
  // it); valid until the watermark moves. `#cPane` is undefined for a LATE pane.
  #cStart = Number.NaN;
  #cEnd = Number.NaN;
  #cPane: Pane | undefined;
  #cState = OPEN;
  #oStart = Number.NaN;
  #oEnd = Number.NaN;
  #oPane: Pane | undefined;
  #oState = OPEN;

  /**
   * Sliding windows: per state key a merge slot (each pane keeps the slots of its keys, parallel
   * to its keys), so a firing walks its panes without one lookup per (pane, key). Derived from
   * the panes: not state, rebuilt on restore.
   */
  readonly #slots = new Map<unknown, Slot>();
  /** Slots no live pane refers to; swept once they clearly outnumber the live ones. */
  #deadSlots = 0;
  /** Slots touched by the current firing. */
  readonly #touched: Slot[] = [];
  #stamp = 0;

  /** (window start → state keys) to re-fire at the end of the batch (late but allowed records). */
  #refire: Map<number, Set<unknown>> | undefined;
  readonly #late = new LateRecords();
  readonly #scope: TriggerScope;

  constructor(parts: WindowParts<T>, assigner: TumblingWindows | SlidingWindows, restored: PaneWindowSnapshot | undefined) {
    this.#name = parts.name;
    this.#ctx = parts.ctx;
    const config = parts.config;
    this.#keyOf = config.key;
    this.#fn = config.fn;
    this.#agg = parts.aggregation;
    this.#trigger = config.trigger;
    this.#plain = isPlainEventTime(config.trigger);
    this.#lateSide = config.lateOutput;
    this.#lateness = config.allowedLatenessMs;
    this.#size = assigner.sizeMs;
    this.#slide = assigner.kind === 'sliding' ? assigner.slideMs : assigner.sizeMs;
    this.#offset = assigner.offsetMs;
    this.#pane = gcd(this.#size, this.#slide);
    this.#tumbling = this.#pane === this.#size;
    this.#kind = assigner.kind;
    if (restored !== undefined && (restored.sizeMs !== this.#size || restored.slideMs !== this.#slide || restored.offsetMs !== this.#offset)) {
      throw new CheckpointError(
        `window "${this.#name}": the checkpoint was taken with size ${restored.sizeMs} / slide ${restored.slideMs} / offset ${restored.offsetMs} ms, ` +
          `the job now has ${this.#size} / ${this.#slide} / ${this.#offset} ms`,
        { step: this.#name },
      );
    }
    this.#panes = new PaneTable(!this.#tumbling, restored?.panes);
    this.#objectKeys = new HeapTable(restored?.objectKeys);
    this.#hasObjectKeys = this.#objectKeys.size > 0;
    this.#values = new HeapTable(restored?.values);
    this.#fire = new TimerQueue(restored?.fire);
    this.#cleanup = new TimerQueue(restored?.cleanup);
    this.#processing = new ProcessingTimers(this.#ctx, restored?.processing);
    if (restored !== undefined) {
      this.#watermark = restored.watermark;
      for (const [, kind, ns] of restored.cleanup) if (kind === PANE) this.#livePanes.add(ns);
      if (!this.#tumbling) {
        for (const p of this.#panes.starts()) {
          const pane = this.#panes.get(p)!;
          for (const key of pane.keys) pane.slots!.push(this.#slotOf(key));
        }
      }
    }
    this.#scope = new TriggerScope(
      () => this.#ctx.now(),
      (time, key, ns) => this.#processing.register(time, key, ns),
    );
  }

  stateSize(): number {
    return (
      this.#panes.size + this.#objectKeys.size + this.#values.size + this.#fire.size + this.#cleanup.size + this.#processing.size
    );
  }

  processBatch(batch: Batch<T>, out: Output<unknown>): void | Promise<void> {
    const records = batch.records;
    const times = batch.timestamps;
    const n = records.length;
    const agg = this.#agg;
    const keyOf = this.#keyOf;
    const plain = this.#plain;
    let paneStart = this.#cStart;
    let paneEnd = this.#cEnd;
    let pane = this.#cPane!;
    let state = this.#cState;
    let rows: unknown[] | undefined;
    let rowTimes: number[] | undefined;
    // Errors of the key selector and the aggregation follow the error policy per record; errors
    // of the trigger or of a window function fired by it fail the step.
    let inTrigger = false;
    let i = 0;
    for (;;) {
      try {
        for (; i < n; i++) {
          const t = times[i];
          // NaN fails both comparisons and ±Infinity lies in no pane, so both reach #switchPane.
          if (!(t >= paneStart && t < paneEnd)) {
            this.#switchPane(t);
            paneStart = this.#cStart;
            paneEnd = this.#cEnd;
            pane = this.#cPane!;
            state = this.#cState;
          }
          const record = records[i];
          if (state === LATE) {
            this.#late.add(record, t);
            continue;
          }
          let key = keyOf(record);
          if (typeof key === 'object' && key !== null) key = this.#objectKey(key, paneStart);
          const at = pane.index.get(key);
          if (at === undefined) {
            // add before append: a throwing add leaves no entry behind.
            pane.append(key, agg.add(agg.create(), record));
            if (pane.slots !== undefined) pane.slots.push(this.#slotOf(key));
          } else {
            pane.accs[at] = agg.add(pane.accs[at], record);
          }
          if (state === REFIRE) this.#markRefire(paneStart, key);
          if (!plain) {
            rows ??= [];
            rowTimes ??= [];
            inTrigger = true;
            this.#elementTrigger(record, t, key, paneStart, rows, rowTimes);
            inTrigger = false;
          }
        }
        break;
      } catch (err) {
        if (inTrigger || times[i] !== times[i]) throw err;
        this.#ctx.recordFailed(records[i], times[i], err, batch.source, out);
        i++;
      }
    }
    this.#late.flush(out, this.#ctx, this.#lateSide);
    if (this.#refire !== undefined) {
      rows ??= [];
      rowTimes ??= [];
      this.#flushRefires(rows, rowTimes);
    }
    if (rows !== undefined && rows.length > 0) return out.emit(rows, rowTimes!);
  }

  /** Point the pane cache at the pane of `t`: its accumulators, its state against the watermark, its timers. */
  #switchPane(t: number): void {
    if (t >= this.#oStart && t < this.#oEnd) {
      // Back to the pane before: swap the two cache entries.
      const start = this.#cStart;
      const end = this.#cEnd;
      const pane = this.#cPane;
      const state = this.#cState;
      this.#cStart = this.#oStart;
      this.#cEnd = this.#oEnd;
      this.#cPane = this.#oPane;
      this.#cState = this.#oState;
      this.#oStart = start;
      this.#oEnd = end;
      this.#oPane = pane;
      this.#oState = state;
      return;
    }
    if (t - t !== 0) throw missingTimestamp(this.#name, t);
    this.#oStart = this.#cStart;
    this.#oEnd = this.#cEnd;
    this.#oPane = this.#cPane;
    this.#oState = this.#cState;
    const size = this.#size;
    const p = alignDown(t, this.#pane, this.#offset);
    const last = alignDown(p, this.#slide, this.#offset);
    const first = this.#firstWindow(p, last);
    const wm = this.#watermark;
    this.#cStart = p;
    this.#cEnd = p + this.#pane;
    if (last + size - 1 + this.#lateness <= wm) {
      this.#cState = LATE;
      this.#cPane = undefined;
      return;
    }
    this.#cState = first + size - 1 <= wm ? REFIRE : OPEN;
    this.#cPane = this.#panes.space(p);
    if (!this.#livePanes.has(p)) {
      this.#livePanes.add(p);
      for (let s = first; s <= last; s += this.#slide) if (s + size - 1 > wm) this.#fire.register(s + size - 1, 0, s);
      this.#cleanup.register(last + size - 1 + this.#lateness, PANE, p);
    }
  }

  /** Forget the cached panes (the watermark moved, so their states may have changed). */
  #resetPaneCache(): void {
    this.#cStart = Number.NaN;
    this.#cEnd = Number.NaN;
    this.#cPane = undefined;
    this.#oStart = Number.NaN;
    this.#oEnd = Number.NaN;
    this.#oPane = undefined;
  }

  /** The merge slot of a state key, counting one more pane that refers to it. */
  #slotOf(key: unknown): Slot {
    let slot = this.#slots.get(key);
    if (slot === undefined) {
      slot = { key, stamp: 0, acc: undefined, owned: false, panes: 0 };
      this.#slots.set(key, slot);
    } else if (slot.panes === 0) {
      this.#deadSlots--;
    }
    slot.panes++;
    return slot;
  }

  /** A sliding pane is dropped: its keys' slots lose a reference. */
  #releaseSlots(p: number): void {
    const slots = this.#panes.get(p)?.slots;
    if (slots === undefined) return;
    for (const slot of slots) if (--slot.panes === 0) this.#deadSlots++;
    // Deleting a slot as soon as it dies would make the Map churn (cold keys come and go), which
    // slows every lookup; sweep in bulk instead.
    if (this.#deadSlots > 4 * (this.#slots.size - this.#deadSlots) + 4096) {
      for (const [key, slot] of this.#slots) if (slot.panes === 0) this.#slots.delete(key);
      this.#deadSlots = 0;
    }
  }

  /** Start of the earliest window holding pane `p`, given the latest one's start `last`. */
  #firstWindow(p: number, last: number): number {
    // Windows holding the pane start at last, last − slide, … while start > p − size.
    const count = Math.ceil((last - p + this.#size) / this.#slide);
    return last - (count - 1) * this.#slide;
  }

  /** The state key of an object key; remembers the object (per pane) for output rows. */
  #objectKey(key: unknown, pane: number): string {
    const json = JSON.stringify(key);
    if (this.#objectKeys.get(json, pane) === undefined) {
      this.#objectKeys.set(json, pane, key);
      this.#hasObjectKeys = true;
    }
    return json;
  }

  /** The key as the selector returned it, for rows of window `[s, s + size)`. */
  #rowKey(key: unknown, s: number): unknown {
    if (!this.#hasObjectKeys || typeof key !== 'string') return key;
    for (let p = s; p < s + this.#size; p += this.#pane) {
      const original = this.#objectKeys.get(key, p);
      if (original !== undefined) return original;
    }
    return key;
  }

  #markRefire(p: number, key: unknown): void {
    const size = this.#size;
    const wm = this.#watermark;
    const last = alignDown(p, this.#slide, this.#offset);
    for (let s = this.#firstWindow(p, last); s <= last; s += this.#slide) {
      const fireAt = s + size - 1;
      if (fireAt > wm || fireAt + this.#lateness <= wm) continue;
      this.#refire ??= new Map();
      let keys = this.#refire.get(s);
      if (keys === undefined) this.#refire.set(s, (keys = new Set()));
      keys.add(key);
    }
  }

  #flushRefires(rows: unknown[], rowTimes: number[]): void {
    const refire = this.#refire!;
    this.#refire = undefined;
    const starts = [...refire.keys()].sort((a, b) => a - b);
    for (const s of starts) for (const key of refire.get(s)!) this.#emitKey(key, s, rows, rowTimes);
  }

  /** Ask the trigger about a record for each window of its pane that has not fired yet. */
  #elementTrigger(record: T, t: number, key: unknown, p: number, rows: unknown[], rowTimes: number[]): void {
    const onElement = this.#trigger.onElement;
    if (onElement === undefined) return;
    const size = this.#size;
    const wm = this.#watermark;
    const last = alignDown(p, this.#slide, this.#offset);
    for (let s = this.#firstWindow(p, last); s <= last; s += this.#slide) {
      if (s + size - 1 <= wm) continue;
      const action = this.#withScope(key, s, () => onElement.call(this.#trigger, record, t, this.#scope), 'onElement');
      this.#act(action, key, s, rows, rowTimes);
    }
  }

  /** Run a trigger hook for (key, window s) and store the value it left. */
  #withScope(key: unknown, s: number, hook: () => unknown, hookName: string): TriggerAction {
    const stored = this.#values.get(key, s);
    const before = stored ?? 0;
    const scope = this.#scope;
    scope.set(this.#rowKey(key, s), key, s, s + this.#size, s, this.#watermark, before);
    const action = checkAction(hook(), this.#trigger, hookName, this.#name);
    const after = scope.value;
    if (after !== before) {
      if (after === 0) {
        this.#values.delete(key, s);
      } else {
        this.#values.set(key, s, after);
        if (stored === undefined) this.#cleanup.register(s + this.#size - 1 + this.#lateness, WINDOW, s);
      }
    }
    return action;
  }

  #act(action: TriggerAction, key: unknown, s: number, rows: unknown[], rowTimes: number[]): void {
    if (action === 'continue') return;
    if (action === 'fire' || action === 'fire-and-purge') this.#emitKey(key, s, rows, rowTimes);
    if (action === 'purge' || action === 'fire-and-purge') {
      if (!this.#tumbling) {
        throw new ConfigError(
          `window "${this.#name}": trigger "${this.#trigger.name}" returned '${action}', but sliding windows share panes between windows, so their contents cannot be purged`,
          { step: this.#name },
        );
      }
      // Tumbling: the pane is the window. The pane object stays (the cache may hold it).
      this.#panes.get(s)?.delete(key);
      this.#values.delete(key, s);
    }
  }

  /** The merged contents of (key, window s), or `NOTHING` when the key has no record there. */
  #windowAcc(key: unknown, s: number): unknown {
    const agg = this.#agg;
    let acc: unknown = NOTHING;
    for (let p = s; p < s + this.#size; p += this.#pane) {
      if (!this.#livePanes.has(p)) continue;
      const pane = this.#panes.get(p);
      const at = pane?.index.get(key);
      if (at === undefined) continue;
      const paneAcc = pane!.accs[at];
      if (this.#tumbling) return paneAcc;
      // Merge into a fresh accumulator: merge may mutate its first argument, and pane
      // accumulators are shared with later windows.
      acc = agg.merge(acc === NOTHING ? agg.create() : acc, paneAcc);
    }
    return acc;
  }

  #emitKey(key: unknown, s: number, rows: unknown[], rowTimes: number[]): void {
    const acc = this.#windowAcc(key, s);
    if (acc === NOTHING) return;
    const end = s + this.#size;
    this.#fn.emit(this.#rowKey(key, s), s, end, acc, end - 1, rows, rowTimes);
  }

  onWatermark(time: number, out: Output<unknown>): void | Promise<void> {
    // After a restore the stage's watermark starts over: never move the operator's backwards.
    if (time <= this.#watermark) return out.watermark(time);
    this.#watermark = time;
    this.#resetPaneCache();
    const rows: unknown[] = [];
    const rowTimes: number[] = [];
    for (let timer = this.#fire.pollDue(time); timer !== undefined; timer = this.#fire.pollDue(time)) {
      this.#fireWindow(timer.ns, rows, rowTimes);
    }
    // After the firings: a pane is dropped only once its last window fired (and lateness passed).
    for (let timer = this.#cleanup.pollDue(time); timer !== undefined; timer = this.#cleanup.pollDue(time)) {
      if (timer.key === PANE) {
        if (!this.#tumbling) this.#releaseSlots(timer.ns);
        this.#panes.drop(timer.ns);
        this.#objectKeys.dropNamespace(timer.ns);
        this.#livePanes.delete(timer.ns);
      } else {
        this.#values.dropNamespace(timer.ns);
      }
    }
    if (rows.length === 0) return out.watermark(time);
    const emitted = out.emit(rows, rowTimes);
    if (emitted !== undefined) return emitted.then(() => out.watermark(time));
    return out.watermark(time);
  }

  /** The watermark reached `end − 1` of window `s`: emit each key's result (or ask the trigger). */
  #fireWindow(s: number, rows: unknown[], rowTimes: number[]): void {
    const onEventTime = this.#trigger.onEventTime;
    if (onEventTime !== undefined) {
      for (const key of this.#windowKeys(s)) {
        const action = this.#withScope(key, s, () => onEventTime.call(this.#trigger, this.#scope), 'onEventTime');
        this.#act(action, key, s, rows, rowTimes);
      }
      return;
    }
    const end = s + this.#size;
    const fn = this.#fn;
    if (this.#tumbling) {
      const pane = this.#livePanes.has(s) ? this.#panes.get(s) : undefined;
      if (pane === undefined) return;
      const { keys, accs } = pane;
      const objectKeys = this.#hasObjectKeys;
      for (let i = 0; i < keys.length; i++) {
        if (pane.isHole(i)) continue;
        fn.emit(objectKeys ? this.#rowKey(keys[i], s) : keys[i], s, end, accs[i], end - 1, rows, rowTimes);
      }
      return;
    }
    // Sliding: merge each key's panes in time order. A key found in one pane only uses that
    // pane's accumulator as it is (result() does not change it); a second pane makes a fresh
    // accumulator, so shared pane accumulators are never mutated.
    const agg = this.#agg;
    const touched = this.#touched;
    const stamp = ++this.#stamp;
    for (let p = s; p < end; p += this.#pane) {
      const pane = this.#livePanes.has(p) ? this.#panes.get(p) : undefined;
      if (pane === undefined) continue;
      const slots = pane.slots!;
      const accs = pane.accs;
      for (let i = 0; i < accs.length; i++) {
        const slot = slots[i];
        if (slot.stamp !== stamp) {
          slot.stamp = stamp;
          slot.acc = accs[i];
          slot.owned = false;
          touched.push(slot);
        } else {
          if (!slot.owned) {
            slot.acc = agg.merge(agg.create(), slot.acc);
            slot.owned = true;
          }
          slot.acc = agg.merge(slot.acc, accs[i]);
        }
      }
    }
    const objectKeys = this.#hasObjectKeys;
    for (let j = 0; j < touched.length; j++) {
      const slot = touched[j];
      fn.emit(objectKeys ? this.#rowKey(slot.key, s) : slot.key, s, end, slot.acc, end - 1, rows, rowTimes);
      // Do not keep accumulators of dropped panes alive through the slots.
      slot.acc = undefined;
    }
    touched.length = 0;
  }

  /** Every state key with a record in window `s`. */
  #windowKeys(s: number): Set<unknown> {
    const keys = new Set<unknown>();
    for (let p = s; p < s + this.#size; p += this.#pane) {
      const pane = this.#livePanes.has(p) ? this.#panes.get(p) : undefined;
      if (pane === undefined) continue;
      for (let i = 0; i < pane.keys.length; i++) if (!pane.isHole(i)) keys.add(pane.keys[i]);
    }
    return keys;
  }

  onProcessingTime(timeMs: number, out: Output<unknown>): void | Promise<void> {
    const onProcessingTime = this.#trigger.onProcessingTime;
    const due = this.#processing.due(timeMs);
    if (onProcessingTime === undefined) return;
    const rows: unknown[] = [];
    const rowTimes: number[] = [];
    for (const timer of due) {
      const s = timer.ns;
      // A window closed since the timer was set has no state left to fire.
      if (s + this.#size - 1 + this.#lateness <= this.#watermark) continue;
      if (this.#windowAcc(timer.key, s) === NOTHING) continue;
      const action = this.#withScope(timer.key, s, () => onProcessingTime.call(this.#trigger, timer.time, this.#scope), 'onProcessingTime');
      this.#act(action, timer.key, s, rows, rowTimes);
    }
    if (rows.length > 0) return out.emit(rows, rowTimes);
  }

  snapshot(): PaneWindowSnapshot {
    // A deep copy: accumulators change in place after this returns, before the checkpoint is written.
    return structuredClone({
      assigner: this.#kind,
      sizeMs: this.#size,
      slideMs: this.#slide,
      offsetMs: this.#offset,
      watermark: this.#watermark,
      panes: this.#panes.snapshot(),
      objectKeys: this.#objectKeys.snapshot(),
      values: this.#values.snapshot(),
      fire: this.#fire.snapshot(),
      cleanup: this.#cleanup.snapshot(),
      processing: this.#processing.snapshot(),
    });
  }

  onEnd(): void {
    // The final watermark (+∞) fired and dropped every window; timers of early firings may remain.
    this.#processing.clear();
    this.#slots.clear();
    this.#deadSlots = 0;
  }
}

/** Marks "no accumulator" (an accumulator itself may be `undefined`, e.g. an empty min). */
const NOTHING: unique symbol = Symbol('nothing');
