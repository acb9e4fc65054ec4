import type { KeyedTable } from '../state/keyed-state.js';
import type { KeyedStateStore, TtlCell } from './keyed-state-store.js';

/**
 * One value per key, from `ctx.state.value(name)` in a keyed `process` function. Every call acts
 * on the key of the record (or timer) being handled.
 *
 * On the heap backend an object value changed in place is saved by the next checkpoint (an object
 * read counts as changed); on the LevelDB backend it must be `set` again, which is the portable way.
 *
 * With a TTL, a value not written for `ttlMs` of processing time reads as absent and is removed
 * (on access, and by the operator's periodic cleanup). Reading does not restart the TTL.
 *
 * @example
 * ```ts
 * const count = ctx.state.value<number>('count');
 * count.set((count.get() ?? 0) + 1);
 * ```
 */
export interface ValueState<V> {
  /** The current key's value, or `undefined` (never set, cleared, or expired). */
  get(): V | undefined;
  /** Store `value` for the current key and restart its TTL; `undefined` clears. */
  set(value: V): void;
  /** Remove the current key's value. */
  clear(): void;
}

/**
 * {@link ValueState} over the operator's table (heap or LevelDB) (namespace = state name). Stored as the value
 * itself, or as a {@link TtlCell} when the state has a TTL.
 */
export class HeapValueState<K, V> implements ValueState<V> {
  readonly #store: KeyedStateStore<K>;
  readonly #table: KeyedTable<K, string, unknown>;
  readonly #name: string;
  readonly #ttlMs: number | undefined;

  constructor(store: KeyedStateStore<K>, name: string, ttlMs: number | undefined) {
    this.#store = store;
    this.#table = store.table;
    this.#name = name;
    this.#ttlMs = ttlMs;
  }

  get(): V | undefined {
    const key = this.#store.currentKey();
    const stored = this.#table.get(key, this.#name);
    if (stored === undefined) return undefined;
    if (this.#ttlMs === undefined) {
      // An object read from a heap table checkpointed incrementally may be changed in place:
      // count it as changed, so the heap backend keeps saving in-place changes as it always did.
      if (this.#store.incremental && typeof stored === 'object' && stored !== null) this.#table.set(key, this.#name, stored);
      return stored as V;
    }
    const cell = stored as TtlCell<V>;
    if (this.#store.expired(cell.at, this.#ttlMs)) {
      this.#table.delete(key, this.#name);
      return undefined;
    }
    if (this.#store.incremental && typeof cell.v === 'object' && cell.v !== null) this.#table.set(key, this.#name, cell);
    return cell.v;
  }

  set(value: V): void {
    const key = this.#store.currentKey();
    if (value === undefined) {
      this.#table.delete(key, this.#name);
      return;
    }
    if (this.#ttlMs === undefined) {
      this.#table.set(key, this.#name, value);
      return;
    }
    const cell = this.#table.get(key, this.#name) as TtlCell<V> | undefined;
    // Reuse the cell: a counter updated per record should not allocate per record.
    if (cell === undefined) this.#table.set(key, this.#name, { v: value, at: this.#store.nowMs });
    else {
      cell.v = value;
      cell.at = this.#store.nowMs;
      // A table tracking changes (incremental checkpoints) must see the cell changed in place.
      if (this.#store.writeBack) this.#table.set(key, this.#name, cell);
    }
    this.#store.ttlWritten();
  }

  clear(): void {
    this.#table.delete(this.#store.currentKey(), this.#name);
  }
}

/** Remove every value of state `name` that expired by `nowMs` (periodic TTL cleanup). */
export function expireValues<K>(table: KeyedTable<K, string, unknown>, name: string, ttlMs: number, nowMs: number): void {
  const dead: K[] = [];
  for (const [key, cell] of table.entries(name)) if (nowMs - (cell as TtlCell<unknown>).at >= ttlMs) dead.push(key);
  for (const key of dead) table.delete(key, name);
}
