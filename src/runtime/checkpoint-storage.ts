/**
 * Where checkpoints live. The runtime talks to this interface only; the LevelDB implementation is
 * in src/state. A checkpoint is complete exactly when its metadata record exists: `write` stores
 * the step entries and the metadata in one atomic write, so a crash leaves either all or nothing.
 */

/** What a checkpoint's metadata record holds. */
export interface CheckpointMeta {
  readonly id: number;
  readonly job: string;
  /** Wall-clock time the checkpoint was triggered, ms since the epoch. */
  readonly createdAt: number;
  /** From trigger to durable, in ms. */
  readonly durationMs: number;
  /** Taken on a graceful stop. */
  readonly savepoint: boolean;
  /** Taken after every source reached the end of its input: resuming from it produces nothing new. */
  readonly final: boolean;
  /** Per step: serialized size in bytes and a hash of the bytes (to detect corruption). */
  readonly steps: Readonly<
    Record<
      string,
      {
        readonly bytes: number;
        readonly hash: string;
        readonly kind: string;
        /**
         * True when part of the step's state is not in its entry but in the storage's shared state
         * store (a LevelDB state backend), which only ever holds the latest complete checkpoint's
         * state: such a checkpoint can be resumed only while it is the latest.
         */
        readonly external?: boolean;
      }
    >
  >;
  /** Source positions, readable without decoding step entries (for the CLI and logs). */
  readonly positions: Readonly<Record<string, unknown>>;
  /** Sum of step sizes. */
  readonly bytes: number;
}

/** One change of the shared state store, written in the same atomic batch as a checkpoint. */
export type StateOp = { readonly type: 'put'; readonly key: string; readonly value: Uint8Array } | { readonly type: 'del'; readonly key: string };

/**
 * A key-value store that state backends keeping state outside the heap (LevelDB) share with the
 * checkpoints. Keys are strings; every step keeps its keys under its own prefix. Changes made while
 * checkpoints are on go through {@link CheckpointStorage.write}, never through `write` here, so the
 * store always holds exactly the state of the latest complete checkpoint (plus, for records keyed
 * by checkpoint such as heap state chunks, those that kept checkpoints still need).
 */
export interface StateKv {
  /** Values of `keys` (undefined where absent), in order. */
  getMany(keys: readonly string[]): Promise<Array<Uint8Array | undefined>>;
  /** Apply `ops` atomically (only for stores not tied to checkpoints: a temporary one). */
  write(ops: readonly StateOp[]): Promise<void>;
  /** Delete every key starting with `prefix`. */
  clearPrefix(prefix: string): Promise<void>;
}

/** Durable storage of checkpoints. Invariant: `list` only ever returns complete checkpoints. */
export interface CheckpointStorage {
  /** Complete checkpoints, oldest first. */
  list(): Promise<CheckpointMeta[]>;
  /**
   * Store step entries, metadata and `stateOps` (changes of the shared state store, see
   * {@link StateKv}) in one atomic write (durable when the promise resolves).
   */
  write(meta: CheckpointMeta, entries: ReadonlyMap<string, Uint8Array>, stateOps?: readonly StateOp[]): Promise<void>;
  /** Read a checkpoint's step entries; rejects with CheckpointError when one is missing or corrupt. */
  read(meta: CheckpointMeta): Promise<Map<string, Uint8Array>>;
  /** Delete every checkpoint except the newest `keep` complete ones (and any incomplete leftovers). */
  prune(keep: number): Promise<void>;
  /**
   * The shared state store of this storage, for LevelDB-backed keyed state. Optional: a storage
   * without one makes such steps use a temporary store (and fail to resume).
   */
  stateKv?(): StateKv;
  /** Delete everything, state store included (a `--fresh` start). */
  clear(): Promise<void>;
  /** Idempotent. */
  close(): Promise<void>;
}
