import type { Aggregation } from '../aggregations/aggregation.js';
import type { Batch } from '../runtime/elements.js';
import type { OperatorContext, Output } from '../runtime/operator.js';
import { HeapTable } from '../state/heap-table.js';
import type { TableSnapshot } from '../state/keyed-state.js';
import { ProcessingTimers } from './processing-timers.js';
import type { Trigger, TriggerAction } from './trigger.js';
import { TriggerScope, checkAction } from './trigger-scope.js';
import type { WindowFunction } from './window-function.js';
import { stateKey } from './window-key.js';
import type { WindowOperator, WindowParts } from './window-operator.js';

/** The global window of one key: its contents since the last purge. */
export interface GlobalKeyState {
  readonly key: unknown;
  acc: unknown;
  /** False while nothing was added since creation or the last purge. */
  has: boolean;
  minT: number;
  maxT: number;
  /** The trigger's value. */
  value: number;
}

/** What a global window operator checkpoints. */
export interface GlobalWindowSnapshot {
  readonly assigner: 'global';
  readonly keys: TableSnapshot<unknown, number, GlobalKeyState>;
  readonly processing: Array<[number, unknown, number]>;
}

/**
 * Global windows: one window per key that only its trigger fires. The trigger is asked per record
 * (`onElement`), on its processing timers, and once at end of input (`onEventTime`, the watermark
 * reached +∞); then every key's state is dropped. A key whose window was purged and whose trigger
 * value is 0 holds no state.
 *
 * @example
 * ```ts
 * // Built by the window step, not directly:
 * const spec = windowOperator('w', {
 *   assigner: windows.global(), key: (e: { user: string }) => e.user, fn: aggregateFunction(agg.count(), 'w'),
 *   trigger: triggers.count(10), allowedLatenessMs: 0, lateOutput: false,
 * });
 * const op = spec.create(ctx) as WindowOperator<{ user: string }>;
 * ```
 */
export class GlobalWindowOperator<T> implements WindowOperator<T> {
  readonly #name: string;
  readonly #ctx: OperatorContext;
  readonly #keyOf: (record: T) => unknown;
  readonly #fn: WindowFunction<T>;
  readonly #agg: Aggregation<T, unknown, unknown>;
  readonly #trigger: Trigger;
  readonly #table: HeapTable<unknown, number, GlobalKeyState>;
  readonly #processing: ProcessingTimers;
  readonly #scope: TriggerScope;
  #watermark = Number.NEGATIVE_INFINITY;

  constructor(parts: WindowParts<T>, restored: GlobalWindowSnapshot | undefined) {
    this.#name = parts.name;
    this.#ctx = parts.ctx;
    this.#keyOf = parts.config.key;
    this.#fn = parts.config.fn;
    this.#agg = parts.aggregation;
    this.#trigger = parts.config.trigger;
    this.#table = new HeapTable(restored?.keys);
    this.#processing = new ProcessingTimers(this.#ctx, restored?.processing);
    this.#scope = new TriggerScope(
      () => this.#ctx.now(),
      (time, key, ns) => this.#processing.register(time, key, ns),
    );
  }

  stateSize(): number {
    return this.#table.size + this.#processing.size;
  }

  processBatch(batch: Batch<T>, out: Output<unknown>): void | Promise<void> {
    const records = batch.records;
    const times = batch.timestamps;
    const n = records.length;
    const agg = this.#agg;
    const onElement = this.#trigger.onElement;
    const rows: unknown[] = [];
    const rowTimes: number[] = [];
    let inTrigger = false;
    let i = 0;
    for (;;) {
      try {
        for (; i < n; i++) {
          const record = records[i];
          const t = times[i];
          const key = this.#keyOf(record);
          const sk = typeof key === 'object' && key !== null ? stateKey(key) : key;
          let st = this.#table.get(sk, 0);
          if (st === undefined) {
            st = { key, acc: agg.create(), has: false, minT: t, maxT: t, value: 0 };
            this.#table.set(sk, 0, st);
          }
          st.acc = agg.add(st.acc, record);
          if (!st.has) {
            st.has = true;
            st.minT = t;
            st.maxT = t;
          } else {
            if (t < st.minT) st.minT = t;
            if (t > st.maxT) st.maxT = t;
          }
          if (onElement === undefined) continue;
          inTrigger = true;
          this.#scope.set(st.key, sk, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, 0, this.#watermark, st.value);
          const action = checkAction(onElement.call(this.#trigger, record, t, this.#scope), this.#trigger, 'onElement', this.#name);
          st.value = this.#scope.value;
          this.#act(action, sk, st, rows, rowTimes);
          inTrigger = false;
        }
        break;
      } catch (err) {
        if (inTrigger) throw err;
        this.#ctx.recordFailed(records[i], times[i], err, batch.source, out);
        i++;
      }
    }
    if (rows.length > 0) return out.emit(rows, rowTimes);
  }

  #act(action: TriggerAction, sk: unknown, st: GlobalKeyState, rows: unknown[], rowTimes: number[]): void {
    if (action === 'continue') return;
    if ((action === 'fire' || action === 'fire-and-purge') && st.has) this.#fn.emit(st.key, st.minT, st.maxT + 1, st.acc, st.maxT, rows, rowTimes);
    if (action === 'purge' || action === 'fire-and-purge') {
      st.acc = this.#agg.create();
      st.has = false;
      // Nothing left to remember: the key holds no state until its next record.
      if (st.value === 0) this.#table.delete(sk, 0);
    }
  }

  onWatermark(time: number, out: Output<unknown>): void | Promise<void> {
    // After a restore the stage's watermark starts over: never move the operator's backwards.
    if (time <= this.#watermark) return out.watermark(time);
    this.#watermark = time;
    if (time !== Number.POSITIVE_INFINITY) return out.watermark(time);
    // End of input: the global window's end (+∞) is reached.
    const rows: unknown[] = [];
    const rowTimes: number[] = [];
    const onEventTime = this.#trigger.onEventTime;
    for (const [sk, st] of [...this.#table.entries(0)]) {
      if (onEventTime === undefined) {
        this.#act('fire', sk, st, rows, rowTimes);
        continue;
      }
      this.#scope.set(st.key, sk, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, 0, time, st.value);
      const action = checkAction(onEventTime.call(this.#trigger, this.#scope), this.#trigger, 'onEventTime', this.#name);
      this.#act(action, sk, st, rows, rowTimes);
    }
    this.#table.dropNamespace(0);
    this.#processing.clear();
    if (rows.length === 0) return out.watermark(time);
    const emitted = out.emit(rows, rowTimes);
    if (emitted !== undefined) return emitted.then(() => out.watermark(time));
    return out.watermark(time);
  }

  onProcessingTime(timeMs: number, out: Output<unknown>): void | Promise<void> {
    const due = this.#processing.due(timeMs);
    const onProcessingTime = this.#trigger.onProcessingTime;
    if (onProcessingTime === undefined) return;
    const rows: unknown[] = [];
    const rowTimes: number[] = [];
    for (const timer of due) {
      const st = this.#table.get(timer.key, 0);
      if (st === undefined) continue;
      this.#scope.set(st.key, timer.key, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, 0, this.#watermark, st.value);
      const action = checkAction(onProcessingTime.call(this.#trigger, timer.time, this.#scope), this.#trigger, 'onProcessingTime', this.#name);
      st.value = this.#scope.value;
      this.#act(action, timer.key, st, rows, rowTimes);
    }
    if (rows.length > 0) return out.emit(rows, rowTimes);
  }

  snapshot(): GlobalWindowSnapshot {
    // A deep copy: key states and accumulators change in place before the checkpoint is written.
    return structuredClone({ assigner: 'global' as const, keys: this.#table.snapshot(), processing: this.#processing.snapshot() });
  }

  onEnd(): void {
    this.#table.dropNamespace(0);
    this.#processing.clear();
  }
}
