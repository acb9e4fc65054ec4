import type { StateOp } from './checkpoint-storage.js';

/**
 * What an operator whose state lives in the shared state store (a LevelDB backend) returns from
 * `snapshot`: a small `snapshot` that goes in the checkpoint entry as usual, plus the changes to
 * the store since the previous checkpoint. The coordinator writes those `ops` in the same atomic
 * batch as the checkpoint's entries and metadata, so the store always equals the latest complete
 * checkpoint, and restoring loads nothing.
 *
 * Invariant: `ops` were captured at the barrier (values already serialized): changes after the
 * barrier do not leak into them. A store key written by `ops` under a checkpoint's id (chunks)
 * must be checked by the storage's `read` and dropped by its `prune` with that checkpoint.
 *
 * @example
 * ```ts
 * const delta = new StateDelta({ counts: [['n', 1]] }, [{ type: 'put', key: 'state/s\u0000n\u0000sa', value: new Uint8Array([1]) }]);
 * ```
 */
export class StateDelta {
  constructor(
    readonly snapshot: unknown,
    readonly ops: readonly StateOp[],
    /**
     * True when `ops` only add records of this checkpoint and never change what an older one
     * reads (incremental heap chunks), so every kept checkpoint stays restorable. False (the
     * LevelDB backend): the store holds only the latest checkpoint's state, and the checkpoint
     * is marked `external` (resumable only while it is the latest).
     */
    readonly versioned = false,
  ) {}
}
