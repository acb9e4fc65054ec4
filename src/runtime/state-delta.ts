import type { StateOp } from './checkpoint-storage.js';

/**
 * What an operator whose state lives in the shared state store (a LevelDB backend) returns from
 * `snapshot`: a small `snapshot` that goes in the checkpoint entry as usual, plus the changes to
 * the store since the previous checkpoint. The coordinator writes those `ops` in the same atomic
 * batch as the checkpoint's entries and metadata, so the store always equals the latest complete
 * checkpoint, and restoring loads nothing.
 *
 * Invariant: `ops` were captured at the barrier (values already serialized): changes after the
 * barrier do not leak into them.
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
  ) {}
}
