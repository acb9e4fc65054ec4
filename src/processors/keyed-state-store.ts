import { CheckpointError, ConfigError, describe, show } from '../runtime/errors.js';
import type { StateKv, StateOp } from '../runtime/checkpoint-storage.js';
import { applyChunk, chunkOps, encodeChunk, readChunkChain, tableColumns } from '../state/heap-chunks.js';
import { HeapTable } from '../state/heap-table.js';
import type { KeyedTable, TableSnapshot } from '../state/keyed-state.js';
import { LevelTable, type LevelTableSummary } from '../state/level-table.js';
import { HeapListState, expireLists, type ListState } from './list-state.js';
import { HeapMapState, expireMaps, type MapState } from './map-state.js';
import { HeapValueState, expireValues, type ValueState } from './value-state.js';

/** The three kinds of keyed state a `process` function can declare. */
export type StateKind = 'value' | 'list' | 'map';

/** Options of a state declaration (`ctx.state.value(name, options)`…). */
export interface StateOptions {
  /**
   * Time to live in ms of processing time: an entry not written for this long reads as absent and
   * is removed. Default: entries live until cleared.
   */
  ttlMs?: number;
}

/**
 * Declares and returns state handles scoped to the current key. Declaring the same name again
 * returns the same handle (cheap: call it per record if convenient); the kind and TTL of a name
 * must not change within a run.
 *
 * @example
 * ```ts
 * const last = ctx.state.value<number>('last-seen', { ttlMs: 60_000 });
 * ```
 */
export interface KeyedStateAccess {
  value<V>(name: string, options?: StateOptions): ValueState<V>;
  list<V>(name: string, options?: StateOptions): ListState<V>;
  map<MK, MV>(name: string, options?: StateOptions): MapState<MK, MV>;
}

/** A value with the processing time (ms) it was last written, for TTL. */
export interface TtlCell<V> {
  v: V;
  at: number;
}

/** What a {@link KeyedStateStore} puts in a checkpoint (v8-serializable). */
export interface StateStoreSnapshot<K> {
  /** Entries of a heap table (empty on the LevelDB backend). */
  readonly table: TableSnapshot<K, string, unknown>;
  /** On the LevelDB backend: the table's counts; its values are in the checkpoint's state store. */
  readonly level?: LevelTableSummary;
  /** Heap backend with incremental checkpoints: the table is in the state chunks of the checkpoint database. */
  readonly chunks?: HeapChainSummary;
  /** Every state known: name, kind, TTL in ms (`null`: none). */
  readonly states: Array<[string, StateKind, number | null]>;
}

/**
 * Where the heap table of a checkpoint is: its chunk (id of the checkpoint that wrote it) and the
 * chain of chunks it applies over (see src/state/heap-chunks.ts).
 */
export interface HeapChainSummary {
  /** Id of the chunk written by this checkpoint. */
  readonly chunk: number;
  /** Chunks from the last full one to this one, both included. */
  readonly chainLength: number;
  /** Puts and deletions in those chunks: what a restore applies. */
  readonly chainEntries: number;
}

/** Longest chain of chunks before a full chunk is written again (bounds restore work and files kept). */
const MAX_CHAIN_LENGTH = 32;

/** Where a {@link KeyedStateStore} keeps its values. */
export type StoreBackend =
  | {
      readonly kind: 'heap';
      /**
       * The checkpoint database's shared state store: given, checkpoints are incremental (only the
       * entries changed since the previous checkpoint are written, as chunks in the store).
       * Absent (checkpoints off, unit tests): each snapshot holds every entry.
       */
      readonly kv?: StateKv;
    }
  | {
      readonly kind: 'leveldb';
      /** The checkpoint database's shared state store, or undefined (checkpoints off: a temporary one). */
      readonly kv: StateKv | undefined;
      /** Clean entries kept in memory; also bounds the entries changed between checkpoints (see LevelTable). */
      readonly cacheEntries: number;
      /** Ask the runtime for an early checkpoint (the operator context's hook); absent: never asked. */
      readonly requestCheckpoint?: () => void;
    };

interface Known {
  readonly kind: StateKind;
  readonly ttlMs: number | undefined;
}

interface Declared extends Known {
  readonly handle: unknown;
}

const EXPIRE = { value: expireValues, list: expireLists, map: expireMaps } as const;

/**
 * The keyed state of one `process` step: one table (heap, or LevelDB with a cache) whose namespaces are the state names,
 * the key the step is handling right now, and the processing time handles compare TTLs with.
 *
 * The operator sets `nowMs` once per call (batch, watermark, timer), not per record, and
 * {@link KeyedStateStore.enter}s each record's key before the user function runs. Handles throw
 * when used with no current key (in `open`).
 */
export class KeyedStateStore<K> implements KeyedStateAccess {
  readonly table: KeyedTable<K, string, unknown>;
  /** The LevelDB table, when that is the backend (the operator prefetches and captures through it). */
  readonly level: LevelTable<K, string, unknown> | undefined;
  /**
   * The table must see every change (LevelDB keeps copies; an incremental heap table tracks
   * writes): handles set a value again after changing it in place.
   */
  readonly writeBack: boolean;
  /** Heap table checkpointed incrementally: snapshot with {@link KeyedStateStore.captureHeap}. */
  readonly incremental: boolean;
  /** Names of every known state, for prefetching (kept in step with the known states). */
  readonly knownNames: string[] = [];
  /** Processing time (ms) that TTLs are measured against. */
  nowMs = 0;
  readonly #step: string;
  readonly #onTtlWrite: () => void;
  readonly #declared = new Map<string, Declared>();
  /** Kind and TTL of every state: declared in this run, or found in the restored checkpoint. */
  readonly #known = new Map<string, Known>();
  #key: K | undefined;
  #keyed = false;
  readonly #kv: StateKv | undefined;
  #loading: Promise<void> | undefined;
  /** Incremental heap: the last durable chunk (the base of the next delta), and the one captured since. */
  #chain: HeapChainSummary | undefined;
  #captured: HeapChainSummary | undefined;

  /**
   * @param onTtlWrite called after each write to a state with a TTL, so the operator can make
   *   sure a periodic cleanup is scheduled.
   */
  constructor(step: string, onTtlWrite: () => void, restored?: StateStoreSnapshot<K>, backend: StoreBackend = { kind: 'heap' }) {
    this.#step = step;
    this.#onTtlWrite = onTtlWrite;
    if (restored !== undefined && (!Array.isArray(restored.table) || !Array.isArray(restored.states))) {
      throw new CheckpointError(`step "${step}": restored keyed state is malformed, got ${show(restored)}`, { step });
    }
    for (const [name, kind, ttlMs] of restored?.states ?? []) {
      this.#known.set(name, { kind, ttlMs: ttlMs ?? undefined });
      this.knownNames.push(name);
    }
    if (backend.kind === 'heap') {
      if (restored?.level !== undefined) {
        throw new CheckpointError(
          `step "${step}": the checkpoint's keyed state is in the LevelDB state backend; run the step with stateBackend 'leveldb' (it cannot move back to the heap)`,
          { step },
        );
      }
      const heap = new HeapTable<K, string, unknown>(restored?.table);
      this.table = heap;
      this.level = undefined;
      this.#kv = backend.kv;
      this.incremental = backend.kv !== undefined;
      this.writeBack = this.incremental;
      if (restored?.chunks !== undefined) {
        this.#chain = restored.chunks;
        this.#loading = this.#load(restored.chunks, heap);
      } else if (this.incremental) heap.trackChanges();
      return;
    }
    this.incremental = false;
    this.#kv = backend.kv;
    for (const [name, s] of this.#known) {
      if (s.ttlMs !== undefined) {
        throw new ConfigError(`step "${step}": state "${name}" has a TTL in the restored checkpoint; TTLs are not supported on the LevelDB state backend`, { step });
      }
    }
    const level = new LevelTable<K, string, unknown>({
      step,
      kv: backend.kv,
      cacheEntries: backend.cacheEntries,
      requestCheckpoint: backend.requestCheckpoint,
      restored: restored?.level,
    });
    // A heap checkpoint moving to LevelDB: its entries become dirty, saved by the next checkpoint.
    if (restored?.level === undefined) for (const [ns, entries] of restored?.table ?? []) for (const [key, value] of entries) level.set(key, ns, value);
    this.table = level;
    this.level = level;
    this.writeBack = true;
    if (restored?.chunks !== undefined) this.#loading = this.#load(restored.chunks, level);
  }

  /**
   * Pending while the restored table is read from the checkpoint database's state chunks:
   * nothing may use the table before it settles (the operator awaits it once, before its first
   * call). Rejects with a {@link CheckpointError} when a chunk is missing or corrupt.
   */
  get loading(): Promise<void> | undefined {
    return this.#loading;
  }

  async #load(chunks: HeapChainSummary, into: KeyedTable<K, string, unknown>): Promise<void> {
    const step = this.#step;
    const kv = this.#kv;
    if (kv === undefined) {
      throw new CheckpointError(
        `step "${step}": its keyed state is in the state chunks of the checkpoint database, which this run has no access to; restore it through the job's state directory`,
        { step },
      );
    }
    try {
      const chain = await readChunkChain(kv, step, chunks.chunk);
      for (const chunk of chain) applyChunk(chunk.payload, into);
    } catch (err) {
      throw new CheckpointError(`step "${step}": cannot restore keyed state from checkpoint chunk ${chunks.chunk}: ${describe(err)}`, { step, cause: err });
    }
    // Changes are relative to the restored chunk from here on.
    if (into instanceof HeapTable) into.trackChanges();
    this.#loading = undefined;
  }

  /** Make `key` the current key. */
  enter(key: K): void {
    this.#key = key;
    this.#keyed = true;
  }

  /** No current key any more. */
  leave(): void {
    this.#key = undefined;
    this.#keyed = false;
  }

  /** The current key; throws when state is used outside a record or timer. */
  currentKey(): K {
    if (!this.#keyed) {
      throw new Error(`step "${this.#step}": keyed state can only be read or written in processElement or onTimer, where a key is current`);
    }
    return this.#key as K;
  }

  value<V>(name: string, options?: StateOptions): ValueState<V> {
    return this.#declare(name, 'value', options, (ttlMs) => new HeapValueState<K, V>(this, name, ttlMs)) as ValueState<V>;
  }

  list<V>(name: string, options?: StateOptions): ListState<V> {
    return this.#declare(name, 'list', options, (ttlMs) => new HeapListState<K, V>(this, name, ttlMs)) as ListState<V>;
  }

  map<MK, MV>(name: string, options?: StateOptions): MapState<MK, MV> {
    return this.#declare(name, 'map', options, (ttlMs) => new HeapMapState<K, MK, MV>(this, name, ttlMs)) as MapState<MK, MV>;
  }

  #declare(name: string, kind: StateKind, options: StateOptions | undefined, make: (ttlMs: number | undefined) => unknown): unknown {
    const ttlMs = options?.ttlMs;
    const found = this.#declared.get(name);
    if (ttlMs !== undefined && this.level !== undefined && found === undefined) {
      throw new ConfigError(
        `step "${this.#step}": state "${name}": ttlMs is not supported on the LevelDB state backend (expiring entries would need a scan of the store); use stateBackend 'heap' or clear the state with a timer`,
        { step: this.#step },
      );
    }
    if (found !== undefined) {
      if (found.kind === kind && found.ttlMs === ttlMs) return found.handle;
      throw new ConfigError(
        `step "${this.#step}": state "${name}" is declared as ${describeState(found)} and again as ${describeState({ kind, ttlMs })}; a name keeps one kind and TTL`,
        { step: this.#step },
      );
    }
    if (typeof name !== 'string' || name.length === 0) {
      throw new ConfigError(`step "${this.#step}": a state name must be a non-empty string, got ${show(name)}`, { step: this.#step });
    }
    if (ttlMs !== undefined && !(typeof ttlMs === 'number' && Number.isFinite(ttlMs) && ttlMs > 0)) {
      throw new ConfigError(`step "${this.#step}": state "${name}": ttlMs must be a positive number of milliseconds, got ${show(ttlMs)}`, {
        step: this.#step,
      });
    }
    const known = this.#known.get(name);
    if (known !== undefined && (known.kind !== kind || (known.ttlMs === undefined) !== (ttlMs === undefined))) {
      // The stored shape differs (a TTL wraps values with their write time): refuse rather than misread.
      throw new CheckpointError(
        `step "${this.#step}": state "${name}" was ${describeState(known)} in the restored checkpoint and is now declared as ${describeState({ kind, ttlMs })}; keep the kind and whether it has a TTL, or use a new name`,
        { step: this.#step },
      );
    }
    if (known === undefined) this.knownNames.push(name);
    this.#known.set(name, { kind, ttlMs });
    const handle = make(ttlMs);
    this.#declared.set(name, { kind, ttlMs, handle });
    return handle;
  }

  /** True when an entry written at `atMs` has outlived `ttlMs`. */
  expired(atMs: number, ttlMs: number): boolean {
    return this.nowMs - atMs >= ttlMs;
  }

  /** A handle wrote to a state with a TTL. */
  ttlWritten(): void {
    this.#onTtlWrite();
  }

  /** The shortest TTL of any known state, or +∞: the period of the cleanup. */
  get minTtlMs(): number {
    let min = Number.POSITIVE_INFINITY;
    for (const s of this.#known.values()) if (s.ttlMs !== undefined && s.ttlMs < min) min = s.ttlMs;
    return min;
  }

  /** Remove every expired entry of every state with a TTL (the periodic cleanup). */
  expireAll(): void {
    for (const [name, s] of this.#known) if (s.ttlMs !== undefined) EXPIRE[s.kind](this.table, name, s.ttlMs, this.nowMs);
  }

  /** True when some state with a TTL still holds entries (so the cleanup must run again). */
  hasTtlEntries(): boolean {
    for (const [name, s] of this.#known) if (s.ttlMs !== undefined && !this.table.entries(name).next().done) return true;
    return false;
  }

  /**
   * Incremental heap backend, at a barrier: the snapshot (chain summary and known states) and the
   * store ops writing this checkpoint's chunk. Synchronous: values are serialized now, so changes
   * after the barrier do not leak in.
   *
   * The chunk is a delta (the entries set or deleted since the previous chunk, which it names)
   * unless a full one is cheaper or needed: the table changed as a whole (more writes than
   * entries), there is no durable base (first checkpoint of the run, or the previous capture never
   * completed), the chain reached {@link MAX_CHAIN_LENGTH}, or the chain would hold more entries
   * than twice the table (restore applies every chunk of the chain).
   */
  captureHeap(checkpointId: number): { snapshot: StateStoreSnapshot<K>; ops: StateOp[] } {
    const table = this.table as HeapTable<K, string, unknown>;
    const changes = table.takeChanges();
    const base = this.#captured === undefined ? this.#chain : undefined;
    let full = changes === 'all' || base === undefined || base.chainLength >= MAX_CHAIN_LENGTH;
    let changed = 0;
    if (changes !== 'all') for (const keys of changes.values()) changed += keys.size;
    if (!full && base!.chainEntries + changed > 2 * table.size + 4096) full = true;
    let payload: Buffer[];
    try {
      payload = encodeChunk(tableColumns(table, full ? 'all' : changes));
    } catch (err) {
      // The changes taken are lost: the next chunk must be full.
      this.#chain = undefined;
      throw new CheckpointError(`step "${this.#step}": keyed state is not serializable: ${describe(err)}`, { step: this.#step, cause: err });
    }
    const entries = full ? table.size : changed;
    const ops = chunkOps(this.#step, checkpointId, full, full ? null : base!.chunk, entries, payload);
    const summary: HeapChainSummary = full
      ? { chunk: checkpointId, chainLength: 1, chainEntries: entries }
      : { chunk: checkpointId, chainLength: base!.chainLength + 1, chainEntries: base!.chainEntries + entries };
    this.#captured = summary;
    return { snapshot: { table: [], chunks: summary, states: this.#states() }, ops };
  }

  /** Checkpoint `checkpointId` is durable: an incremental heap chunk it wrote is the next delta's base. */
  checkpointComplete(checkpointId: number): void {
    this.level?.checkpointComplete(checkpointId);
    const captured = this.#captured;
    if (captured !== undefined && captured.chunk <= checkpointId) {
      this.#chain = captured.chunk === checkpointId ? captured : undefined;
      this.#captured = undefined;
    }
  }

  /** Heap backend without a state store: every entry. LevelDB backend: use {@link KeyedStateStore.capture}. */
  snapshot(): StateStoreSnapshot<K> {
    return { table: (this.table as HeapTable<K, string, unknown>).snapshot(), states: this.#states() };
  }

  /**
   * LevelDB backend, at a barrier: the snapshot (counts and known states) and the store changes
   * since the previous checkpoint, for the checkpoint's atomic batch.
   */
  async capture(checkpointId: number): Promise<{ snapshot: StateStoreSnapshot<K>; ops: StateOp[] }> {
    const { summary, ops } = await this.level!.capture(checkpointId);
    return { snapshot: { table: [], level: summary, states: this.#states() }, ops };
  }

  #states(): Array<[string, StateKind, number | null]> {
    const states: Array<[string, StateKind, number | null]> = [];
    for (const [name, s] of this.#known) states.push([name, s.kind, s.ttlMs ?? null]);
    return states;
  }
}

function describeState(s: Known): string {
  return s.ttlMs === undefined ? `a ${s.kind} state without TTL` : `a ${s.kind} state with ttlMs ${s.ttlMs}`;
}
