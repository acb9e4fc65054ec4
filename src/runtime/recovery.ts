import { deserialize } from 'node:v8';
import type { CheckpointMeta, CheckpointStorage } from './checkpoint-storage.js';
import { CheckpointError } from './errors.js';
import type { JobGraph } from './graph.js';
import type { JobObserver } from './observability/job-observer.js';
import type { ResolvedRunOptions } from './run-options.js';

/** What recovery found. */
export interface Restore {
  readonly meta: CheckpointMeta | undefined;
  readonly states: Map<string, unknown>;
  readonly nextId: number;
}

/**
 * Pick and read the checkpoint to resume from: `from` if given, else the newest complete one; a
 * corrupt checkpoint is skipped in favour of the one before it. Checks that the checkpoint belongs
 * to this job's shape: state of a step the job no longer has is an error unless allowed.
 */
export async function restoreCheckpoint(
  storage: CheckpointStorage,
  graph: JobGraph,
  cp: NonNullable<ResolvedRunOptions['checkpoints']>,
  observer: JobObserver,
): Promise<Restore> {
  if (cp.fresh) await storage.clear();
  const all = await storage.list();
  const nextId = (all.at(-1)?.id ?? 0) + 1;
  let candidates = all;
  if (cp.from !== undefined) {
    candidates = all.filter((m) => m.id === cp.from);
    if (candidates.length === 0) {
      throw new CheckpointError(`job "${graph.job}": no complete checkpoint ${cp.from} in ${cp.stateDir}; available: ${all.map((m) => m.id).join(', ') || 'none'}`);
    }
  }
  for (let i = candidates.length - 1; i >= 0; i--) {
    const meta = candidates[i];
    let entries: Map<string, Uint8Array>;
    try {
      entries = await storage.read(meta);
    } catch (err) {
      if (cp.from !== undefined) throw err;
      process.emitWarning(`weir: ${(err as Error).message}; falling back to the previous checkpoint`, { code: 'WEIR_CHECKPOINT_SKIPPED' });
      observer.checkpointSkipped(err);
      continue;
    }
    checkLatestForExternalState(graph, meta, all.at(-1)!);
    const states = new Map<string, unknown>();
    for (const [step, bytes] of entries) states.set(step, deserialize(bytes));
    checkCompatible(graph, meta, states, cp.allowNonRestoredState);
    return { meta, states, nextId };
  }
  return { meta: undefined, states: new Map(), nextId };
}

/**
 * A step whose state lives in the shared state store (LevelDB backend) can only resume from the
 * latest complete checkpoint: the store holds that checkpoint's state and no older one.
 */
function checkLatestForExternalState(graph: JobGraph, meta: CheckpointMeta, latest: CheckpointMeta): void {
  if (meta.id === latest.id) return;
  const external = Object.entries(meta.steps).filter(([, info]) => info.external === true).map(([step]) => step);
  if (external.length === 0) return;
  throw new CheckpointError(
    `job "${graph.job}": cannot resume from checkpoint ${meta.id}: the state of ${external.map((s) => `step "${s}"`).join(', ')} is in the LevelDB state backend, ` +
      `which holds only the latest checkpoint (${latest.id}); resume from ${latest.id}, or start over with --fresh`,
    { step: external[0] },
  );
}

function checkCompatible(graph: JobGraph, meta: CheckpointMeta, states: Map<string, unknown>, allowNonRestored: boolean): void {
  const names = new Set(graph.nodes.map((n) => n.name));
  const orphans = [...states].filter(([step, state]) => state !== undefined && !names.has(step)).map(([step]) => step);
  if (orphans.length > 0 && !allowNonRestored) {
    throw new CheckpointError(
      `job "${graph.job}": checkpoint ${meta.id} holds state for steps this job does not have: ${orphans.map((s) => `"${s}"`).join(', ')}; ` +
        `this job's steps are ${[...names].map((s) => `"${s}"`).join(', ')}. Rename the steps back, start over with --fresh, or pass allowNonRestoredState`,
    );
  }
  for (const step of orphans) states.delete(step);
}
