import type { Batch } from '../runtime/elements.js';
import { MAX_WATERMARK } from '../runtime/elements.js';
import { ConfigError, WeirError, show } from '../runtime/errors.js';
import type { Operator, OperatorContext, OperatorSpec, Output } from '../runtime/operator.js';
import type { StateBackendName } from '../runtime/run-options.js';
import { StateDelta } from '../runtime/state-delta.js';
import { TimerQueue } from '../state/timer-queue.js';
import { checkKey } from './check-key.js';
import { pollDueGroup, type DueTimer } from './due-timers.js';
import { KeyedStateStore, type KeyedStateAccess, type StateStoreSnapshot } from './keyed-state-store.js';
import { readSnapshot, writeSnapshot } from './versioned-snapshot.js';

/** Which clock a timer belongs to. */
export type TimeDomain = 'event-time' | 'processing-time';

/**
 * Timers of the current key. A timer is identified by (key, time): registering the same one twice
 * fires it once. Event-time timers fire when the watermark reaches their time (watermark ≥ time),
 * in time order (equal times: in key order), before that watermark goes downstream; at end of input every pending one fires.
 * Processing-time timers fire when the job's clock reaches their time; they do not fire at end of
 * input. Both kinds are kept in checkpoints.
 */
export interface TimerService {
  /** Call `onTimer(timestampMs)` once the watermark reaches `timestampMs` (a finite number). */
  registerEventTime(timestampMs: number): void;
  /** Cancel an event-time timer of the current key (no-op when absent). */
  deleteEventTime(timestampMs: number): void;
  /** Call `onTimer(timeMs)` once the processing-time clock reaches `timeMs` (a finite number). */
  registerProcessingTime(timeMs: number): void;
  /** Cancel a processing-time timer of the current key (no-op when absent). */
  deleteProcessingTime(timeMs: number): void;
}

/**
 * What a keyed `process` function sees. One object per step, reused for every record and timer:
 * read its fields inside the call, do not keep them.
 */
export interface KeyedProcessContext<K, O> {
  /** Key of the record or timer being handled (`undefined` in `open`). */
  readonly key: K;
  /** Event time (ms) of the record, or the time of the firing timer; `NaN` when the stream has no event time. */
  readonly timestamp: number;
  /** The step's current watermark (−∞ before the first one, +∞ at end of input). */
  readonly currentWatermark: number;
  /** In `onTimer`: which kind of timer fired. In `processElement`: `undefined`. */
  readonly timeDomain: TimeDomain | undefined;
  /** Keyed state of the current key. */
  readonly state: KeyedStateAccess;
  /** Timers of the current key. */
  readonly timers: TimerService;
  /** Current processing time in ms (the job's clock). */
  now(): number;
  /**
   * Send `record` downstream with event time `timestampMs`. Default: the current record's time;
   * in an event-time `onTimer`, the timer's time; in a processing-time `onTimer`, `NaN` (no event
   * time, as Flink erases it). Records are collected and leave as one batch per input batch.
   */
  emit(record: O, timestampMs?: number): void;
  /**
   * Send `record` to the side output `tag`, which must be declared in the step's `sideOutputs`
   * (an undeclared tag fails the job). Default time as for {@link KeyedProcessContext.emit}.
   */
  side(tag: string, record: unknown, timestampMs?: number): void;
}

/**
 * A keyed process function (Flink's KeyedProcessFunction): the escape hatch for per-key logic
 * with state and timers. Calls are sequential; none is made after the step closed.
 *
 * @example
 * ```ts
 * const dedupe: KeyedProcessFunction<{ id: string }, string, { id: string }> = {
 *   processElement(e, ctx) {
 *     const seen = ctx.state.value<boolean>('seen', { ttlMs: 3_600_000 });
 *     if (seen.get() === true) return;
 *     seen.set(true);
 *     ctx.emit(e);
 *   },
 * };
 * ```
 */
export interface KeyedProcessFunction<T, K, O> {
  /** Handle one record, with its key current. Must be synchronous. */
  processElement(record: T, ctx: KeyedProcessContext<K, O>): void;
  /** A timer of the key `ctx.key` fired; `ctx.timeDomain` says which kind. Default: nothing. */
  onTimer?(timestampMs: number, ctx: KeyedProcessContext<K, O>): void;
  /** Called once when the step is built, before any record; no key is current. Default: nothing. */
  open?(ctx: KeyedProcessContext<K, O>): void;
}

/** A {@link KeyedProcessFunction}, or just its `processElement` as a function. */
export type KeyedProcessFn<T, K, O> = KeyedProcessFunction<T, K, O> | ((record: T, ctx: KeyedProcessContext<K, O>) => void);

/**
 * Validate a process function given to the builder and bring it to object form.
 * Throws a {@link ConfigError} naming `what` when it is neither a function nor an object with a
 * `processElement` function (and function-valued `onTimer` / `open` when present).
 *
 * @example
 * ```ts
 * const fn = toKeyedProcessFunction((r: number, ctx) => ctx.emit(r), 'process');
 * ```
 */
export function toKeyedProcessFunction<T, K, O>(fn: KeyedProcessFn<T, K, O>, what: string): KeyedProcessFunction<T, K, O> {
  if (typeof fn === 'function') return { processElement: fn };
  if (fn === null || typeof fn !== 'object' || typeof fn.processElement !== 'function') {
    throw new ConfigError(`${what}: expected a function or an object with processElement(record, ctx), got ${show(fn)}`);
  }
  for (const hook of ['onTimer', 'open'] as const) {
    if (fn[hook] !== undefined && typeof fn[hook] !== 'function') {
      throw new ConfigError(`${what}: ${hook} must be a function when given, got ${show(fn[hook])}`);
    }
  }
  return fn;
}

/** Where a keyed process step keeps its state, validated by the builder. */
export interface KeyedStateOptions {
  /** `'heap'` or `'leveldb'`; default: the run's `stateBackend` (itself `'heap'` by default). */
  readonly stateBackend?: StateBackendName;
  /**
   * LevelDB backend: clean state entries kept in memory (LRU beyond it). Default 100 000. With
   * checkpoints on it also bounds the entries changed since the last checkpoint: past it the step
   * asks for an early checkpoint, and past twice it (dirty plus not yet durable) it waits for the
   * checkpoint in flight before taking the next batch.
   */
  readonly cacheEntries?: number;
}

/** Default of {@link KeyedStateOptions.cacheEntries}. */
export const DEFAULT_CACHE_ENTRIES = 100_000;

/** Stands for a record whose key selector failed in the prefetch pass: the main loop calls it again and applies the error policy. */
const NO_KEY: unique symbol = Symbol('no key');

/** What a keyed process step puts in a checkpoint (inside a versioned snapshot). */
interface ProcessSnapshotBody<K> {
  readonly state: StateStoreSnapshot<K>;
  readonly eventTimers: Array<[number, K, number]>;
  readonly processingTimers: Array<[number, K, number]>;
  readonly watermark: number;
}

const SNAPSHOT_KIND = 'keyed-process';
const SNAPSHOT_VERSION = 1;
/** Timers of a process step have no namespace beyond their key. */
const TIMER_NS = 0;

/**
 * The operator behind `keyBy(...).process(fn)`: runs `fn` per record with the record's key
 * current, keeps keyed state in a heap table (namespace = state name) and timers in timer queues.
 *
 * Per batch: the key selector and `processElement` run for each record; what they emit is
 * collected and leaves as one batch (side outputs: one batch per tag). A record whose key
 * selector or function throws follows the step's error policy; what it emitted before throwing
 * is discarded, state it changed stays changed.
 *
 * Snapshot invariant: the snapshot holds every state entry, every pending event-time and
 * processing-time timer and the watermark, as of the last record handled; restoring it and
 * replaying the input after the checkpoint gives the output of an uninterrupted run.
 *
 * State backends (`options.stateBackend`, default the run's): `'heap'` keeps the table in memory;
 * with checkpoints on (a state store) each snapshot is a {@link StateDelta} writing one chunk of
 * the entries changed since the previous checkpoint (or all of them, when cheaper), serialized at
 * the barrier, and a restore loads the chunks before the first call (see
 * KeyedStateStore.captureHeap); without a state store each snapshot copies the whole table.
 * `'leveldb'` keeps it in the checkpoint database under
 * `state/<step>` with a cache of `options.cacheEntries` clean entries: before each batch (and
 * each group of due timers) one `getMany` loads what the batch's keys need for every known state;
 * the snapshot is a {@link StateDelta} of the entries changed since the last one, written in the
 * checkpoint's atomic batch. TTLs are refused on it, and it resumes only from the latest checkpoint.
 * Its memory stays bounded between checkpoints: changed entries beyond `cacheEntries` make it ask
 * for an early checkpoint (`ctx.requestCheckpoint`), and beyond twice that it stalls until the
 * checkpoint that captured them is durable (see LevelTable).
 *
 * @param sideTags the side-output tags `fn` may use with `ctx.side`.
 * @example
 * ```ts
 * const spec = keyedProcessOperator('count', (e: { user: string }) => e.user, toKeyedProcessFunction((e, ctx) => {
 *   const n = ctx.state.value<number>('n');
 *   n.set((n.get() ?? 0) + 1);
 *   ctx.emit(n.get());
 * }, 'process'), []);
 * ```
 */
export function keyedProcessOperator<T, K, O>(
  name: string,
  key: (record: T) => K,
  fn: KeyedProcessFunction<T, K, O>,
  sideTags: readonly string[],
  stateOptions: KeyedStateOptions = {},
): OperatorSpec<T, O> {
  const tags = new Set(sideTags);
  return { name, stateless: false, create: (ctx) => new KeyedProcessOperator(name, key, fn, tags, ctx, stateOptions) };
}

function checkTime(value: number, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new TypeError(`timers.${what}: time must be a finite number of ms, got ${show(value)}`);
  return value;
}

class KeyedProcessOperator<T, K, O> implements Operator<T, O> {
  readonly #name: string;
  /** `step "<name>"`, built once: messages about a record must not cost a string per record. */
  readonly #what: string;
  readonly #keyOf: (record: T) => K;
  readonly #fn: KeyedProcessFunction<T, K, O>;
  readonly #sideTags: ReadonlySet<string>;
  readonly #op: OperatorContext;
  readonly #store: KeyedStateStore<K>;
  readonly #eventTimers: TimerQueue<K, number>;
  readonly #processingTimers: TimerQueue<K, number>;
  /** Processing times registered with the runtime and not fired yet: one runtime timer per time. */
  readonly #scheduled = new Set<number>();
  /** When the periodic TTL cleanup runs next, if scheduled. */
  #cleanupAt: number | undefined;
  /** False until restored processing-time timers were registered with the runtime again. */
  #armed: boolean;
  #watermark: number;
  readonly #ctx: KeyedProcessContext<K, O>;

  // The call in progress: what the shared context reports.
  #key: K | undefined;
  #keyed = false;
  #timestamp = Number.NaN;
  #domain: TimeDomain | undefined;
  #emitTime = Number.NaN;

  // Output of the call in progress, handed downstream as one batch when it ends.
  #records: O[] = [];
  #times: number[] = [];
  #sideTagOf: string[] = [];
  #sideRecords: unknown[] = [];
  #sideTimes: number[] = [];

  constructor(
    name: string,
    keyOf: (record: T) => K,
    fn: KeyedProcessFunction<T, K, O>,
    sideTags: ReadonlySet<string>,
    op: OperatorContext,
    stateOptions: KeyedStateOptions,
  ) {
    this.#name = name;
    this.#what = `step "${name}"`;
    this.#keyOf = keyOf;
    this.#fn = fn;
    this.#sideTags = sideTags;
    this.#op = op;
    const restored = readSnapshot<ProcessSnapshotBody<K>>(name, SNAPSHOT_KIND, SNAPSHOT_VERSION, op.restored);
    const backend = stateOptions.stateBackend ?? op.stateBackend ?? 'heap';
    this.#store = new KeyedStateStore<K>(
      name,
      () => this.#scheduleCleanup(),
      restored?.state,
      backend === 'heap'
        ? { kind: 'heap', kv: op.stateKv }
        : {
            kind: 'leveldb',
            kv: op.stateKv,
            cacheEntries: stateOptions.cacheEntries ?? DEFAULT_CACHE_ENTRIES,
            requestCheckpoint: op.requestCheckpoint === undefined ? undefined : () => op.requestCheckpoint!(),
          },
    );
    this.#eventTimers = new TimerQueue(restored?.eventTimers);
    this.#processingTimers = new TimerQueue(restored?.processingTimers);
    this.#watermark = restored?.watermark ?? Number.NEGATIVE_INFINITY;
    this.#armed = restored === undefined;
    this.#ctx = this.#makeContext();
    if (!this.#armed) {
      // The runtime cannot take timers while it is still building the step: register restored
      // ones right after, so they fire even if no element ever arrives (an idle source).
      const arm = (): void => {
        if (this.#armed || op.signal.aborted) return;
        this.#store.nowMs = op.now();
        this.#arm();
      };
      // A table restored from state chunks is usable once loaded (a failed load fails the first call instead).
      queueMicrotask(() => void (this.#store.loading === undefined ? arm() : this.#store.loading.then(arm, () => undefined)));
    }
    this.#fn.open?.(this.#ctx);
  }

  #makeContext(): KeyedProcessContext<K, O> {
    const self = this;
    const timers: TimerService = {
      registerEventTime(timestampMs) {
        self.#eventTimers.register(checkTime(timestampMs, 'registerEventTime'), self.#timerKey('registerEventTime'), TIMER_NS);
      },
      deleteEventTime(timestampMs) {
        self.#eventTimers.delete(timestampMs, self.#timerKey('deleteEventTime'), TIMER_NS);
      },
      registerProcessingTime(timeMs) {
        const time = checkTime(timeMs, 'registerProcessingTime');
        self.#processingTimers.register(time, self.#timerKey('registerProcessingTime'), TIMER_NS);
        self.#schedule(time);
      },
      deleteProcessingTime(timeMs) {
        self.#processingTimers.delete(timeMs, self.#timerKey('deleteProcessingTime'), TIMER_NS);
      },
    };
    return {
      get key() {
        return self.#key as K;
      },
      get timestamp() {
        return self.#timestamp;
      },
      get currentWatermark() {
        return self.#watermark;
      },
      get timeDomain() {
        return self.#domain;
      },
      state: this.#store,
      timers,
      now: () => this.#op.now(),
      emit(record, timestampMs) {
        self.#records.push(record);
        self.#times.push(timestampMs === undefined ? self.#emitTime : timestampMs);
      },
      side(tag, record, timestampMs) {
        if (!self.#sideTags.has(tag)) {
          const declared = self.#sideTags.size === 0 ? 'none' : [...self.#sideTags].map((t) => JSON.stringify(t)).join(', ');
          throw new ConfigError(
            `step "${self.#name}": side output ${show(tag)} is not declared; add it to the sideOutputs option of process (declared: ${declared})`,
            { step: self.#name },
          );
        }
        self.#sideTagOf.push(tag);
        self.#sideRecords.push(record);
        self.#sideTimes.push(timestampMs === undefined ? self.#emitTime : timestampMs);
      },
    };
  }

  #timerKey(what: string): K {
    if (!this.#keyed) throw new Error(`step "${this.#name}": timers.${what} needs a current key: call it in processElement or onTimer`);
    return this.#key as K;
  }

  processBatch(batch: Batch<T>, out: Output<O>): void | Promise<void> {
    const loading = this.#store.loading;
    if (loading !== undefined) return loading.then(() => this.processBatch(batch, out));
    const level = this.#store.level;
    if (level === undefined) return this.#process(batch, undefined, out);
    // LevelDB: one prefetch of every known state of the batch's keys, then the synchronous loop.
    const records = batch.records;
    const keys = new Array<K | typeof NO_KEY>(records.length);
    const distinct = new Set<K>();
    for (let i = 0; i < records.length; i++) {
      try {
        const key = this.#keyOf(records[i]);
        checkKey(key, this.#what);
        keys[i] = key;
        distinct.add(key);
      } catch {
        keys[i] = NO_KEY;
      }
    }
    const ready = level.prefetch([...distinct], this.#store.knownNames);
    if (ready === undefined) return this.#process(batch, keys, out);
    return ready.then(() => this.#process(batch, keys, out));
  }

  #process(batch: Batch<T>, keys: Array<K | typeof NO_KEY> | undefined, out: Output<O>): void | Promise<void> {
    this.#begin();
    const records = batch.records;
    const times = batch.timestamps;
    const fn = this.#fn;
    const ctx = this.#ctx;
    for (let i = 0; i < records.length; i++) {
      const record = records[i];
      const mark = this.#records.length;
      const sideMark = this.#sideRecords.length;
      try {
        const known = keys === undefined ? NO_KEY : keys[i];
        const key = known === NO_KEY ? this.#keyOf(record) : known;
        checkKey(key, this.#what);
        this.#enter(key, times[i], undefined, times[i]);
        const result = fn.processElement(record, ctx) as unknown;
        if (result !== undefined) this.#checkSync(result, 'processElement');
      } catch (err) {
        this.#rollback(mark, sideMark);
        this.#failed(err, record, times[i], batch.source, out);
      }
    }
    this.#leave();
    return this.#flush(out);
  }

  /** Fire event-time timers up to the watermark, emit what they produced, then forward it. */
  onWatermark(time: number, out: Output<O>): void | Promise<void> {
    const loading = this.#store.loading;
    if (loading !== undefined) return loading.then(() => this.onWatermark(time, out));
    this.#begin();
    if (time > this.#watermark) this.#watermark = time;
    // At end of input every pending timer fires, but not timers that firing keeps registering
    // beyond the last one pending (a timer that re-registers itself would never end otherwise).
    const upTo = time === MAX_WATERMARK ? this.#lastEventTimer() : time;
    const fired = this.#fireDue(this.#eventTimers, upTo, 'event-time', out);
    if (fired !== undefined) return fired.then(() => this.#flushThenWatermark(time, out));
    return this.#flushThenWatermark(time, out);
  }

  #flushThenWatermark(time: number, out: Output<O>): void | Promise<void> {
    const flushed = this.#flush(out);
    if (flushed !== undefined) return flushed.then(() => out.watermark(time));
    return out.watermark(time);
  }

  /**
   * Fire the timers of `queue` due by `upTo`, group by group (one time each). On the LevelDB
   * backend each group's keys are prefetched first: a promise only when that awaited the store.
   */
  #fireDue(queue: TimerQueue<K, number>, upTo: number, domain: TimeDomain, out: Output<O>): void | Promise<void> {
    const level = this.#store.level;
    for (let due = pollDueGroup(queue, upTo); due.length > 0; due = pollDueGroup(queue, upTo)) {
      if (level !== undefined && this.#fn.onTimer !== undefined) {
        const ready = level.prefetch(
          due.map((t) => t.key),
          this.#store.knownNames,
        );
        if (ready !== undefined) return ready.then(() => this.#fireGroup(due, domain, out, queue, upTo));
      }
      for (const timer of due) this.#fire(timer.time, timer.key, domain, out);
    }
  }

  #fireGroup(due: Array<DueTimer<K, number>>, domain: TimeDomain, out: Output<O>, queue: TimerQueue<K, number>, upTo: number): void | Promise<void> {
    for (const timer of due) this.#fire(timer.time, timer.key, domain, out);
    return this.#fireDue(queue, upTo, domain, out);
  }

  onProcessingTime(timeMs: number, out: Output<O>): void | Promise<void> {
    const loading = this.#store.loading;
    if (loading !== undefined) return loading.then(() => this.onProcessingTime(timeMs, out));
    this.#begin();
    this.#scheduled.delete(timeMs);
    const fired = this.#fireDue(this.#processingTimers, timeMs, 'processing-time', out);
    if (fired !== undefined) return fired.then(() => this.#afterProcessingTimers(timeMs, out));
    return this.#afterProcessingTimers(timeMs, out);
  }

  #afterProcessingTimers(timeMs: number, out: Output<O>): void | Promise<void> {
    if (this.#cleanupAt !== undefined && timeMs >= this.#cleanupAt) {
      this.#cleanupAt = undefined;
      this.#store.expireAll();
      if (this.#store.hasTtlEntries()) this.#scheduleCleanup();
    }
    return this.#flush(out);
  }

  snapshot(checkpointId: number): unknown {
    const loading = this.#store.loading;
    if (loading !== undefined) return loading.then(() => this.snapshot(checkpointId));
    if (this.#store.level !== undefined) return this.#captureDelta(checkpointId);
    if (this.#store.incremental) {
      // Heap with a state store: only the changes since the previous checkpoint, as a chunk.
      const { snapshot, ops } = this.#store.captureHeap(checkpointId);
      return new StateDelta(this.#snapshotWith(snapshot), ops, true);
    }
    return this.#snapshotWith(this.#store.snapshot());
  }

  async #captureDelta(checkpointId: number): Promise<StateDelta> {
    const { snapshot, ops } = await this.#store.capture(checkpointId);
    return new StateDelta(this.#snapshotWith(snapshot), ops);
  }

  #snapshotWith(state: StateStoreSnapshot<K>): unknown {
    const body: ProcessSnapshotBody<K> = {
      state,
      eventTimers: this.#eventTimers.snapshot(),
      processingTimers: this.#processingTimers.snapshot(),
      watermark: this.#watermark,
    };
    return writeSnapshot(SNAPSHOT_KIND, SNAPSHOT_VERSION, body);
  }

  onCheckpointComplete(checkpointId: number): void {
    this.#store.checkpointComplete(checkpointId);
  }

  close(): void | Promise<void> {
    // A restore still loading: let it settle (its failure is reported by the call that awaited it).
    const loading = this.#store.loading;
    if (loading !== undefined) return loading.then(() => this.#store.level?.close(), () => this.#store.level?.close());
    return this.#store.level?.close();
  }

  #fire(time: number, key: K, domain: TimeDomain, out: Output<O>): void {
    const fn = this.#fn;
    if (fn.onTimer === undefined) return;
    const emitTime = domain === 'event-time' ? time : Number.NaN;
    const mark = this.#records.length;
    const sideMark = this.#sideRecords.length;
    try {
      this.#enter(key, time, domain, emitTime);
      const result = fn.onTimer(time, this.#ctx) as unknown;
      if (result !== undefined) this.#checkSync(result, 'onTimer');
    } catch (err) {
      this.#rollback(mark, sideMark);
      this.#failed(err, { key, timestampMs: time, timeDomain: domain }, emitTime, undefined, out);
    }
    this.#leave();
  }

  /** Start of every call from the runtime: read the clock once, re-register restored timers. */
  #begin(): void {
    this.#store.nowMs = this.#op.now();
    if (!this.#armed) this.#arm();
  }

  #arm(): void {
    this.#armed = true;
    for (const [time] of this.#processingTimers.snapshot()) this.#schedule(time);
    if (this.#store.hasTtlEntries()) this.#scheduleCleanup();
  }

  /** Ask the runtime for `onProcessingTime(time)`, once per distinct time. */
  #schedule(time: number): void {
    if (this.#scheduled.has(time)) return;
    this.#scheduled.add(time);
    this.#op.registerProcessingTimer(time);
  }

  /** Make sure a TTL cleanup is scheduled: one pending at a time, one shortest TTL from now. */
  #scheduleCleanup(): void {
    if (this.#cleanupAt !== undefined) return;
    const ttlMs = this.#store.minTtlMs;
    if (ttlMs === Number.POSITIVE_INFINITY) return;
    this.#cleanupAt = this.#store.nowMs + ttlMs;
    this.#schedule(this.#cleanupAt);
  }

  #lastEventTimer(): number {
    let last = Number.NEGATIVE_INFINITY;
    for (const [time] of this.#eventTimers.snapshot()) if (time > last) last = time;
    return last;
  }

  #enter(key: K, timestamp: number, domain: TimeDomain | undefined, emitTime: number): void {
    this.#key = key;
    this.#keyed = true;
    this.#timestamp = timestamp;
    this.#domain = domain;
    this.#emitTime = emitTime;
    this.#store.enter(key);
  }

  #leave(): void {
    this.#key = undefined;
    this.#keyed = false;
    this.#timestamp = Number.NaN;
    this.#domain = undefined;
    this.#emitTime = Number.NaN;
    this.#store.leave();
  }

  #checkSync(result: unknown, hook: string): void {
    if (typeof (result as Promise<unknown>).then !== 'function') return;
    (result as Promise<unknown>).catch(() => undefined);
    throw new ConfigError(`step "${this.#name}": ${hook} returned a promise; process functions must be synchronous`, { step: this.#name });
  }

  /** Drop what the failed call emitted. */
  #rollback(mark: number, sideMark: number): void {
    this.#records.length = mark;
    this.#times.length = mark;
    this.#sideTagOf.length = sideMark;
    this.#sideRecords.length = sideMark;
    this.#sideTimes.length = sideMark;
  }

  /**
   * A user call threw. Weir's own errors about this step (an undeclared side output, a state
   * declared twice differently) fail the job whatever the policy; the rest follow the policy.
   */
  #failed(err: unknown, record: unknown, timestamp: number, source: string | undefined, out: Output<O>): void {
    if (err instanceof WeirError && err.step === this.#name) throw err;
    this.#op.recordFailed(record, timestamp, err, source, out as Output<unknown>);
  }

  /** Hand the collected output downstream: side outputs by tag, then the main batch. */
  #flush(out: Output<O>): void | Promise<void> {
    if (this.#sideRecords.length > 0) this.#flushSides(out);
    if (this.#records.length === 0) return;
    const records = this.#records;
    const times = this.#times;
    this.#records = [];
    this.#times = [];
    return out.emit(records, times);
  }

  #flushSides(out: Output<O>): void {
    const byTag = new Map<string, { records: unknown[]; times: number[] }>();
    const tags = this.#sideTagOf;
    for (let i = 0; i < tags.length; i++) {
      let group = byTag.get(tags[i]);
      if (group === undefined) byTag.set(tags[i], (group = { records: [], times: [] }));
      group.records.push(this.#sideRecords[i]);
      group.times.push(this.#sideTimes[i]);
    }
    this.#sideTagOf = [];
    this.#sideRecords = [];
    this.#sideTimes = [];
    for (const [tag, group] of byTag) out.side(tag, group.records, group.times);
  }
}
