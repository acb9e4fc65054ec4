import type { KeyedTable, TableSnapshot } from './keyed-state.js';

/** Change records skipped in a row at most (see {@link HeapTable.takeChanges}). */
const MAX_SKIPPED = 8;

/**
 * A {@link KeyedTable} in the JS heap: a Map of namespaces, each a Map of keys. Fast and simple;
 * its size is bounded by memory. Snapshots copy the entries (so processing can go on while the
 * snapshot is written).
 *
 * Change tracking (for incremental checkpoints, {@link HeapTable.trackChanges}): every `set` and
 * `delete` appends (namespace, key) to a log, a push and no hash lookup, which is the cheapest
 * record on the hot path. A full log is folded into per-namespace key sets (hot keys written again
 * and again take one slot); once more distinct keys changed than an eighth of the table, listing
 * them costs about what taking every entry in order costs, so the record is dropped and the table
 * counts as changed as a whole until {@link HeapTable.takeChanges}. Values changed in place (an
 * array pushed to) are not seen: set them again.
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
  /** Tracking: (ns, key) pairs written since the last `takeChanges`; `undefined`: everything changed. */
  #log: unknown[] | undefined;
  #tracking = false;
  /** Length of the log at which it is folded into the changed key sets. */
  #logLimit = 0;
  /** Distinct changed keys beyond which everything counts as changed. */
  #changedLimit = 0;
  /** Keys of folded logs, per namespace, and how many. */
  #changed = new Map<N, Set<K>>();
  #changedCount = 0;
  /** Tracking: writes since the record was dropped (or skipped). */
  #unlogged = 0;
  /** Consecutive records skipped (see {@link HeapTable.takeChanges}). */
  #skipped = 0;

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
    this.#noteChange(ns, key);
  }

  delete(key: K, ns: N): void {
    const space = this.#spaces.get(ns);
    if (space === undefined || !space.delete(key)) return;
    this.#size--;
    if (space.size === 0) this.#spaces.delete(ns);
    this.#noteChange(ns, key);
  }

  /** Tracking: record that (ns, key) was set or deleted. */
  #noteChange(ns: N, key: K): void {
    const log = this.#log;
    if (log !== undefined) {
      log.push(ns, key);
      if (log.length >= this.#logLimit) this.#fold();
    } else if (this.#tracking) this.#unlogged++;
  }

  /**
   * The key map of one namespace (created when absent): hot loops use it to skip a lookup. Writes
   * through it are not tracked: a tracking table counts as changed as a whole.
   */
  space(ns: N): Map<K, V> {
    this.#log = undefined;
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

  /** Number of values held in a namespace. */
  countIn(ns: N): number {
    return this.#spaces.get(ns)?.size ?? 0;
  }

  /** Call `fn` for every entry of a namespace (no allocation per entry, unlike `entries`). */
  forEachIn(ns: N, fn: (value: V, key: K) => void): void {
    this.#spaces.get(ns)?.forEach(fn);
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
    this.#log = undefined;
  }

  /** Start tracking changes: from now on, {@link HeapTable.takeChanges} lists what changed. */
  trackChanges(): void {
    this.#tracking = true;
    this.#restartLog();
  }

  /**
   * What changed since tracking started or the previous call: per namespace, the keys set or
   * deleted (read their values from the table now), or `'all'` when too much changed to list
   * (take every entry). Restarts the record.
   */
  takeChanges(): Map<N, Set<K>> | 'all' {
    if (!this.#tracking) throw new Error('HeapTable: takeChanges needs trackChanges() first');
    if (this.#log !== undefined) this.#fold();
    const log = this.#log;
    const changes = this.#changed;
    // Far more writes than the limit after the record was dropped: the next interval will most
    // likely change the table as a whole too, so skip its record (and the folds that would only
    // find that out), counting writes alone; record again after a quiet interval, or every
    // MAX_SKIPPED intervals to notice a workload that turned to a few hot keys.
    const skip = log === undefined && this.#unlogged >= this.#changedLimit && this.#skipped < MAX_SKIPPED;
    this.#skipped = skip ? this.#skipped + 1 : 0;
    this.#restartLog();
    if (skip) this.#log = undefined;
    return log === undefined ? 'all' : changes;
  }

  /** Fold the log into the key sets; drop the record when too many keys changed. */
  #fold(): void {
    const log = this.#log!;
    let ns: N | undefined;
    let keys: Set<K> | undefined;
    let count = this.#changedCount;
    for (let i = 0; i < log.length; i += 2) {
      if (keys === undefined || log[i] !== ns) {
        ns = log[i] as N;
        keys = this.#changed.get(ns);
        if (keys === undefined) this.#changed.set(ns, (keys = new Set()));
      }
      const before = keys.size;
      keys.add(log[i + 1] as K);
      count += keys.size - before;
    }
    this.#changedCount = count;
    if (count > this.#changedLimit) {
      this.#log = undefined;
      this.#changed = new Map();
      this.#changedCount = 0;
    } else log.length = 0;
  }

  #restartLog(): void {
    this.#log = [];
    this.#changed = new Map();
    this.#changedCount = 0;
    this.#unlogged = 0;
    // Past an eighth of the table, listing the changes (a Set to drop repeats, a random lookup
    // per key) costs about what taking every entry in order (cache-friendly) costs.
    this.#changedLimit = Math.max(4096, this.#size >>> 3);
    // Two slots per write.
    this.#logLimit = 2 * this.#changedLimit;
  }

  /** Copy of every entry, for a checkpoint. */
  snapshot(): TableSnapshot<K, N, V> {
    const out: TableSnapshot<K, N, V> = [];
    for (const [ns, space] of this.#spaces) if (space.size > 0) out.push([ns, [...space]]);
    return out;
  }
}
