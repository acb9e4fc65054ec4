import { CheckpointError, ConfigError, show } from '../runtime/errors.js';
import type { StateKv, StateOp } from '../runtime/checkpoint-storage.js';
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
  /** Every state known: name, kind, TTL in ms (`null`: none). */
  readonly states: Array<[string, StateKind, number | null]>;
}

/** Where a {@link KeyedStateStore} keeps its values. */
export type StoreBackend =
  | { readonly kind: 'heap' }
  | {
      readonly kind: 'leveldb';
      /** The checkpoint database's shared state store, or undefined (checkpoints off: a temporary one). */
      readonly kv: StateKv | undefined;
      /** Clean entries kept in memory. */
      readonly cacheEntries: number;
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
  /** The table keeps copies (LevelDB): handles set a value again after changing it in place. */
  readonly writeBack: boolean;
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
      this.table = new HeapTable(restored?.table);
      this.level = undefined;
      this.writeBack = false;
      return;
    }
    for (const [name, s] of this.#known) {
      if (s.ttlMs !== undefined) {
        throw new ConfigError(`step "${step}": state "${name}" has a TTL in the restored checkpoint; TTLs are not supported on the LevelDB state backend`, { step });
      }
    }
    const level = new LevelTable<K, string, unknown>({ step, kv: backend.kv, cacheEntries: backend.cacheEntries, restored: restored?.level });
    // A heap checkpoint moving to LevelDB: its entries become dirty, saved by the next checkpoint.
    if (restored?.level === undefined) for (const [ns, entries] of restored?.table ?? []) for (const [key, value] of entries) level.set(key, ns, value);
    this.table = level;
    this.level = level;
    this.writeBack = true;
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

  /** Heap backend: every entry. LevelDB backend: use {@link KeyedStateStore.capture}. */
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
