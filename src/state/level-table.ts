import { deserialize, serialize } from 'node:v8';
import type { StateKv, StateOp } from '../runtime/checkpoint-storage.js';
import { AbortedError } from '../runtime/errors.js';
import type { KeyedTable } from './keyed-state.js';
import { LevelStateKv } from './level-state-kv.js';

/** What a {@link LevelTable} puts in its step's checkpoint entry: only counts, the values are in the store. */
export interface LevelTableSummary {
  readonly backend: 'leveldb';
  /** Values held per namespace. */
  readonly counts: Array<[unknown, number]>;
}

export interface LevelTableOptions {
  /** Step name: the table's keys live under `state/<step>\0`. */
  readonly step: string;
  /**
   * The checkpoint database's shared state store. Given: changes reach it only through
   * {@link LevelTable.capture} (in the checkpoint's atomic batch). Absent: the table opens a
   * temporary store, writes dirty entries to it (in the background, one write at a time) when they
   * exceed the cache, and deletes it on close.
   */
  readonly kv: StateKv | undefined;
  /**
   * Clean entries kept in memory (LRU beyond it). Dirty entries are never evicted. With a shared
   * store it is also the bound on dirty entries that makes the table ask for an early checkpoint,
   * and twice it the limit on dirty + pinned entries past which `prefetch` waits (see
   * {@link LevelTable}).
   */
  readonly cacheEntries: number;
  /**
   * With a shared store: ask the runtime for an early checkpoint (called once each time the dirty
   * entries grow past `cacheEntries` since the last capture). Given, it also says that checkpoints
   * complete without the caller's help (a runtime drives them), so `prefetch` may wait for one.
   * Absent (a caller completing checkpoints itself, as unit tests do): nothing is asked and
   * `prefetch` never waits, so memory is not bounded between checkpoints.
   */
  readonly requestCheckpoint?: () => void;
  /** The summary of the checkpoint being restored: the store already holds its values. */
  readonly restored?: LevelTableSummary;
}

const CLEAN = 0;
const DIRTY = 1;
/** Captured by a checkpoint not durable yet, or by a spill write not landed yet: not evictable (the store lacks it). */
const PINNED = 2;

interface Entry<K, N, V> {
  readonly key: K;
  readonly ns: N;
  /** `undefined`: known absent (a delete, or a miss loaded from the store). */
  value: V | undefined;
  state: number;
  /** Checkpoint that captured it, while PINNED. */
  pin: number;
  /** Prefetch round that last needed it: eviction stops at entries the current batch needs. */
  epoch: number;
  prev: Entry<K, N, V> | undefined;
  next: Entry<K, N, V> | undefined;
}

const NUMBER = 1;
const STRING = 2;
const V8 = 0;

/**
 * A value encoded for the store: numbers and strings (most counters and flags) directly, the rest
 * with the v8 serializer (whose per-call setup dominates the cost for small values).
 */
function encodeValue(value: unknown): Uint8Array {
  if (typeof value === 'number') {
    const out = Buffer.allocUnsafe(9);
    out[0] = NUMBER;
    out.writeDoubleLE(value, 1);
    return out;
  }
  if (typeof value === 'string') {
    const out = Buffer.allocUnsafe(1 + Buffer.byteLength(value));
    out[0] = STRING;
    out.write(value, 1);
    return out;
  }
  const body = serialize(value);
  const out = Buffer.allocUnsafe(1 + body.length);
  out[0] = V8;
  body.copy(out, 1);
  return out;
}

function decodeValue(bytes: Uint8Array): unknown {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (buf[0]) {
    case NUMBER:
      return buf.readDoubleLE(1);
    case STRING:
      return buf.toString('utf8', 1);
    default:
      return deserialize(buf.subarray(1));
  }
}

/** A key encoded for the store, with its type: `1` and `'1'` are two keys, as in a `Map`. */
function encodeKey(key: unknown): string {
  switch (typeof key) {
    case 'string':
      return `s${key}`;
    case 'number':
      return `n${Object.is(key, -0) ? 0 : key}`;
    case 'bigint':
      return `b${key}`;
    case 'boolean':
      return key ? 't' : 'f';
    case 'undefined':
      return 'u';
    default:
      if (key === null) return 'z';
      throw new TypeError(`LevelTable: a key must be a string, number, bigint, boolean, null or undefined, got ${typeof key}`);
  }
}

/**
 * A {@link KeyedTable} kept in LevelDB, for keyed state larger than the heap, with a bounded
 * in-memory cache. Access is synchronous over the cache: before a batch the operator awaits one
 * {@link LevelTable.prefetch} of every (key, namespace) the batch may touch (one `getMany`).
 *
 * Invariants:
 * - a (key, ns) not in the cache is absent from the table, or in the store and not needed by the
 *   current batch: `get`/`set`/`delete` of a pair that was not prefetched treat it as absent;
 * - entries prefetched in the current round are not evicted before the next round;
 * - dirty entries (written since the last capture) and pinned ones (captured by a checkpoint not
 *   yet durable, or in a spill write to the temporary store not yet landed) stay in memory;
 *   clean ones are evicted least recently prefetched first beyond `cacheEntries`;
 * - with a shared store (checkpoints on) the store is written only through the checkpoint batch,
 *   so it holds exactly the latest complete checkpoint's state.
 *
 * Memory with a shared store is bounded the way RocksDB bounds memtables, by flushing early:
 * dirty entries can only leave memory through a checkpoint, so once more than `cacheEntries` are
 * dirty the table asks for a checkpoint now (`requestCheckpoint`, once per crossing, not per
 * batch), whatever the interval. The bound is the cache size itself: the cache is what the user
 * sized for memory, so a table then holds about twice it, and the extra checkpoints cost at most
 * one per `cacheEntries` changed entries. "About": between the request and its barrier reaching
 * the step, the batches queued ahead of the barrier (a few per stream edge) must still be handled.
 * Should dirty + pinned entries still pass the hard limit (2 × `cacheEntries`, counting the
 * batch being prefetched as if all its pairs were new) while a checkpoint that already captured
 * this table is not durable, `prefetch` waits until it is (its pins are released), stalling the
 * stream instead of growing memory. It never waits for a checkpoint that has not captured this
 * table: that one needs its barrier to pass this very step, which would deadlock. The wait ends
 * in `checkpointComplete`, which the runtime calls outside the step's element loop once every
 * step downstream has seen the barrier (already emitted by this step); `close` ends it too.
 *
 * Values are stored as numbers, strings, or with the v8 serializer. A value changed in place must be written back with
 * `set`, or the change is not saved.
 *
 * `entries` and `dropNamespace` would have to scan the store: they throw (the keyed process
 * function refuses TTLs on this backend, the only user of them).
 *
 * @example
 * ```ts
 * const t = new LevelTable<string, string, number>({ step: 'count', kv: undefined, cacheEntries: 100_000 });
 * await t.prefetch(['u1'], ['n']);
 * t.set('u1', 'n', (t.get('u1', 'n') ?? 0) + 1);
 * await t.close();
 * ```
 */
export class LevelTable<K, N, V> implements KeyedTable<K, N, V> {
  readonly #prefix: string;
  readonly #shared: boolean;
  readonly #cacheEntries: number;
  readonly #restored: boolean;
  #kv: StateKv | undefined;
  #ready: Promise<void> | undefined;
  #initialized = false;
  readonly #spaces = new Map<N, Map<K, Entry<K, N, V>>>();
  readonly #nsPrefix = new Map<N, string>();
  /** Values held per namespace (in memory or in the store). */
  readonly #counts = new Map<N, number>();
  #size = 0;
  #dirty: Array<Entry<K, N, V>> = [];
  readonly #pinned: Array<{ readonly id: number; readonly entries: Array<Entry<K, N, V>> }> = [];
  // LRU list of clean entries: head is evicted first.
  #head: Entry<K, N, V> | undefined;
  #tail: Entry<K, N, V> | undefined;
  #lruCount = 0;
  #epoch = 0;
  #closed = false;
  readonly #requestCheckpoint: (() => void) | undefined;
  /** Shared store: entries PINNED by a capture whose checkpoint is not durable yet. */
  #pinnedCount = 0;
  /** An early checkpoint was asked for since the last capture. */
  #requested = false;
  /** While a prefetch waits for the pinned checkpoints: resolved (or rejected) by `#wake`. */
  #release: { readonly promise: Promise<void>; readonly resolve: () => void; readonly reject: (err: unknown) => void } | undefined;
  #stalls = 0;
  /**
   * Without checkpoints: the write of the last spilled batch, while in flight (its entries are
   * pinned in memory until it lands). At most one at a time: two batch writes on the thread pool
   * may land in either order, and the later one can hold a newer value of the same key.
   */
  #spilling: Promise<void> | undefined;
  /** A spill write failed: the next prefetch rejects with it. */
  #spillError: unknown;

  constructor(options: LevelTableOptions) {
    this.#prefix = `state/${options.step}\u0000`;
    this.#kv = options.kv;
    this.#shared = options.kv !== undefined;
    this.#cacheEntries = options.cacheEntries;
    this.#requestCheckpoint = options.requestCheckpoint;
    this.#restored = options.restored !== undefined;
    for (const [ns, n] of options.restored?.counts ?? []) {
      this.#counts.set(ns as N, n);
      this.#size += n;
    }
  }

  get size(): number {
    return this.#size;
  }

  /** Entries held in memory (clean, dirty and pinned). */
  get cached(): number {
    let n = 0;
    for (const space of this.#spaces.values()) n += space.size;
    return n;
  }

  /**
   * Dirty plus pinned entries: what only a checkpoint (or a spill write) can release. Internal,
   * for tests and diagnostics.
   * @internal
   */
  get held(): number {
    return this.#dirty.length + this.#pinnedCount;
  }

  /** Prefetches that waited for a checkpoint to become durable (back-pressure). Internal, for tests and diagnostics. @internal */
  get stalls(): number {
    return this.#stalls;
  }

  get(key: K, ns: N): V | undefined {
    return this.#spaces.get(ns)?.get(key)?.value;
  }

  set(key: K, ns: N, value: V): void {
    const space = this.#space(ns);
    const entry = space.get(key);
    if (entry === undefined) {
      const created: Entry<K, N, V> = { key, ns, value, state: DIRTY, pin: 0, epoch: this.#epoch, prev: undefined, next: undefined };
      space.set(key, created);
      this.#dirty.push(created);
      this.#count(ns, 1);
      return;
    }
    if (entry.value === undefined) this.#count(ns, 1);
    entry.value = value;
    this.#markDirty(entry);
  }

  delete(key: K, ns: N): void {
    const entry = this.#spaces.get(ns)?.get(key);
    if (entry === undefined || entry.value === undefined) return;
    entry.value = undefined;
    this.#count(ns, -1);
    this.#markDirty(entry);
  }

  entries(_ns: N): IterableIterator<[K, V]> {
    throw new Error(`LevelTable "${this.#prefix.slice(6, -1)}": iterating a namespace is not supported on the LevelDB backend`);
  }

  *namespaces(): IterableIterator<N> {
    for (const [ns, n] of this.#counts) if (n > 0) yield ns;
  }

  dropNamespace(_ns: N): void {
    throw new Error(`LevelTable "${this.#prefix.slice(6, -1)}": dropping a namespace is not supported on the LevelDB backend`);
  }

  /**
   * Make every (key, ns) of `keys` × `namespaces` readable synchronously, evicting clean entries
   * beyond the cache size first. Returns `undefined` when everything was in memory (no await);
   * otherwise one promise for one `getMany`.
   */
  prefetch(keys: readonly K[], namespaces: readonly N[]): void | Promise<void> {
    if (this.#spillError !== undefined) return Promise.reject(this.#spillError);
    if (this.#shared) {
      const dirty = this.#dirty.length;
      if (dirty > this.#cacheEntries && !this.#requested) {
        this.#requested = true;
        this.#requestCheckpoint?.();
      }
      // Only pinned entries prove that the checkpoint in flight already passed this table, so
      // that waiting for it cannot deadlock (see the class comment).
      // The batch's pairs count as if all were new: after it the table is then within the limit.
      const incoming = keys.length * namespaces.length;
      if (this.#requestCheckpoint !== undefined && this.#pinnedCount > 0 && dirty + this.#pinnedCount + incoming > 2 * this.#cacheEntries) {
        return this.#stall(keys, namespaces);
      }
    }
    const epoch = ++this.#epoch;
    let missKeys: string[] | undefined;
    let missAt: Array<[Map<K, Entry<K, N, V>>, K, N]> | undefined;
    for (let j = 0; j < namespaces.length; j++) {
      const ns = namespaces[j];
      const space = this.#space(ns);
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i];
        const entry = space.get(key);
        if (entry !== undefined) {
          entry.epoch = epoch;
          if (entry.state === CLEAN) this.#touch(entry);
          continue;
        }
        (missKeys ??= []).push(this.#dbKey(key, ns));
        (missAt ??= []).push([space, key, ns]);
      }
    }
    this.#evict(missKeys?.length ?? 0);
    const flush = !this.#shared && this.#dirty.length > this.#cacheEntries;
    if (missKeys === undefined && !flush && this.#initialized) return;
    return this.#load(missKeys ?? [], missAt ?? [], epoch, flush);
  }

  /** Back-pressure: wait until every captured checkpoint is durable, then prefetch. */
  async #stall(keys: readonly K[], namespaces: readonly N[]): Promise<void> {
    this.#stalls++;
    if (this.#release === undefined) {
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.#release = { promise, resolve, reject };
    }
    await this.#release.promise;
    // The pins are gone now, so this does not wait again.
    await this.prefetch(keys, namespaces);
  }

  /** End a prefetch's wait for pinned checkpoints: they are durable (`err` undefined) or the table closed. */
  #wake(err?: unknown): void {
    const release = this.#release;
    if (release === undefined) return;
    this.#release = undefined;
    if (err === undefined) release.resolve();
    else release.reject(err);
  }

  async #load(dbKeys: string[], at: Array<[Map<K, Entry<K, N, V>>, K, N]>, epoch: number, flush: boolean): Promise<void> {
    const kv = await this.#init();
    if (flush) {
      // The spill write is not awaited, so it overlaps the processing of this batch and the next
      // ones (as a checkpoint's write does); waiting here for the previous one keeps writes in order
      // and holds the job back only when the store cannot keep up.
      if (this.#spilling !== undefined) await this.#spilling;
      if (this.#spillError !== undefined) throw this.#spillError;
      this.#spill(kv);
    }
    if (dbKeys.length === 0) return;
    const values = await kv.getMany(dbKeys);
    for (let i = 0; i < values.length; i++) {
      const [space, key, ns] = at[i];
      // A set during the await is impossible (calls are sequential), but stay safe: keep the newer.
      if (space.has(key)) continue;
      const bytes = values[i];
      const entry: Entry<K, N, V> = {
        key,
        ns,
        value: bytes === undefined ? undefined : (decodeValue(bytes) as V),
        state: CLEAN,
        pin: 0,
        epoch,
        prev: undefined,
        next: undefined,
      };
      space.set(key, entry);
      this.#link(entry);
    }
  }

  /**
   * At a checkpoint barrier: the changes since the previous capture, as store ops (values
   * serialized now, so later changes do not leak in), and the summary for the checkpoint entry.
   * The captured entries stay in memory until {@link LevelTable.checkpointComplete}(`checkpointId`).
   */
  async capture(checkpointId: number): Promise<{ summary: LevelTableSummary; ops: StateOp[] }> {
    await this.#init();
    const dirty = this.#dirty;
    this.#dirty = [];
    const ops: StateOp[] = new Array<StateOp>(dirty.length);
    for (let i = 0; i < dirty.length; i++) {
      const entry = dirty[i];
      const key = this.#dbKey(entry.key, entry.ns);
      ops[i] = entry.value === undefined ? { type: 'del', key } : { type: 'put', key, value: encodeValue(entry.value) };
      entry.state = PINNED;
      entry.pin = checkpointId;
    }
    this.#pinnedCount += dirty.length;
    this.#requested = false;
    this.#pinned.push({ id: checkpointId, entries: dirty });
    return { summary: this.summary(), ops };
  }

  /** The counts, for a checkpoint entry. */
  summary(): LevelTableSummary {
    return { backend: 'leveldb', counts: [...this.#counts].filter(([, n]) => n > 0) };
  }

  /** Checkpoint `checkpointId` is durable: what it captured is in the store, so it may be evicted. */
  checkpointComplete(checkpointId: number): void {
    while (this.#pinned.length > 0 && this.#pinned[0].id <= checkpointId) {
      const { id, entries } = this.#pinned.shift()!;
      for (const entry of entries) {
        if (entry.state !== PINNED || entry.pin !== id) continue;
        entry.state = CLEAN;
        this.#pinnedCount--;
        this.#link(entry);
      }
    }
    if (this.#pinned.length === 0) this.#wake();
  }

  /** Release a temporary store (deleting it). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // A failed job closes the table while a batch may still wait for its checkpoint: end that wait.
    this.#wake(new AbortedError(`LevelTable "${this.#prefix.slice(6, -1)}": closed while waiting for a checkpoint to become durable`));
    await this.#ready?.catch(() => undefined);
    // A spill write still running would fail (or be lost) once the store is closed and deleted.
    await this.#spilling;
    if (!this.#shared && this.#kv instanceof LevelStateKv) await this.#kv.close();
  }

  /** Open the temporary store, or clear what a previous run left under the prefix when not restoring. */
  #init(): Promise<StateKv> {
    this.#ready ??= (async () => {
      if (this.#kv === undefined) this.#kv = await LevelStateKv.openTemp();
      // A fresh start (or a restore from another backend) must not see stale values of this step.
      if (!this.#restored) await this.#kv.clearPrefix(this.#prefix);
      this.#initialized = true;
    })();
    return this.#ready.then(() => this.#kv!);
  }

  /**
   * Without checkpoints: start writing the dirty entries to the temporary store; they become
   * evictable once it lands. Entries of the batch in flight stay in memory (pinned), so no read of
   * the store can miss their values in the meantime.
   */
  #spill(kv: StateKv): void {
    const write = this.#flushDirty(kv).then(
      () => {
        if (this.#spilling === write) this.#spilling = undefined;
      },
      (err: unknown) => {
        this.#spillError = err;
        if (this.#spilling === write) this.#spilling = undefined;
      },
    );
    this.#spilling = write;
  }

  /** Write the dirty entries to the temporary store, then make them clean (evictable). */
  async #flushDirty(kv: StateKv): Promise<void> {
    const dirty = this.#dirty;
    this.#dirty = [];
    const ops: StateOp[] = new Array<StateOp>(dirty.length);
    for (let i = 0; i < dirty.length; i++) {
      const entry = dirty[i];
      const key = this.#dbKey(entry.key, entry.ns);
      ops[i] = entry.value === undefined ? { type: 'del', key } : { type: 'put', key, value: encodeValue(entry.value) };
      entry.state = PINNED;
    }
    await kv.write(ops);
    for (const entry of dirty) {
      if (entry.state !== PINNED) continue;
      entry.state = CLEAN;
      this.#link(entry);
    }
  }

  #space(ns: N): Map<K, Entry<K, N, V>> {
    let space = this.#spaces.get(ns);
    if (space === undefined) {
      space = new Map();
      this.#spaces.set(ns, space);
    }
    return space;
  }

  #dbKey(key: K, ns: N): string {
    let prefix = this.#nsPrefix.get(ns);
    if (prefix === undefined) {
      prefix = `${this.#prefix}${String(ns)}\u0000`;
      this.#nsPrefix.set(ns, prefix);
    }
    return prefix + encodeKey(key);
  }

  #count(ns: N, delta: number): void {
    this.#counts.set(ns, (this.#counts.get(ns) ?? 0) + delta);
    this.#size += delta;
  }

  #markDirty(entry: Entry<K, N, V>): void {
    if (entry.state === DIRTY) return;
    if (entry.state === CLEAN) this.#unlink(entry);
    else if (this.#shared) this.#pinnedCount--;
    entry.state = DIRTY;
    this.#dirty.push(entry);
  }

  /** Evict clean entries, least recently needed first, until `incoming` more fit; never ones this round needs. */
  #evict(incoming: number): void {
    const epoch = this.#epoch;
    while (this.#lruCount + incoming > this.#cacheEntries) {
      const head = this.#head;
      if (head === undefined || head.epoch === epoch) return;
      this.#unlink(head);
      this.#spaces.get(head.ns)?.delete(head.key);
    }
  }

  #touch(entry: Entry<K, N, V>): void {
    if (entry === this.#tail) return;
    this.#unlink(entry);
    this.#link(entry);
  }

  #link(entry: Entry<K, N, V>): void {
    entry.prev = this.#tail;
    entry.next = undefined;
    if (this.#tail === undefined) this.#head = entry;
    else this.#tail.next = entry;
    this.#tail = entry;
    this.#lruCount++;
  }

  #unlink(entry: Entry<K, N, V>): void {
    if (entry.prev === undefined) this.#head = entry.next;
    else entry.prev.next = entry.next;
    if (entry.next === undefined) this.#tail = entry.prev;
    else entry.next.prev = entry.prev;
    entry.prev = undefined;
    entry.next = undefined;
    this.#lruCount--;
  }
}
