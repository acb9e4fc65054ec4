import fc from 'fast-check';
import { composite } from '../../src/aggregations/composite.js';
import { count } from '../../src/aggregations/count.js';
import { max } from '../../src/aggregations/max.js';
import { min } from '../../src/aggregations/min.js';
import { sum } from '../../src/aggregations/sum.js';
import type { Batch } from '../../src/runtime/elements.js';
import type { OperatorContext, OperatorSpec, Output } from '../../src/runtime/operator.js';
import { eventTimeTrigger } from '../../src/windows/event-time-trigger.js';
import type { Trigger } from '../../src/windows/trigger.js';
import type { WindowAssigner } from '../../src/windows/window-assigner.js';
import { aggregateFunction } from '../../src/windows/window-function.js';
import { windowOperator, type WindowOperator } from '../../src/windows/window-operator.js';

/** A test event: key, event time, value. */
export interface Ev {
  k: number | string;
  t: number;
  v: number;
}

/** What flows into the operator: batches and watermarks, in order. */
export type Element = { kind: 'batch'; records: Ev[] } | { kind: 'watermark'; time: number };

/** The aggregations every property test computes, named: count, sum, min, max in one pass. */
export const stats = () => ({ n: count(), total: sum<Ev>('v'), lo: min<Ev>('v'), hi: max<Ev>('v') });

/** The same four as one explicit composite (rows `{ key, start, end, value: { n, total, lo, hi } }`). */
export const statsComposite = () => composite(stats());

/** The same four results straight from the records (no accumulators, no merges). */
export function bruteStats(records: Ev[]): { n: number; total: number; lo: number; hi: number } {
  let total = 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of records) {
    total += r.v;
    lo = Math.min(lo, r.v);
    hi = Math.max(hi, r.v);
  }
  return { n: records.length, total, lo, hi };
}

/** An output that records rows, late records and watermarks. */
export function recorder() {
  const got = {
    rows: [] as Record<string, unknown>[],
    times: [] as number[],
    batches: 0,
    late: [] as unknown[],
    lateTimes: [] as number[],
    watermarks: [] as number[],
  };
  const out: Output<unknown> = {
    emit(records, timestamps) {
      if (records.length !== timestamps.length) throw new Error('emit: records and timestamps differ in length');
      got.batches++;
      got.rows.push(...(records as Record<string, unknown>[]));
      got.times.push(...timestamps);
    },
    watermark(time) {
      got.watermarks.push(time);
    },
    side(tag, records, timestamps) {
      if (tag !== 'late') throw new Error(`unexpected side output ${tag}`);
      got.late.push(...records);
      got.lateTimes.push(...timestamps);
    },
  };
  return { out, got };
}

/** An operator context with counters and a hand-driven processing-time clock. */
export function context(options: { restored?: unknown; now?: () => number; name?: string } = {}) {
  const counts = { lateDropped: 0, skipped: 0, failed: [] as unknown[], timers: [] as number[] };
  const ctx: OperatorContext = {
    job: 'test',
    name: options.name ?? 'w',
    signal: new AbortController().signal,
    now: options.now ?? (() => 0),
    restored: options.restored,
    recordFailed(record, _t, cause) {
      counts.failed.push({ record, cause });
    },
    registerProcessingTimer(t) {
      counts.timers.push(t);
    },
    countDropped(n, reason) {
      if (reason === 'late') counts.lateDropped += n;
      else counts.skipped += n;
    },
  };
  return { ctx, counts };
}

export interface OpOptions {
  assigner: WindowAssigner;
  aggregation?: unknown;
  trigger?: Trigger;
  lateness?: number;
  lateOutput?: boolean;
  key?: (e: Ev) => unknown;
}

export function spec(options: OpOptions): OperatorSpec<Ev, unknown> {
  return windowOperator<Ev>('w', {
    assigner: options.assigner,
    key: options.key ?? ((e) => e.k),
    fn: aggregateFunction<Ev>(options.aggregation ?? stats(), 'w'),
    trigger: options.trigger ?? eventTimeTrigger(),
    allowedLatenessMs: options.lateness ?? 0,
    lateOutput: options.lateOutput ?? true,
  });
}

/**
 * Feed elements to an operator the way a chain stage does: batches as they are, only advancing
 * watermarks, and at the end watermark +∞ then `onEnd`.
 */
export async function drive(op: WindowOperator<Ev>, elements: Element[], out: Output<unknown>, options: { end?: boolean } = {}): Promise<number> {
  let wm = -Infinity;
  for (const el of elements) {
    if (el.kind === 'batch') {
      if (el.records.length === 0) continue;
      await op.processBatch(batchOf(el.records), out);
    } else if (el.time > wm) {
      wm = el.time;
      await (op.onWatermark ? op.onWatermark(el.time, out) : out.watermark(el.time));
    }
  }
  if (options.end ?? true) {
    if (wm < Infinity) await (op.onWatermark ? op.onWatermark(Infinity, out) : out.watermark(Infinity));
    await op.onEnd?.(out);
  }
  return wm;
}

export function batchOf(records: Ev[]): Batch<Ev> {
  return { kind: 'batch', records, timestamps: records.map((r) => r.t), source: 'test' };
}

/** JSON with object keys sorted at every level. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** Rows as sorted canonical JSON strings: multiset comparison. */
export function multiset(rows: unknown[]): string[] {
  return rows.map(canonical).sort();
}

// ---- brute-force references ----------------------------------------------------------------

/** All windows `[s, s + size)` with `s ≡ offset (mod slide)` that contain `t`, by plain arithmetic. */
export function windowsContaining(t: number, size: number, slide: number, offset: number): Array<{ start: number; end: number }> {
  const out: Array<{ start: number; end: number }> = [];
  // k ranges over every grid index whose window could reach t.
  const kMax = Math.floor((t - offset) / slide);
  for (let k = kMax; offset + k * slide > t - size; k--) out.push({ start: offset + k * slide, end: offset + k * slide + size });
  return out;
}

interface RefResult {
  rows: Record<string, unknown>[];
  late: Ev[];
}

type Row = (key: unknown, start: number, end: number, records: Ev[]) => Record<string, unknown>;

export const statsRow: Row = (key, start, end, records) => ({ key, start, end, ...bruteStats(records) });

/**
 * Reference for tumbling and sliding windows: keeps every record of every open window, fires a
 * window's keys when the watermark reaches end − 1, re-fires (key, window) at the end of a batch
 * for a record of an already fired but not closed window, and closes windows at end − 1 + lateness.
 */
export function referenceFixed(
  elements: Element[],
  windowsOf: (t: number) => Array<{ start: number; end: number }>,
  lateness: number,
  row: Row = statsRow,
): RefResult {
  const windows = new Map<number, { end: number; fired: boolean; keys: Map<unknown, Ev[]> }>();
  const rows: Record<string, unknown>[] = [];
  const late: Ev[] = [];
  let wm = -Infinity;
  const advance = (time: number) => {
    if (time <= wm) return;
    wm = time;
    const due = [...windows.entries()].filter(([, w]) => !w.fired && w.end - 1 <= wm).sort((a, b) => a[1].end - b[1].end);
    for (const [start, w] of due) {
      for (const [key, records] of w.keys) rows.push(row(key, start, w.end, records));
      w.fired = true;
    }
    for (const [start, w] of [...windows]) if (w.end - 1 + lateness <= wm) windows.delete(start);
  };
  for (const el of elements) {
    if (el.kind === 'watermark') {
      advance(el.time);
      continue;
    }
    const refire = new Map<number, Set<unknown>>();
    for (const r of el.records) {
      let accepted = false;
      for (const w of windowsOf(r.t)) {
        if (w.end - 1 + lateness <= wm) continue;
        accepted = true;
        let win = windows.get(w.start);
        if (win === undefined) windows.set(w.start, (win = { end: w.end, fired: w.end - 1 <= wm, keys: new Map() }));
        const list = win.keys.get(r.k) ?? [];
        list.push(r);
        win.keys.set(r.k, list);
        if (w.end - 1 <= wm) {
          const keys = refire.get(w.start) ?? new Set();
          keys.add(r.k);
          refire.set(w.start, keys);
        }
      }
      if (!accepted) late.push(r);
    }
    for (const [start, keys] of refire) {
      const win = windows.get(start)!;
      for (const key of keys) rows.push(row(key, start, win.end, win.keys.get(key)!));
    }
  }
  advance(Infinity);
  return { rows, late };
}

/**
 * Reference for session windows: per key a list of sessions with all their records, merged by
 * recomputation; same firing, re-firing and closing rules as the fixed reference.
 */
export function referenceSessions(elements: Element[], gap: number, lateness: number, row: Row = statsRow): RefResult {
  interface S {
    start: number;
    end: number;
    records: Ev[];
    needsFire: boolean;
    alive: boolean;
  }
  const byKey = new Map<unknown, S[]>();
  const rows: Record<string, unknown>[] = [];
  const late: Ev[] = [];
  let wm = -Infinity;
  const advance = (time: number) => {
    if (time <= wm) return;
    wm = time;
    const all = [...byKey.entries()].flatMap(([key, list]) => list.map((s) => ({ key, s })));
    for (const { key, s } of all.filter(({ s }) => s.needsFire && s.end - 1 <= wm).sort((a, b) => a.s.end - b.s.end)) {
      rows.push(row(key, s.start, s.end, s.records));
      s.needsFire = false;
    }
    for (const [key, list] of byKey) {
      const kept = list.filter((s) => s.end - 1 + lateness > wm);
      if (kept.length === 0) byKey.delete(key);
      else byKey.set(key, kept);
    }
  };
  for (const el of elements) {
    if (el.kind === 'watermark') {
      advance(el.time);
      continue;
    }
    const refire: Array<{ key: unknown; s: S }> = [];
    for (const r of el.records) {
      const list = byKey.get(r.k) ?? [];
      const touching = list.filter((s) => s.start <= r.t + gap && r.t <= s.end);
      if (touching.length === 0 && r.t + gap - 1 + lateness <= wm) {
        late.push(r);
        continue;
      }
      touching.sort((a, b) => a.start - b.start);
      const merged: S = {
        start: Math.min(r.t, ...touching.map((s) => s.start)),
        end: Math.max(r.t + gap, ...touching.map((s) => s.end)),
        records: [...touching.flatMap((s) => s.records), r],
        needsFire: false,
        alive: true,
      };
      for (const s of touching) s.alive = false;
      merged.needsFire = merged.end - 1 > wm;
      const rest = list.filter((s) => !touching.includes(s));
      rest.push(merged);
      rest.sort((a, b) => a.start - b.start);
      byKey.set(r.k, rest);
      if (!merged.needsFire) refire.push({ key: r.k, s: merged });
    }
    const seen = new Set<S>();
    for (const { key, s } of refire) {
      if (!s.alive || s.end - 1 > wm || seen.has(s)) continue;
      seen.add(s);
      rows.push(row(key, s.start, s.end, s.records));
    }
  }
  advance(Infinity);
  return { rows, late };
}

/** Reference for count(n) / slidingCount(n, step): per key, window i = records [i·step, i·step + n). */
export function referenceCount(elements: Element[], n: number, step: number, row: Row = statsRow): RefResult {
  const seen = new Map<unknown, Ev[]>();
  const rows: Record<string, unknown>[] = [];
  for (const el of elements) {
    if (el.kind !== 'batch') continue;
    for (const r of el.records) {
      const list = seen.get(r.k) ?? [];
      list.push(r);
      seen.set(r.k, list);
      const c = list.length;
      if (c >= n && (c - n) % step === 0) {
        const window = list.slice(c - n, c);
        const ts = window.map((e) => e.t);
        rows.push(row(r.k, Math.min(...ts), Math.max(...ts) + 1, window));
      }
    }
  }
  return { rows, late: [] };
}

// ---- generators -----------------------------------------------------------------------------

/**
 * Random input: events with times in [base, base + span) (negative allowed), keys from a small
 * set, arriving out of order (a random sort key mixes event time and noise), cut into random
 * batches, each followed (or not) by a watermark = max seen − a random lag.
 */
export function inputArb(options: { minT?: number; span?: number; keys?: number; maxEvents?: number } = {}) {
  const minT = options.minT ?? -200;
  const span = options.span ?? 600;
  const keys = options.keys ?? 4;
  const event = fc.record({
    k: fc.integer({ min: 0, max: keys - 1 }),
    t: fc.integer({ min: minT, max: minT + span - 1 }),
    v: fc.integer({ min: -50, max: 100 }),
    noise: fc.integer({ min: 0, max: 150 }),
  });
  return fc
    .record({
      events: fc.array(event, { maxLength: options.maxEvents ?? 120, size: 'max' }),
      cuts: fc.array(fc.integer({ min: 1, max: 17 }), { minLength: 1, maxLength: 40, size: 'max' }),
      lag: fc.integer({ min: 0, max: 120 }),
      skipWatermark: fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
    })
    .map(({ events, cuts, lag, skipWatermark }) => {
      // Out of order, but bounded: arrival order is event time plus noise.
      const arrived = events
        .map((e, i) => ({ e, order: e.t + e.noise, i }))
        .sort((a, b) => a.order - b.order || a.i - b.i)
        .map(({ e }) => ({ k: e.k, t: e.t, v: e.v }));
      const elements: Element[] = [];
      let max = -Infinity;
      let at = 0;
      for (let c = 0; at < arrived.length; c++) {
        const size = cuts[c % cuts.length];
        const records = arrived.slice(at, at + size);
        at += size;
        elements.push({ kind: 'batch', records });
        for (const r of records) max = Math.max(max, r.t);
        if (!skipWatermark[c % skipWatermark.length]) elements.push({ kind: 'watermark', time: max - lag });
      }
      return { elements, lag, events: arrived };
    });
}
