import { CheckpointError, ConfigError, show } from '../runtime/errors.js';
import { HeapTable } from '../state/heap-table.js';
import type { TableSnapshot } from '../state/keyed-state.js';
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
  readonly table: TableSnapshot<K, string, unknown>;
  /** Every state known: name, kind, TTL in ms (`null`: none). */
  readonly states: Array<[string, StateKind, number | null]>;
}

interface Known {
  readonly kind: StateKind;
  readonly ttlMs: number | undefined;
}

interface Declared extends Known {
  readonly handle: unknown;
}

const EXPIRE = { value: expireValues, list: expireLists, map: expireMaps } as const;

/**
 * The keyed state of one `process` step: one heap table whose namespaces are the state names,
 * the key the step is handling right now, and the processing time handles compare TTLs with.
 *
 * The operator sets `nowMs` once per call (batch, watermark, timer), not per record, and
 * {@link KeyedStateStore.enter}s each record's key before the user function runs. Handles throw
 * when used with no current key (in `open`).
 */
export class KeyedStateStore<K> implements KeyedStateAccess {
  readonly table: HeapTable<K, string, unknown>;
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
  constructor(step: string, onTtlWrite: () => void, restored?: StateStoreSnapshot<K>) {
    this.#step = step;
    this.#onTtlWrite = onTtlWrite;
    if (restored === undefined) {
      this.table = new HeapTable();
      return;
    }
    if (!Array.isArray(restored.table) || !Array.isArray(restored.states)) {
      throw new CheckpointError(`step "${step}": restored keyed state is malformed, got ${show(restored)}`, { step });
    }
    this.table = new HeapTable(restored.table);
    for (const [name, kind, ttlMs] of restored.states) this.#known.set(name, { kind, ttlMs: ttlMs ?? undefined });
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

  snapshot(): StateStoreSnapshot<K> {
    const states: Array<[string, StateKind, number | null]> = [];
    for (const [name, s] of this.#known) states.push([name, s.kind, s.ttlMs ?? null]);
    return { table: this.table.snapshot(), states };
  }
}

function describeState(s: Known): string {
  return s.ttlMs === undefined ? `a ${s.kind} state without TTL` : `a ${s.kind} state with ttlMs ${s.ttlMs}`;
}
