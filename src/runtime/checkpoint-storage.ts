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
  readonly steps: Readonly<Record<string, { readonly bytes: number; readonly hash: string; readonly kind: string }>>;
  /** Source positions, readable without decoding step entries (for the CLI and logs). */
  readonly positions: Readonly<Record<string, unknown>>;
  /** Sum of step sizes. */
  readonly bytes: number;
}

/** Durable storage of checkpoints. Invariant: `list` only ever returns complete checkpoints. */
export interface CheckpointStorage {
  /** Complete checkpoints, oldest first. */
  list(): Promise<CheckpointMeta[]>;
  /** Store step entries and metadata atomically (durable when the promise resolves). */
  write(meta: CheckpointMeta, entries: ReadonlyMap<string, Uint8Array>): Promise<void>;
  /** Read a checkpoint's step entries; rejects with CheckpointError when one is missing or corrupt. */
  read(meta: CheckpointMeta): Promise<Map<string, Uint8Array>>;
  /** Delete every checkpoint except the newest `keep` complete ones (and any incomplete leftovers). */
  prune(keep: number): Promise<void>;
  /** Delete everything (a `--fresh` start). */
  clear(): Promise<void>;
  /** Idempotent. */
  close(): Promise<void>;
}
