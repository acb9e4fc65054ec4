import { CheckpointError, show } from '../runtime/errors.js';

/** The envelope every snapshot of this folder's stateful operators is written in. */
export interface VersionedSnapshot<B> {
  /** Which operator wrote it (`'keyed-process'`, `'interval-join'`, `'window-join'`). */
  readonly kind: string;
  /** Format version of `body`; bumped when its shape changes. */
  readonly version: number;
  readonly body: B;
}

/**
 * Wrap an operator's state for a checkpoint. The body is deep-copied (structured clone), so
 * processing may go on and change live state while the checkpoint is being written; the copy is
 * also what proves the state is serializable by the v8 serializer, at snapshot time rather than
 * at write time.
 *
 * @example
 * ```ts
 * const snap = writeSnapshot('interval-join', 1, { watermark: 10 });
 * ```
 */
export function writeSnapshot<B>(kind: string, version: number, body: B): VersionedSnapshot<B> {
  return { kind, version, body: structuredClone(body) };
}

/**
 * Read what {@link writeSnapshot} wrote for step `step`: `undefined` on a fresh start, the body
 * (a private copy: the same checkpoint may be restored again) otherwise. A snapshot of another
 * kind or version is a {@link CheckpointError} naming the step.
 *
 * @example
 * ```ts
 * const body = readSnapshot<{ watermark: number }>('join', 'interval-join', 1, ctx.restored);
 * ```
 */
export function readSnapshot<B>(step: string, kind: string, version: number, restored: unknown): B | undefined {
  if (restored === undefined) return undefined;
  const snap = restored as Partial<VersionedSnapshot<B>> | null;
  if (snap === null || typeof snap !== 'object' || snap.kind !== kind || snap.version !== version) {
    throw new CheckpointError(`step "${step}": restored state is not a ${kind} snapshot (version ${version}), got ${show(restored)}`, {
      step,
    });
  }
  return structuredClone(snap.body as B);
}
