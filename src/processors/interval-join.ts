import type { Batch } from '../runtime/elements.js';
import { ConfigError, RecordError, show } from '../runtime/errors.js';
import type { Operator, OperatorContext, OperatorSpec, Output } from '../runtime/operator.js';
import { HeapTable } from '../state/heap-table.js';
import type { TableSnapshot } from '../state/keyed-state.js';
import { TimerQueue } from '../state/timer-queue.js';
import { checkKey } from './check-key.js';
import type { JoinEnvelope, JoinSide } from './join-envelope.js';
import { readSnapshot, writeSnapshot } from './versioned-snapshot.js';

/**
 * Bounds of an interval join, in ms relative to the left record's event time: a right record `r`
 * joins a left record `l` with the same key when `l.t + lowerMs ≤ r.t ≤ l.t + upperMs`.
 * Either bound may be negative; `lowerMs ≤ upperMs`.
 */
export interface IntervalBounds {
  readonly lowerMs: number;
  readonly upperMs: number;
}

/**
 * Validate interval-join bounds; throws a {@link ConfigError} naming `what`, the field and the value.
 *
 * @example
 * ```ts
 * checkIntervalBounds({ lowerMs: -5_000, upperMs: 10_000 }, 'intervalJoin');
 * ```
 */
export function checkIntervalBounds(bounds: unknown, what: string): IntervalBounds {
  if (bounds === null || typeof bounds !== 'object') throw new ConfigError(`${what}: expected { lowerMs, upperMs }, got ${show(bounds)}`);
  const { lowerMs, upperMs } = bounds as Partial<IntervalBounds>;
  for (const [field, value] of [['lowerMs', lowerMs], ['upperMs', upperMs]] as const) {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new ConfigError(`${what}: ${field} must be a finite number of ms, got ${show(value)}`);
  }
  if (lowerMs! > upperMs!) throw new ConfigError(`${what}: lowerMs must be ≤ upperMs, got lowerMs ${lowerMs} and upperMs ${upperMs}`);
  return { lowerMs: lowerMs!, upperMs: upperMs! };
}

/** The records of one side of one key still able to match, in arrival order. */
interface SideBuffer {
  records: unknown[];
  times: number[];
  /** Earliest cleanup timer registered for this buffer (+∞: none). */
  timer: number;
  /** Watermark of the last cleanup, so several due timers of one buffer clean it once. */
  cleanedAt: number;
}

interface IntervalJoinSnapshotBody<K> {
  readonly table: TableSnapshot<K, JoinSide, SideBuffer>;
  readonly timers: Array<[number, K, JoinSide]>;
  readonly watermark: number;
}

const SNAPSHOT_KIND = 'interval-join';
const SNAPSHOT_VERSION = 1;

/**
 * The keyed operator of an interval join, fed {@link JoinEnvelope}s by a union of both inputs.
 *
 * Each arriving record is joined at once with the buffered records of the other side and the same
 * key that are within bounds; `fn(left, right)` gives the output, whose event time is
 * max(left.t, right.t). Output of a batch leaves as one batch.
 *
 * State: per key and side, the records that can still match a future record. Future records are
 * later than the watermark W, so a left record at `t` is dropped once W ≥ t + upperMs and a right
 * record once W ≥ t − lowerMs (a cleanup timer per buffer fires at the earliest of these). At end
 * of input (W = +∞) the state is empty.
 *
 * Late records (event time ≤ W) are dropped and counted (`countDropped(n, 'late')`); a record
 * without event time (`NaN`), a throwing key selector or `fn` follow the step's error policy.
 *
 * Snapshot invariant: buffers, cleanup timers and the watermark as of the last record handled.
 *
 * @example
 * ```ts
 * const spec = intervalJoinOperator('orders-payments', (o: Order) => o.id, (p: Payment) => p.orderId,
 *   { lowerMs: 0, upperMs: 60_000 }, (o, p) => ({ ...o, paidAt: p.t }));
 * ```
 */
export function intervalJoinOperator<L, R, K, O>(
  name: string,
  leftKey: (record: L) => K,
  rightKey: (record: R) => K,
  bounds: IntervalBounds,
  fn: (left: L, right: R) => O,
): OperatorSpec<JoinEnvelope, O> {
  return {
    name,
    stateless: false,
    create: (ctx) => new IntervalJoinOperator(name, leftKey, rightKey, bounds, fn, ctx),
  };
}

class IntervalJoinOperator<L, R, K, O> implements Operator<JoinEnvelope, O> {
  readonly #name: string;
  /** `step "<name>"`, built once: messages about a record must not cost a string per record. */
  readonly #what: string;
  readonly #leftKey: (record: L) => K;
  readonly #rightKey: (record: R) => K;
  readonly #lowerMs: number;
  readonly #upperMs: number;
  readonly #fn: (left: L, right: R) => O;
  readonly #ctx: OperatorContext;
  readonly #table: HeapTable<K, JoinSide, SideBuffer>;
  readonly #timers: TimerQueue<K, JoinSide>;
  #watermark: number;

  constructor(
    name: string,
    leftKey: (record: L) => K,
    rightKey: (record: R) => K,
    bounds: IntervalBounds,
    fn: (left: L, right: R) => O,
    ctx: OperatorContext,
  ) {
    this.#name = name;
    this.#what = `step "${name}"`;
    this.#leftKey = leftKey;
    this.#rightKey = rightKey;
    this.#lowerMs = bounds.lowerMs;
    this.#upperMs = bounds.upperMs;
    this.#fn = fn;
    this.#ctx = ctx;
    const restored = readSnapshot<IntervalJoinSnapshotBody<K>>(name, SNAPSHOT_KIND, SNAPSHOT_VERSION, ctx.restored);
    this.#table = new HeapTable(restored?.table);
    this.#timers = new TimerQueue(restored?.timers);
    this.#watermark = restored?.watermark ?? Number.NEGATIVE_INFINITY;
  }

  processBatch(batch: Batch<JoinEnvelope>, out: Output<O>): void | Promise<void> {
    const envelopes = batch.records;
    const times = batch.timestamps;
    const records: O[] = [];
    const stamps: number[] = [];
    let late = 0;
    for (let i = 0; i < envelopes.length; i++) {
      const { side, record } = envelopes[i];
      const t = times[i];
      if (!(t > this.#watermark)) {
        if (Number.isNaN(t)) this.#failed(record, t, new RecordError(this.#name, 'an interval join needs event time; give the source a timestamp'), batch, out);
        else late++;
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
      this.#probe(side, record, t, key, records, stamps, batch, out);
      this.#buffer(side, record, t, key);
    }
    if (late > 0) this.#ctx.countDropped(late, 'late');
    if (records.length === 0) return;
    return out.emit(records, stamps);
  }

  /** Join one record with the buffered records of the other side. */
  #probe(side: JoinSide, record: unknown, t: number, key: K, records: O[], stamps: number[], batch: Batch<JoinEnvelope>, out: Output<O>): void {
    const other = this.#table.get(key, side === 0 ? 1 : 0);
    if (other === undefined) return;
    // Right times that match a left at t: [t + lower, t + upper]; left times for a right at t: [t − upper, t − lower].
    const from = side === 0 ? t + this.#lowerMs : t - this.#upperMs;
    const to = side === 0 ? t + this.#upperMs : t - this.#lowerMs;
    const otherTimes = other.times;
    for (let j = 0; j < otherTimes.length; j++) {
      const ot = otherTimes[j];
      if (ot < from || ot > to) continue;
      const left = (side === 0 ? record : other.records[j]) as L;
      const right = (side === 0 ? other.records[j] : record) as R;
      const stamp = t > ot ? t : ot;
      try {
        records.push(this.#fn(left, right));
        stamps.push(stamp);
      } catch (err) {
        this.#failed({ left, right }, stamp, err, batch, out);
      }
    }
  }

  /** Keep a record while a future record of the other side can still match it. */
  #buffer(side: JoinSide, record: unknown, t: number, key: K): void {
    const expiry = this.#expiry(side, t);
    if (expiry <= this.#watermark) return;
    let buffer = this.#table.get(key, side);
    if (buffer === undefined) {
      buffer = { records: [], times: [], timer: Number.POSITIVE_INFINITY, cleanedAt: Number.NEGATIVE_INFINITY };
      this.#table.set(key, side, buffer);
    }
    buffer.records.push(record);
    buffer.times.push(t);
    // One pending timer per buffer at its earliest expiry: in-order input registers no new one.
    if (expiry < buffer.timer) {
      buffer.timer = expiry;
      this.#timers.register(expiry, key, side);
    }
  }

  /** Watermark from which a record of `side` at `t` can match nothing more. */
  #expiry(side: JoinSide, t: number): number {
    return side === 0 ? t + this.#upperMs : t - this.#lowerMs;
  }

  onWatermark(time: number, out: Output<O>): void | Promise<void> {
    if (time > this.#watermark) this.#watermark = time;
    const wm = this.#watermark;
    let due: { key: K; ns: JoinSide } | undefined;
    while ((due = this.#timers.pollDue(wm)) !== undefined) this.#clean(due.key, due.ns, wm);
    return out.watermark(time);
  }

  #clean(key: K, side: JoinSide, wm: number): void {
    const buffer = this.#table.get(key, side);
    if (buffer === undefined || buffer.cleanedAt >= wm) return;
    buffer.cleanedAt = wm;
    const { records, times } = buffer;
    let kept = 0;
    let next = Number.POSITIVE_INFINITY;
    for (let i = 0; i < times.length; i++) {
      const expiry = this.#expiry(side, times[i]);
      if (expiry <= wm) continue;
      if (expiry < next) next = expiry;
      records[kept] = records[i];
      times[kept] = times[i];
      kept++;
    }
    if (kept === 0) {
      this.#table.delete(key, side);
      return;
    }
    records.length = kept;
    times.length = kept;
    buffer.timer = next;
    this.#timers.register(next, key, side);
  }

  snapshot(): unknown {
    const body: IntervalJoinSnapshotBody<K> = { table: this.#table.snapshot(), timers: this.#timers.snapshot(), watermark: this.#watermark };
    return writeSnapshot(SNAPSHOT_KIND, SNAPSHOT_VERSION, body);
  }

  #failed(record: unknown, t: number, err: unknown, batch: Batch<JoinEnvelope>, out: Output<O>): void {
    this.#ctx.recordFailed(record, t, err, batch.source, out as Output<unknown>);
  }
}
