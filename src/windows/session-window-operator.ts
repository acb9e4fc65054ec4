import type { Aggregation } from '../aggregations/aggregation.js';
import { CheckpointError } from '../runtime/errors.js';
import type { Batch } from '../runtime/elements.js';
import type { OperatorContext, Output } from '../runtime/operator.js';
import { HeapTable } from '../state/heap-table.js';
import type { TableSnapshot } from '../state/keyed-state.js';
import { TimerQueue } from '../state/timer-queue.js';
import { LateRecords } from './late-records.js';
import { missingTimestamp } from './missing-timestamp.js';
import { ProcessingTimers } from './processing-timers.js';
import type { SessionWindows } from './session.js';
import { isPlainEventTime, type Trigger, type TriggerAction } from './trigger.js';
import { TriggerScope, checkAction } from './trigger-scope.js';
import type { WindowFunction } from './window-function.js';
import { stateKey } from './window-key.js';
import type { WindowOperator, WindowParts } from './window-operator.js';

/** One session of one key: the window `[start, end)` with `end` = last event + gap. */
export interface Session {
  /** The key as the selector returned it (rows carry it). */
  readonly key: unknown;
  /** Identity for processing timers; −1 once merged into another session or dropped. */
  id: number;
  start: number;
  end: number;
  acc: unknown;
  /** False after a trigger purged the contents (nothing to emit until the next record). */
  has: boolean;
  /** The trigger's value. */
  value: number;
  /**
   * Event time of the session's pending check, `NaN` when none: its firing (at `end − 1`) while
   * `fired` is false, its cleanup (at `end − 1 + allowedLateness`) once it fired.
   */
  due: number;
  /** Fired at event time and not grown past the watermark since. */
  fired: boolean;
  /**
   * The timer bucket the pending check is filed in, `null` when none (entries elsewhere are
   * stale). Not state: dropped from snapshots and rebuilt from `due` on restore.
   */
  filed: Bucket | null;
}

/** What a session window operator checkpoints. */
export interface SessionWindowSnapshot {
  readonly assigner: 'session';
  readonly gapMs: number;
  readonly watermark: number;
  readonly nextId: number;
  /** (state key, 0) → the key's sessions sorted by start. Pending checks are each session's `due`. */
  readonly keys: TableSnapshot<unknown, number, Session[]>;
  readonly processing: Array<[number, unknown, number]>;
}

/**
 * Width of a timer bucket in ms of event time. Sessions whose checks fall in one bucket share one
 * TimerQueue timer (namespace = bucket): a TimerQueue registration per session costs more than
 * the rest of the session's work.
 */
const BUCKET_MS = 16;

/**
 * The sessions whose pending check is filed in one bucket (an entry is live while the session's
 * `filed` names the bucket); `min` is the time the bucket's timer is set.
 */
export interface Bucket {
  min: number;
  readonly sessions: Session[];
}

const bucketOf = (time: number): number => Math.floor(time / BUCKET_MS);

/**
 * Session windows. Per key a small sorted list of sessions lives in a {@link HeapTable} (key,
 * namespace 0). A record at `t` covers `[t, t + gap)`; it joins every session it overlaps or
 * touches, merging them (accumulators in start order, trigger values with `mergeValues`).
 *
 * Event time: each session holds the time of its one pending check (`due`); checks are grouped
 * into buckets of {@link BUCKET_MS} with one {@link TimerQueue} timer per bucket, fired in time
 * order on watermarks. Checks are lazy: a session that grew after its check was set re-arms when
 * the old check comes due, and checks of merged-away sessions are skipped, so extending a session
 * costs no timer work. Timers are derived from the sessions, so a restore rebuilds them.
 *
 * @example
 * ```ts
 * // Built by the window step, not directly:
 * const spec = windowOperator('w', {
 *   assigner: windows.session(30_000), key: (e: { user: string }) => e.user, fn: aggregateFunction(agg.count(), 'w'),
 *   trigger: triggers.eventTime(), allowedLatenessMs: 0, lateOutput: false,
 * });
 * const op = spec.create(ctx) as WindowOperator<{ user: string }>;
 * ```
 */
export class SessionWindowOperator<T> implements WindowOperator<T> {
  readonly #name: string;
  readonly #ctx: OperatorContext;
  readonly #keyOf: (record: T) => unknown;
  readonly #fn: WindowFunction<T>;
  readonly #agg: Aggregation<T, unknown, unknown>;
  readonly #trigger: Trigger;
  readonly #plain: boolean;
  readonly #gap: number;
  readonly #lateness: number;
  readonly #lateSide: boolean;

  readonly #table: HeapTable<unknown, number, Session[]>;
  /** The table's one namespace: state key → sessions (possibly empty, see #emptyKeys). */
  readonly #keys: Map<unknown, Session[]>;
  /**
   * Keys whose last session closed but whose (empty) list is kept: deleting a key at once and
   * re-adding it when the key comes back makes the Map churn, which slows every lookup several
   * fold. Empty lists are swept when they outnumber the live keys by a wide margin.
   */
  #emptyKeys = 0;
  readonly #timers = new TimerQueue<number, number>();
  readonly #buckets = new Map<number, Bucket>();
  /** Bucket entries (live or stale) not yet processed. */
  #entries = 0;
  /** Scratch: the sessions whose check is due at the current watermark. */
  readonly #due: Session[] = [];
  readonly #processing: ProcessingTimers;
  #sessions = 0;
  #nextId = 0;
  #watermark = Number.NEGATIVE_INFINITY;
  /** Sessions a late-but-allowed record changed while already due: fired at the end of the batch. */
  #refire: Set<Session> | undefined;
  readonly #late = new LateRecords();
  readonly #scope: TriggerScope;

  constructor(parts: WindowParts<T>, assigner: SessionWindows, restored: SessionWindowSnapshot | undefined) {
    this.#name = parts.name;
    this.#ctx = parts.ctx;
    const config = parts.config;
    this.#keyOf = config.key;
    this.#fn = config.fn;
    this.#agg = parts.aggregation;
    this.#trigger = config.trigger;
    this.#plain = isPlainEventTime(config.trigger);
    this.#gap = assigner.gapMs;
    this.#lateness = config.allowedLatenessMs;
    this.#lateSide = config.lateOutput;
    if (restored !== undefined && restored.gapMs !== this.#gap) {
      throw new CheckpointError(`window "${this.#name}": the checkpoint was taken with gapMs ${restored.gapMs}, the job now has ${this.#gap}`, {
        step: this.#name,
      });
    }
    this.#table = new HeapTable(restored?.keys);
    this.#keys = this.#table.space(0);
    this.#processing = new ProcessingTimers(this.#ctx, restored?.processing);
    if (restored !== undefined) {
      this.#watermark = restored.watermark;
      this.#nextId = restored.nextId;
      for (const [, entries] of restored.keys) {
        for (const [, list] of entries) {
          this.#sessions += list.length;
          for (const s of list) {
            s.filed = null;
            if (s.due === s.due) this.#arm(s, s.due);
          }
        }
      }
    }
    this.#scope = new TriggerScope(
      () => this.#ctx.now(),
      (time, key, ns) => this.#processing.register(time, key, ns),
    );
  }

  stateSize(): number {
    return this.#sessions + this.#timers.size + this.#entries + this.#processing.size;
  }

  processBatch(batch: Batch<T>, out: Output<unknown>): void | Promise<void> {
    const records = batch.records;
    const times = batch.timestamps;
    const n = records.length;
    const agg = this.#agg;
    const keyOf = this.#keyOf;
    const gap = this.#gap;
    const wm = this.#watermark;
    const lateness = this.#lateness;
    const triggered = !this.#plain && this.#trigger.onElement !== undefined;
    const space = this.#keys;
    let addedKeys = 0;
    let rows: unknown[] | undefined;
    let rowTimes: number[] | undefined;
    let inTrigger = false;
    let i = 0;
    for (;;) {
      try {
        for (; i < n; i++) {
          const t = times[i];
          // NaN and ±Infinity (t − t is NaN for both) have no session.
          if (t - t !== 0) throw missingTimestamp(this.#name, t);
          const record = records[i];
          const key = keyOf(record);
          const sk = typeof key === 'object' && key !== null ? stateKey(key) : key;
          const list = space.get(sk);
          const hi = t + gap;
          // Sessions are sorted and disjoint, so those touching [t, t + gap] are contiguous;
          // search from the newest, where in-order events land.
          let j = 0;
          let k = 0;
          if (list !== undefined) {
            j = list.length;
            while (j > 0 && list[j - 1].end >= t) j--;
            k = j;
            while (k < list.length && list[k].start <= hi) k++;
          }
          let target: Session;
          if (j === k) {
            if (hi - 1 + lateness <= wm) {
              this.#late.add(record, t);
              continue;
            }
            const acc = agg.add(agg.create(), record);
            target = { key, id: this.#nextId++, start: t, end: hi, acc, has: true, value: 0, due: Number.NaN, fired: false, filed: null };
            if (list === undefined) {
              space.set(sk, [target]);
              addedKeys++;
            } else {
              if (list.length === 0) this.#emptyKeys--;
              if (j === list.length) list.push(target);
              else list.splice(j, 0, target);
            }
            this.#sessions++;
          } else {
            target = list![j];
            if (k - j > 1) this.#mergeInto(target, list!, j, k);
            target.acc = agg.add(target.acc, record);
            target.has = true;
            if (t < target.start) target.start = t;
            if (hi > target.end) target.end = hi;
          }
          if (target.end - 1 > wm) {
            // A pending firing check at an earlier time re-arms itself; a fired session (its
            // pending check is the cleanup) needs a new firing.
            if (target.fired || target.due !== target.due) {
              target.fired = false;
              this.#arm(target, target.end - 1);
            }
            if (triggered) {
              rows ??= [];
              rowTimes ??= [];
              inTrigger = true;
              this.#elementTrigger(record, t, sk, target, rows, rowTimes);
              inTrigger = false;
            }
          } else {
            (this.#refire ??= new Set()).add(target);
          }
        }
        break;
      } catch (err) {
        if (inTrigger || times[i] !== times[i]) throw err;
        this.#ctx.recordFailed(records[i], times[i], err, batch.source, out);
        i++;
      }
    }
    if (addedKeys > 0) this.#table.recount();
    this.#late.flush(out, this.#ctx, this.#lateSide);
    if (this.#refire !== undefined) {
      rows ??= [];
      rowTimes ??= [];
      this.#flushRefires(rows, rowTimes);
    }
    if (rows !== undefined && rows.length > 0) return out.emit(rows, rowTimes!);
  }

  /** Merge sessions `j+1 … k−1` of `list` into `list[j]` (in start order) and remove them. */
  #mergeInto(target: Session, list: Session[], j: number, k: number): void {
    const agg = this.#agg;
    const mergeValues = this.#trigger.mergeValues;
    for (let m = j + 1; m < k; m++) {
      const other = list[m];
      target.acc = agg.merge(target.acc, other.acc);
      target.has ||= other.has;
      target.value = mergeValues === undefined ? target.value + other.value : mergeValues.call(this.#trigger, target.value, other.value);
      if (other.end > target.end) target.end = other.end;
      // Its pending check becomes stale.
      other.id = -1;
    }
    list.splice(j + 1, k - j - 1);
    this.#sessions -= k - j - 1;
  }

  /** Set the session's pending check to `time` (> watermark) and file it in its bucket. */
  #arm(s: Session, time: number): void {
    s.due = time;
    const b = bucketOf(time);
    let bucket = this.#buckets.get(b);
    if (bucket === undefined) {
      // One timer per bucket, at its start; a bucket the watermark has partly passed (its
      // later checks re-filed) instead tracks its earliest check, which is after the watermark.
      const start = b * BUCKET_MS;
      bucket = { min: start > this.#watermark ? start : time, sessions: [] };
      this.#buckets.set(b, bucket);
      this.#timers.register(bucket.min, 0, b);
    } else {
      if (time < bucket.min) {
        bucket.min = time;
        this.#timers.register(time, 0, b);
      }
      // Already filed here (its check only moved within the bucket).
      if (s.filed === bucket) return;
    }
    s.filed = bucket;
    bucket.sessions.push(s);
    this.#entries++;
  }

  #elementTrigger(record: T, t: number, sk: unknown, s: Session, rows: unknown[], rowTimes: number[]): void {
    const scope = this.#scope;
    scope.set(s.key, sk, s.start, s.end, s.id, this.#watermark, s.value);
    const action = checkAction(this.#trigger.onElement!(record, t, scope), this.#trigger, 'onElement', this.#name);
    s.value = scope.value;
    this.#act(action, s, rows, rowTimes);
  }

  #act(action: TriggerAction, s: Session, rows: unknown[], rowTimes: number[]): void {
    if (action === 'continue') return;
    if ((action === 'fire' || action === 'fire-and-purge') && s.has) this.#fn.emit(s.key, s.start, s.end, s.acc, s.end - 1, rows, rowTimes);
    if (action === 'purge' || action === 'fire-and-purge') {
      s.acc = this.#agg.create();
      s.has = false;
      s.value = 0;
    }
  }

  #flushRefires(rows: unknown[], rowTimes: number[]): void {
    const refire = this.#refire!;
    this.#refire = undefined;
    const wm = this.#watermark;
    for (const s of refire) {
      // Merged away, or grown past the watermark (its firing check fires it) since it was marked.
      if (s.id < 0 || s.end - 1 > wm) continue;
      if (s.has) this.#fn.emit(s.key, s.start, s.end, s.acc, s.end - 1, rows, rowTimes);
      s.fired = true;
      // A pending (earlier) cleanup check re-arms itself when it comes due.
      if (s.due !== s.due) this.#arm(s, s.end - 1 + this.#lateness);
    }
  }

  /** Drop a session from its key's list. */
  #remove(s: Session): void {
    const list = this.#keys.get(stateKey(s.key))!;
    if (list.length === 1) list.pop();
    else list.splice(list.indexOf(s), 1);
    s.id = -1;
    this.#sessions--;
    if (list.length === 0) this.#emptyKeys++;
  }

  /** Forget keys without sessions once they clearly outnumber the live ones. */
  #sweep(): void {
    if (this.#emptyKeys <= 4 * (this.#keys.size - this.#emptyKeys) + 4096) return;
    for (const [sk, list] of this.#keys) if (list.length === 0) this.#keys.delete(sk);
    this.#emptyKeys = 0;
    this.#table.recount();
  }

  onWatermark(time: number, out: Output<unknown>): void | Promise<void> {
    // After a restore the stage's watermark starts over: never move the operator's backwards.
    if (time <= this.#watermark) return out.watermark(time);
    this.#watermark = time;
    const rows: unknown[] = [];
    const rowTimes: number[] = [];
    // Gather every due check first, then run them in the order of the time they stand for now
    // (a lazily re-armed check may be older than its session's end), so sessions fire in end order.
    const due = this.#due;
    for (let timer = this.#timers.pollDue(time); timer !== undefined; timer = this.#timers.pollDue(time)) {
      const bucket = this.#buckets.get(timer.ns);
      if (bucket === undefined) continue;
      this.#buckets.delete(timer.ns);
      const sessions = bucket.sessions;
      this.#entries -= sessions.length;
      for (let e = 0; e < sessions.length; e++) {
        const s = sessions[e];
        if (s.id < 0 || s.filed !== bucket) continue;
        // Claimed: a duplicate entry of this session in this bucket is stale from here on.
        s.filed = null;
        // Not due yet: re-file (its check time is unchanged).
        if (s.due > time) this.#arm(s, s.due);
        else due.push(s);
      }
    }
    if (due.length > 1) {
      const lateness = this.#lateness;
      due.sort((a, b) => (a.fired ? a.end + lateness : a.end) - (b.fired ? b.end + lateness : b.end));
    }
    for (let e = 0; e < due.length; e++) this.#check(due[e], rows, rowTimes);
    due.length = 0;
    if (time === Number.POSITIVE_INFINITY) {
      // End of input: every session fired and closed.
      this.#keys.clear();
      this.#emptyKeys = 0;
      this.#table.recount();
    } else {
      this.#sweep();
    }
    if (rows.length === 0) return out.watermark(time);
    const emitted = out.emit(rows, rowTimes);
    if (emitted !== undefined) return emitted.then(() => out.watermark(time));
    return out.watermark(time);
  }

  /** A session's pending check is due: fire it, re-arm it (it grew), or drop it (lateness over). */
  #check(s: Session, rows: unknown[], rowTimes: number[]): void {
    const wm = this.#watermark;
    s.due = Number.NaN;
    if (s.end - 1 > wm) {
      s.fired = false;
      this.#arm(s, s.end - 1);
      return;
    }
    if (!s.fired) {
      const onEventTime = this.#trigger.onEventTime;
      if (onEventTime === undefined) {
        if (s.has) this.#fn.emit(s.key, s.start, s.end, s.acc, s.end - 1, rows, rowTimes);
      } else {
        this.#scope.set(s.key, stateKey(s.key), s.start, s.end, s.id, wm, s.value);
        const action = checkAction(onEventTime.call(this.#trigger, this.#scope), this.#trigger, 'onEventTime', this.#name);
        s.value = this.#scope.value;
        this.#act(action, s, rows, rowTimes);
      }
      s.fired = true;
    }
    const closeAt = s.end - 1 + this.#lateness;
    if (closeAt <= wm) this.#remove(s);
    else this.#arm(s, closeAt);
  }

  onProcessingTime(timeMs: number, out: Output<unknown>): void | Promise<void> {
    const due = this.#processing.due(timeMs);
    const onProcessingTime = this.#trigger.onProcessingTime;
    if (onProcessingTime === undefined) return;
    const rows: unknown[] = [];
    const rowTimes: number[] = [];
    for (const timer of due) {
      const s = this.#keys.get(timer.key)?.find((x) => x.id === timer.ns);
      if (s === undefined) continue;
      this.#scope.set(s.key, timer.key, s.start, s.end, s.id, this.#watermark, s.value);
      const action = checkAction(onProcessingTime.call(this.#trigger, timer.time, this.#scope), this.#trigger, 'onProcessingTime', this.#name);
      s.value = this.#scope.value;
      this.#act(action, s, rows, rowTimes);
    }
    if (rows.length > 0) return out.emit(rows, rowTimes);
  }

  snapshot(): SessionWindowSnapshot {
    // A deep copy (sessions and accumulators change in place before the checkpoint is written),
    // without the timer buckets, which are rebuilt from `due`.
    return structuredClone({
      assigner: 'session',
      gapMs: this.#gap,
      watermark: this.#watermark,
      nextId: this.#nextId,
      // Keys kept with no session are not state.
      keys: this.#table
        .snapshot()
        .map(([ns, entries]) => [ns, entries.filter(([, list]) => list.length > 0).map(([sk, list]) => [sk, list.map(withoutBucket)])]),
      processing: this.#processing.snapshot(),
    });
  }

  onEnd(): void {
    this.#processing.clear();
  }
}

/** A session as checkpointed: without its (rebuilt) timer bucket. */
function withoutBucket(s: Session): Session {
  return { ...s, filed: null };
}
