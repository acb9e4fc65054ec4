import type { KeyedTable } from '../state/keyed-state.js';
import type { KeyedStateStore } from './keyed-state-store.js';

/**
 * A list per key, from `ctx.state.list(name)` in a keyed `process` function. Every call acts on
 * the key of the record (or timer) being handled.
 *
 * With a TTL, each element expires on its own `ttlMs` of processing time after it was added.
 *
 * @example
 * ```ts
 * const seen = ctx.state.list<string>('seen');
 * seen.add(record.page);
 * if (seen.get().length > 10) seen.clear();
 * ```
 */
export interface ListState<V> {
  /**
   * The current key's elements in insertion order (empty when none). The array is a view valid
   * until the next change of this state: do not modify it, copy it to keep it.
   */
  get(): readonly V[];
  /** Append one element. */
  add(value: V): void;
  /** Append several elements. */
  addAll(values: readonly V[]): void;
  /** Replace the whole list (copied); an empty array clears. */
  update(values: readonly V[]): void;
  /** Remove the current key's list. */
  clear(): void;
}

/** How a list with a TTL is stored: elements and the time each was added, index for index. */
interface TtlList<V> {
  values: V[];
  at: number[];
}

const EMPTY: readonly never[] = Object.freeze([]);

/**
 * {@link ListState} over the operator's table (heap or LevelDB) (namespace = state name). Stored as a plain
 * array, or as a {@link TtlList} when the state has a TTL. An empty list is removed from the table.
 */
export class HeapListState<K, V> implements ListState<V> {
  readonly #store: KeyedStateStore<K>;
  readonly #table: KeyedTable<K, string, unknown>;
  readonly #name: string;
  readonly #ttlMs: number | undefined;
  /** The table keeps copies (LevelDB) or tracks writes (incremental heap): a list changed in place is set again. */
  readonly #writeBack: boolean;

  constructor(store: KeyedStateStore<K>, name: string, ttlMs: number | undefined) {
    this.#store = store;
    this.#table = store.table;
    this.#name = name;
    this.#ttlMs = ttlMs;
    this.#writeBack = store.writeBack;
  }

  get(): readonly V[] {
    const key = this.#store.currentKey();
    const stored = this.#table.get(key, this.#name);
    if (stored === undefined) return EMPTY;
    if (this.#ttlMs === undefined) return stored as V[];
    const list = stored as TtlList<V>;
    const before = list.values.length;
    const left = pruneList(list, this.#ttlMs, this.#store.nowMs);
    if (left === 0) {
      this.#table.delete(key, this.#name);
      return EMPTY;
    }
    if (left !== before && this.#writeBack) this.#table.set(key, this.#name, list);
    return list.values;
  }

  add(value: V): void {
    const key = this.#store.currentKey();
    const stored = this.#table.get(key, this.#name);
    if (this.#ttlMs === undefined) {
      if (stored === undefined) this.#table.set(key, this.#name, [value]);
      else {
        (stored as V[]).push(value);
        if (this.#writeBack) this.#table.set(key, this.#name, stored);
      }
      return;
    }
    const now = this.#store.nowMs;
    if (stored === undefined) this.#table.set(key, this.#name, { values: [value], at: [now] } satisfies TtlList<V>);
    else {
      (stored as TtlList<V>).values.push(value);
      (stored as TtlList<V>).at.push(now);
      if (this.#writeBack) this.#table.set(key, this.#name, stored);
    }
    this.#store.ttlWritten();
  }

  addAll(values: readonly V[]): void {
    for (let i = 0; i < values.length; i++) this.add(values[i]);
  }

  update(values: readonly V[]): void {
    const key = this.#store.currentKey();
    if (values.length === 0) {
      this.#table.delete(key, this.#name);
      return;
    }
    if (this.#ttlMs === undefined) {
      this.#table.set(key, this.#name, values.slice());
      return;
    }
    const list: TtlList<V> = { values: values.slice(), at: new Array<number>(values.length).fill(this.#store.nowMs) };
    this.#table.set(key, this.#name, list);
    this.#store.ttlWritten();
  }

  clear(): void {
    this.#table.delete(this.#store.currentKey(), this.#name);
  }
}

/** Drop the expired elements of `list` in place; returns how many are left. */
function pruneList<V>(list: TtlList<V>, ttlMs: number, nowMs: number): number {
  const { values, at } = list;
  let kept = 0;
  for (let i = 0; i < values.length; i++) {
    if (nowMs - at[i] >= ttlMs) continue;
    values[kept] = values[i];
    at[kept] = at[i];
    kept++;
  }
  values.length = kept;
  at.length = kept;
  return kept;
}

/** Remove every element of state `name` that expired by `nowMs`, and lists left empty. */
export function expireLists<K>(table: KeyedTable<K, string, unknown>, name: string, ttlMs: number, nowMs: number): void {
  const dead: K[] = [];
  const pruned: Array<[K, TtlList<unknown>]> = [];
  for (const [key, stored] of table.entries(name)) {
    const list = stored as TtlList<unknown>;
    const before = list.values.length;
    const left = pruneList(list, ttlMs, nowMs);
    if (left === 0) dead.push(key);
    else if (left !== before) pruned.push([key, list]);
  }
  for (const key of dead) table.delete(key, name);
  // Set again what changed in place, for a table that tracks changes (incremental checkpoints).
  for (const [key, list] of pruned) table.set(key, name, list);
}
