import type { Aggregation } from '../aggregations/aggregation.js';
import { CheckpointError } from '../runtime/errors.js';
import type { Batch } from '../runtime/elements.js';
import type { OperatorContext, Output } from '../runtime/operator.js';
import { HeapTable } from '../state/heap-table.js';
import type { TableSnapshot } from '../state/keyed-state.js';
import { gcd } from './align.js';
import type { CountWindows } from './count-window.js';
import type { SlidingCountWindows } from './sliding-count.js';
import type { WindowFunction } from './window-function.js';
import { stateKey } from './window-key.js';
import type { WindowOperator, WindowParts } from './window-operator.js';

/** `g` consecutive records of one key (g = gcd(n, step)), folded. */
export interface CountPane {
  acc: unknown;
  minT: number;
  maxT: number;
}

/** A key's position in its record sequence and the panes later windows still need. */
export interface CountKeyState {
  readonly key: unknown;
  /** Records of this key since its state was (re)created. */
  count: number;
  /** Index (in panes of g records) of `panes[0]`. */
  first: number;
  readonly panes: CountPane[];
}

/** What a count window operator checkpoints. */
export interface CountWindowSnapshot {
  readonly assigner: 'count' | 'sliding-count';
  readonly size: number;
  readonly step: number;
  readonly keys: TableSnapshot<unknown, number, CountKeyState>;
}

/**
 * Count and sliding count windows. Per key, records are folded into panes of `gcd(n, step)`
 * records; window `i` (records `i·step … i·step + n − 1`) fires as its last record arrives by
 * merging its panes into a fresh accumulator. Panes no later window needs are dropped; a key
 * with no pane left is dropped entirely (window positions restart from its next record, which is
 * where the next window starts anyway). Incomplete windows are discarded at end of input.
 * Watermarks pass through: these windows do not depend on event time.
 *
 * @example
 * ```ts
 * // Built by the window step, not directly:
 * const spec = windowOperator('w', {
 *   assigner: windows.slidingCount(10, 2), key: (e: { user: string }) => e.user, fn: aggregateFunction(agg.count(), 'w'),
 *   trigger: triggers.eventTime(), allowedLatenessMs: 0, lateOutput: false,
 * });
 * const op = spec.create(ctx) as WindowOperator<{ user: string }>;
 * ```
 */
export class CountWindowOperator<T> implements WindowOperator<T> {
  readonly #ctx: OperatorContext;
  readonly #keyOf: (record: T) => unknown;
  readonly #fn: WindowFunction<T>;
  readonly #agg: Aggregation<T, unknown, unknown>;
  readonly #kind: 'count' | 'sliding-count';
  readonly #size: number;
  readonly #step: number;
  readonly #pane: number;
  readonly #table: HeapTable<unknown, number, CountKeyState>;

  constructor(parts: WindowParts<T>, assigner: CountWindows | SlidingCountWindows, restored: CountWindowSnapshot | undefined) {
    this.#ctx = parts.ctx;
    this.#keyOf = parts.config.key;
    this.#fn = parts.config.fn;
    this.#agg = parts.aggregation;
    this.#kind = assigner.kind;
    this.#size = assigner.size;
    this.#step = assigner.kind === 'count' ? assigner.size : assigner.step;
    this.#pane = gcd(this.#size, this.#step);
    if (restored !== undefined && (restored.size !== this.#size || restored.step !== this.#step)) {
      throw new CheckpointError(
        `window "${parts.name}": the checkpoint was taken with n ${restored.size} / step ${restored.step}, the job now has ${this.#size} / ${this.#step}`,
        { step: parts.name },
      );
    }
    this.#table = new HeapTable(restored?.keys);
  }

  stateSize(): number {
    return this.#table.size;
  }

  processBatch(batch: Batch<T>, out: Output<unknown>): void | Promise<void> {
    const records = batch.records;
    const times = batch.timestamps;
    const n = records.length;
    const agg = this.#agg;
    const keyOf = this.#keyOf;
    const g = this.#pane;
    const size = this.#size;
    const step = this.#step;
    let rows: unknown[] | undefined;
    let rowTimes: number[] | undefined;
    let changed = false;
    const space = this.#table.space(0);
    let i = 0;
    for (;;) {
      try {
        for (; i < n; i++) {
          const record = records[i];
          const t = times[i];
          const key = keyOf(record);
          const sk = typeof key === 'object' && key !== null ? stateKey(key) : key;
          let st = space.get(sk);
          if (st === undefined) {
            st = { key, count: 0, first: 0, panes: [] };
            space.set(sk, st);
            changed = true;
          }
          const c = st.count;
          const panes = st.panes;
          if (c % g === 0) {
            panes.push({ acc: agg.add(agg.create(), record), minT: t, maxT: t });
          } else {
            const pane = panes[panes.length - 1];
            pane.acc = agg.add(pane.acc, record);
            if (t < pane.minT) pane.minT = t;
            if (t > pane.maxT) pane.maxT = t;
          }
          st.count = c + 1;
          const done = c + 1 - size;
          if (done < 0 || done % step !== 0) continue;
          rows ??= [];
          rowTimes ??= [];
          this.#fireWindow(st, done / step, rows, rowTimes);
          if (panes.length === 0) {
            space.delete(sk);
            changed = true;
          }
        }
        break;
      } catch (err) {
        this.#ctx.recordFailed(records[i], times[i], err, batch.source, out);
        i++;
      }
    }
    if (changed) this.#table.recount();
    if (rows !== undefined) return out.emit(rows, rowTimes!);
  }

  /** Window `w` of the key is complete: emit it, then drop the panes only it needed. */
  #fireWindow(st: CountKeyState, w: number, rows: unknown[], rowTimes: number[]): void {
    const g = this.#pane;
    const from = (w * this.#step) / g - st.first;
    const count = this.#size / g;
    const panes = st.panes;
    let acc: unknown;
    let minT = panes[from].minT;
    let maxT = panes[from].maxT;
    if (count === 1) {
      acc = panes[from].acc;
    } else {
      // A fresh accumulator: merge may mutate its first argument, and panes are shared.
      const agg = this.#agg;
      acc = agg.create();
      for (let p = from; p < from + count; p++) {
        const pane = panes[p];
        acc = agg.merge(acc, pane.acc);
        if (pane.minT < minT) minT = pane.minT;
        if (pane.maxT > maxT) maxT = pane.maxT;
      }
    }
    this.#fn.emit(st.key, minT, maxT + 1, acc, maxT, rows, rowTimes);
    const nextFirst = ((w + 1) * this.#step) / g;
    panes.splice(0, nextFirst - st.first);
    st.first = nextFirst;
    if (panes.length === 0) {
      st.first = 0;
      st.count = 0;
    }
  }

  snapshot(): CountWindowSnapshot {
    // A deep copy: key states and accumulators change in place before the checkpoint is written.
    return structuredClone({ assigner: this.#kind, size: this.#size, step: this.#step, keys: this.#table.snapshot() });
  }

  onEnd(): void {
    // Windows still incomplete at end of input are not emitted.
    this.#table.dropNamespace(0);
  }
}
