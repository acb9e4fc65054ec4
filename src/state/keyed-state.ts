/**
 * Keyed state: values stored per (key, namespace) inside one named table of one step. The
 * namespace is usually a window (its start) or a user-chosen state name; it lets a window fire
 * and be dropped as a whole.
 *
 * Access is synchronous over an in-memory working set, so the hot path has no promise per
 * record. A backend that keeps state elsewhere (LevelDB) loads what a batch needs through
 * `prefetch` first: one await per batch, not per record.
 */
export interface KeyedTable<K, N, V> {
  /** Value of (key, ns), or `undefined`. */
  get(key: K, ns: N): V | undefined;
  /** Store a value. Values must be serializable with the v8 serializer (checkpoints). */
  set(key: K, ns: N, value: V): void;
  /** Remove (key, ns). */
  delete(key: K, ns: N): void;
  /** Every (key, value) of a namespace, in insertion order. Do not modify the table while iterating. */
  entries(ns: N): IterableIterator<[K, V]>;
  /** Every namespace that holds at least one value. */
  namespaces(): IterableIterator<N>;
  /** Drop a namespace with all its values. */
  dropNamespace(ns: N): void;
  /** Number of (key, ns) values held. */
  readonly size: number;
  /**
   * Make every (key, ns) of `keys` × `namespaces` available to synchronous `get`. Heap tables have
   * none; a disk-backed table may return a promise, which the caller awaits once per batch.
   */
  prefetch?(keys: readonly K[], namespaces: readonly N[]): void | Promise<void>;
}

/** What a table's checkpoint snapshot holds: its entries, namespace by namespace. */
export type TableSnapshot<K, N, V> = Array<[N, Array<[K, V]>]>;
