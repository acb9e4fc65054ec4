import type { KeyedTable } from '../state/keyed-state.js';
import type { KeyedStateStore, TtlCell } from './keyed-state-store.js';

/**
 * A map per key, from `ctx.state.map(name)` in a keyed `process` function. Every call acts on the
 * key of the record (or timer) being handled. Map keys follow `Map` semantics (objects by identity).
 *
 * With a TTL, each entry expires on its own `ttlMs` of processing time after it was last set.
 *
 * @example
 * ```ts
 * const perPage = ctx.state.map<string, number>('per-page');
 * perPage.set(record.page, (perPage.get(record.page) ?? 0) + 1);
 * ```
 */
export interface MapState<MK, MV> {
  /** The value of `mapKey` for the current key, or `undefined`. */
  get(mapKey: MK): MV | undefined;
  /** Set `mapKey` to `value` for the current key and restart the entry's TTL. */
  set(mapKey: MK, value: MV): void;
  /** True when `mapKey` has a (live) value. */
  has(mapKey: MK): boolean;
  /** Remove `mapKey`. */
  delete(mapKey: MK): void;
  /** The live entries, in insertion order. Do not set or delete while iterating. */
  entries(): IterableIterator<[MK, MV]>;
  /** The live map keys, in insertion order. */
  keys(): IterableIterator<MK>;
  /** Number of live entries. */
  readonly size: number;
  /** Remove the current key's whole map. */
  clear(): void;
}

const EMPTY_MAP: ReadonlyMap<never, never> = new Map<never, never>();

/**
 * {@link MapState} over the operator's table (heap or LevelDB) (namespace = state name). Stored as a `Map` of
 * values, or of {@link TtlCell}s when the state has a TTL. An empty map is removed from the table.
 */
export class HeapMapState<K, MK, MV> implements MapState<MK, MV> {
  readonly #store: KeyedStateStore<K>;
  readonly #table: KeyedTable<K, string, unknown>;
  readonly #name: string;
  readonly #ttlMs: number | undefined;
  /** The table keeps copies (LevelDB) or tracks writes (incremental heap): a map changed in place is set again. */
  readonly #writeBack: boolean;

  constructor(store: KeyedStateStore<K>, name: string, ttlMs: number | undefined) {
    this.#store = store;
    this.#table = store.table;
    this.#name = name;
    this.#ttlMs = ttlMs;
    this.#writeBack = store.writeBack;
  }

  /** The stored map of the current key, pruned of expired entries; `undefined` when none. */
  #map(): Map<MK, unknown> | undefined {
    const key = this.#store.currentKey();
    const map = this.#table.get(key, this.#name) as Map<MK, unknown> | undefined;
    if (map === undefined || this.#ttlMs === undefined) return map;
    const before = map.size;
    const left = pruneMap(map, this.#ttlMs, this.#store.nowMs);
    if (left === 0) {
      this.#table.delete(key, this.#name);
      return undefined;
    }
    if (left !== before && this.#writeBack) this.#table.set(key, this.#name, map);
    return map;
  }

  get(mapKey: MK): MV | undefined {
    const key = this.#store.currentKey();
    const map = this.#table.get(key, this.#name) as Map<MK, unknown> | undefined;
    if (map === undefined) return undefined;
    const stored = map.get(mapKey);
    if (stored === undefined || this.#ttlMs === undefined) return stored as MV | undefined;
    const cell = stored as TtlCell<MV>;
    if (this.#store.expired(cell.at, this.#ttlMs)) {
      this.#remove(key, map, mapKey);
      return undefined;
    }
    return cell.v;
  }

  set(mapKey: MK, value: MV): void {
    const key = this.#store.currentKey();
    let map = this.#table.get(key, this.#name) as Map<MK, unknown> | undefined;
    if (map === undefined) {
      map = new Map();
      this.#table.set(key, this.#name, map);
    }
    if (this.#ttlMs === undefined) {
      map.set(mapKey, value);
      if (this.#writeBack) this.#table.set(key, this.#name, map);
      return;
    }
    const cell = map.get(mapKey) as TtlCell<MV> | undefined;
    if (this.#writeBack) this.#table.set(key, this.#name, map);
    if (cell === undefined) map.set(mapKey, { v: value, at: this.#store.nowMs });
    else {
      cell.v = value;
      cell.at = this.#store.nowMs;
    }
    this.#store.ttlWritten();
  }

  has(mapKey: MK): boolean {
    const key = this.#store.currentKey();
    const map = this.#table.get(key, this.#name) as Map<MK, unknown> | undefined;
    if (map === undefined) return false;
    if (this.#ttlMs === undefined) return map.has(mapKey);
    const cell = map.get(mapKey) as TtlCell<MV> | undefined;
    if (cell === undefined) return false;
    if (this.#store.expired(cell.at, this.#ttlMs)) {
      this.#remove(key, map, mapKey);
      return false;
    }
    return true;
  }

  delete(mapKey: MK): void {
    const key = this.#store.currentKey();
    const map = this.#table.get(key, this.#name) as Map<MK, unknown> | undefined;
    if (map !== undefined) this.#remove(key, map, mapKey);
  }

  entries(): IterableIterator<[MK, MV]> {
    const map = this.#map();
    if (map === undefined) return (EMPTY_MAP as ReadonlyMap<MK, MV>).entries();
    if (this.#ttlMs === undefined) return (map as Map<MK, MV>).entries();
    return unwrapEntries(map as Map<MK, TtlCell<MV>>);
  }

  keys(): IterableIterator<MK> {
    return (this.#map() ?? (EMPTY_MAP as ReadonlyMap<MK, unknown>)).keys();
  }

  get size(): number {
    return this.#map()?.size ?? 0;
  }

  clear(): void {
    this.#table.delete(this.#store.currentKey(), this.#name);
  }

  #remove(key: K, map: Map<MK, unknown>, mapKey: MK): void {
    if (!map.delete(mapKey)) return;
    if (map.size === 0) this.#table.delete(key, this.#name);
    else if (this.#writeBack) this.#table.set(key, this.#name, map);
  }
}

function* unwrapEntries<MK, MV>(map: Map<MK, TtlCell<MV>>): IterableIterator<[MK, MV]> {
  for (const [mapKey, cell] of map) yield [mapKey, cell.v];
}

/** Drop the expired entries of `map` in place; returns how many are left. */
function pruneMap(map: Map<unknown, unknown>, ttlMs: number, nowMs: number): number {
  // Deleting the entry being visited is safe while iterating a Map.
  for (const [mapKey, cell] of map) if (nowMs - (cell as TtlCell<unknown>).at >= ttlMs) map.delete(mapKey);
  return map.size;
}

/** Remove every entry of state `name` that expired by `nowMs`, and maps left empty. */
export function expireMaps<K>(table: KeyedTable<K, string, unknown>, name: string, ttlMs: number, nowMs: number): void {
  const dead: K[] = [];
  const pruned: Array<[K, Map<unknown, unknown>]> = [];
  for (const [key, stored] of table.entries(name)) {
    const map = stored as Map<unknown, unknown>;
    const before = map.size;
    const left = pruneMap(map, ttlMs, nowMs);
    if (left === 0) dead.push(key);
    else if (left !== before) pruned.push([key, map]);
  }
  for (const key of dead) table.delete(key, name);
  // Set again what changed in place, for a table that tracks changes (incremental checkpoints).
  for (const [key, map] of pruned) table.set(key, name, map);
}
