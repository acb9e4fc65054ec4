import type { KeyedTable, TableSnapshot } from './keyed-state.js';

/**
 * A {@link KeyedTable} in the JS heap: a Map of namespaces, each a Map of keys. Fast and simple;
 * its size is bounded by memory. Snapshots copy the entries (so processing can go on while the
 * snapshot is written).
 *
 * @example
 * ```ts
 * const t = new HeapTable<string, number, number>();
 * t.set('u1', 0, 5); t.get('u1', 0); // 5
 * ```
 */
export class HeapTable<K, N, V> implements KeyedTable<K, N, V> {
  readonly #spaces = new Map<N, Map<K, V>>();
  #size = 0;

  constructor(restored?: TableSnapshot<K, N, V>) {
    if (restored !== undefined) {
      for (const [ns, entries] of restored) {
        this.#spaces.set(ns, new Map(entries));
        this.#size += entries.length;
      }
    }
  }

  get size(): number {
    return this.#size;
  }

  get(key: K, ns: N): V | undefined {
    return this.#spaces.get(ns)?.get(key);
  }

  set(key: K, ns: N, value: V): void {
    let space = this.#spaces.get(ns);
    if (space === undefined) {
      space = new Map();
      this.#spaces.set(ns, space);
    }
    const before = space.size;
    space.set(key, value);
    this.#size += space.size - before;
  }

  delete(key: K, ns: N): void {
    const space = this.#spaces.get(ns);
    if (space === undefined || !space.delete(key)) return;
    this.#size--;
    if (space.size === 0) this.#spaces.delete(ns);
  }

  /** The key map of one namespace (created when absent): hot loops use it to skip a lookup. */
  space(ns: N): Map<K, V> {
    let space = this.#spaces.get(ns);
    if (space === undefined) {
      space = new Map();
      this.#spaces.set(ns, space);
    }
    return space;
  }

  /** Recount after values were added through {@link HeapTable.space} directly. */
  recount(): void {
    let size = 0;
    for (const space of this.#spaces.values()) size += space.size;
    this.#size = size;
  }

  entries(ns: N): IterableIterator<[K, V]> {
    return (this.#spaces.get(ns) ?? new Map<K, V>()).entries();
  }

  namespaces(): IterableIterator<N> {
    return this.#spaces.keys();
  }

  dropNamespace(ns: N): void {
    const space = this.#spaces.get(ns);
    if (space === undefined) return;
    this.#size -= space.size;
    this.#spaces.delete(ns);
  }

  /** Copy of every entry, for a checkpoint. */
  snapshot(): TableSnapshot<K, N, V> {
    const out: TableSnapshot<K, N, V> = [];
    for (const [ns, space] of this.#spaces) if (space.size > 0) out.push([ns, [...space]]);
    return out;
  }
}
