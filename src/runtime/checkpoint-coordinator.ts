import { serialize } from 'node:v8';
import { createHash } from 'node:crypto';
import type { Clock } from './clock.js';
import type { CheckpointMeta, CheckpointStorage, StateOp } from './checkpoint-storage.js';
import { CheckpointError, describe } from './errors.js';
import type { JobRun } from './job-runner.js';
import { isTransactional } from './sink.js';
import type { SourceSnapshot } from './source-stage.js';
import type { CheckpointAcks } from './stage-context.js';
import { StateDelta } from './state-delta.js';

/**
 * Something that happened to a checkpoint, for logs, metrics and traces. Emitted synchronously
 * when it happens, in this order per checkpoint: `triggered`, one `acknowledged` per step (as the
 * barrier passes it), then per transactional sink `committing` and `committed`, then `completed`
 * — or `failed` at any point after `triggered`. Listeners must not throw.
 */
export type CheckpointEvent =
  | { readonly type: 'triggered'; readonly id: number; readonly kind: CheckpointKind }
  /** A step (source, operator or sink) handed over its snapshot. */
  | { readonly type: 'acknowledged'; readonly id: number; readonly step: string }
  /** The checkpoint is complete; `sink`'s transaction is being committed. */
  | { readonly type: 'committing'; readonly id: number; readonly sink: string }
  /** `sink`'s transaction is committed; `durationMs` is the wall time the commit took. */
  | { readonly type: 'committed'; readonly id: number; readonly sink: string; readonly durationMs: number }
  | { readonly type: 'completed'; readonly meta: CheckpointMeta; readonly commitMs: number }
  | { readonly type: 'failed'; readonly id: number; readonly error: unknown };

/**
 * Why a checkpoint was taken: the interval (`periodic`), a step asking for one because it holds
 * too much state changed since the last checkpoint (`early`, see
 * {@link CheckpointCoordinator.requestCheckpoint}), a graceful stop (`savepoint`), or end of input
 * (`final`). Only `savepoint` and `final` are recorded in the checkpoint's metadata.
 */
export type CheckpointKind = 'periodic' | 'early' | 'savepoint' | 'final';

export interface CoordinatorOptions {
  readonly job: string;
  readonly storage: CheckpointStorage;
  /** Time between periodic checkpoints, in ms. */
  readonly intervalMs: number;
  /** Complete checkpoints kept; older ones are pruned. */
  readonly keep: number;
  readonly clock: Clock;
  /** Id of the next checkpoint (one more than the newest stored). */
  readonly nextId: number;
  /** Sink transactions of the restored checkpoint, re-committed at start (commit is idempotent). */
  readonly restoredTxns: ReadonlyMap<string, unknown>;
  readonly onEvent?: (event: CheckpointEvent) => void;
  /** Called when a checkpoint cannot be written: the job fails. */
  readonly onFailure: (err: unknown) => void;
}

interface Pending {
  readonly id: number;
  readonly kind: CheckpointKind;
  readonly startedAt: number;
  readonly acks: Map<string, unknown>;
}

/**
 * Drives checkpoints (DESIGN.md, State and checkpoints / Exactly-once):
 * 1. on the interval it asks every source for a barrier at its next batch boundary;
 * 2. each source, operator and sink acknowledges with its snapshot (position, state, pre-committed
 *    transaction) as the barrier passes it;
 * 3. once every step acknowledged, the snapshots and the metadata record are written in one atomic
 *    write: from then on the checkpoint is complete;
 * 4. then every sink's transaction is committed, sources and operators are told, and old
 *    checkpoints are pruned.
 * One checkpoint is in flight at a time, commit included, so a checkpoint's commit always finishes
 * before the next one can complete; after a crash, recovery re-commits the latest complete
 * checkpoint's transactions (commits are idempotent) and sinks discard anything newer.
 */
export class CheckpointCoordinator implements CheckpointAcks {
  readonly holdsEnd = true;
  readonly #options: CoordinatorOptions;
  #run: JobRun | undefined;
  #participants = new Set<string>();
  #nextId: number;
  #pending: Pending | undefined;
  #queued: CheckpointKind[] = [];
  /** An early checkpoint was asked for while one was in flight: take it when that one completes. */
  #early = false;
  /** Serialises persist + commit work; `settled()` waits on it. */
  #work: Promise<void> = Promise.resolve();
  #cancelTimer: (() => void) | undefined;
  #ended = new Set<string>();
  #stopped = false;
  #idle: Array<() => void> = [];
  #completed = 0;

  constructor(options: CoordinatorOptions) {
    this.#options = options;
    this.#nextId = options.nextId;
  }

  /** Bind to the job's stages and start the interval. Re-commits restored transactions first. */
  attach(run: JobRun): void {
    this.#run = run;
    this.#participants = new Set(run.participants());
    const restored = this.#options.restoredTxns;
    if (restored.size > 0) {
      this.#enqueue(async () => {
        for (const sink of run.sinks) {
          const txn = restored.get(sink.name);
          if (txn === undefined) continue;
          await sink.ready;
          const writer = sink.writer;
          if (writer !== undefined && isTransactional(writer)) await writer.commit(txn);
        }
      });
    }
    this.#schedule();
  }

  /** Stop the interval (the job is ending). Checkpoints in flight still finish. */
  stop(): void {
    this.#stopped = true;
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
  }

  settled(): Promise<void> {
    return this.#work;
  }

  /**
   * Take a checkpoint now. Returns its id, or undefined when one is already in flight (a periodic
   * one is then skipped; an early one is taken once it completes, however many were asked for; a
   * savepoint or final one is queued after it).
   */
  trigger(kind: CheckpointKind = 'periodic'): number | undefined {
    const run = this.#run;
    if (run === undefined) return undefined;
    if (this.#pending !== undefined) {
      if (kind === 'early') this.#early = true;
      else if (kind !== 'periodic') this.#queued.push(kind);
      return undefined;
    }
    // Any checkpoint starting now captures every step afresh: it serves an early request too.
    this.#early = false;
    const id = this.#nextId++;
    this.#pending = { id, kind, startedAt: this.#options.clock.now(), acks: new Map() };
    this.#options.onEvent?.({ type: 'triggered', id, kind });
    for (const source of run.sources) source.injectBarrier(id, kind === 'savepoint', kind === 'final');
    return id;
  }

  /**
   * A step asks for an early checkpoint (its state changed since the last one grew past its bound):
   * one starts now, or right after the one in flight completes, since the one in flight may
   * already have passed that step. The interval is not reset. Ignored once the job is stopping
   * (the savepoint or final checkpoint follows anyway).
   */
  requestCheckpoint(): void {
    if (this.#stopped) return;
    this.trigger('early');
  }

  /** Checkpoints completed in this run. */
  get completed(): number {
    return this.#completed;
  }

  /**
   * Graceful stop: stop the interval, let a checkpoint in flight finish, then reserve the id the
   * sources' savepoint barriers will carry.
   */
  async reserveSavepoint(): Promise<number> {
    this.stop();
    while (this.#pending !== undefined) await new Promise<void>((resolve) => this.#idle.push(resolve));
    const id = this.#nextId++;
    this.#pending = { id, kind: 'savepoint', startedAt: this.#options.clock.now(), acks: new Map() };
    this.#options.onEvent?.({ type: 'triggered', id, kind: 'savepoint' });
    return id;
  }

  /** True when a checkpoint is in flight (its barrier is travelling or it is being written). */
  get busy(): boolean {
    return this.#pending !== undefined;
  }

  acknowledge(step: string, checkpointId: number, snapshot: unknown): void {
    const pending = this.#pending;
    if (pending === undefined || pending.id !== checkpointId) return;
    pending.acks.set(step, snapshot);
    this.#options.onEvent?.({ type: 'acknowledged', id: checkpointId, step });
    if (pending.acks.size < this.#participants.size) return;
    for (const name of this.#participants) if (!pending.acks.has(name)) return;
    this.#enqueue(() => this.#complete(pending));
  }

  sourceEnded(step: string): void {
    this.#ended.add(step);
    const run = this.#run;
    if (run !== undefined && run.sources.every((s) => this.#ended.has(s.name))) {
      this.stop();
      if (this.trigger('final') === undefined && !this.#queued.includes('final')) this.#queued.push('final');
    }
  }

  #enqueue(task: () => Promise<void>): void {
    this.#work = this.#work.then(task).catch((err: unknown) => {
      const error = err instanceof CheckpointError ? err : new CheckpointError(`checkpoint failed: ${describe(err)}`, { cause: err });
      if (this.#pending !== undefined) this.#options.onEvent?.({ type: 'failed', id: this.#pending.id, error });
      this.#options.onFailure(error);
    });
  }

  async #complete(pending: Pending): Promise<void> {
    const run = this.#run!;
    const options = this.#options;
    const entries = new Map<string, Uint8Array>();
    const steps: Record<string, { bytes: number; hash: string; kind: string; external?: boolean }> = {};
    // Changes of the shared state store (LevelDB backends): written with the entries, atomically.
    const deltas: Array<readonly StateOp[]> = [];
    const positions: Record<string, unknown> = {};
    const sourceNames = new Set(run.sources.map((s) => s.name));
    const sinkNames = new Set(run.sinks.map((s) => s.name));
    let bytes = 0;
    for (const [step, ack] of pending.acks) {
      const external = ack instanceof StateDelta;
      const snapshot = external ? ack.snapshot : ack;
      if (external) deltas.push(ack.ops);
      let data: Buffer;
      try {
        data = serialize(snapshot);
      } catch (err) {
        throw new CheckpointError(`checkpoint ${pending.id}: state of step "${step}" is not serializable: ${describe(err)}`, { cause: err, step });
      }
      entries.set(step, data);
      steps[step] = {
        bytes: data.byteLength,
        hash: createHash('sha1').update(data).digest('hex'),
        kind: sourceNames.has(step) ? 'source' : sinkNames.has(step) ? 'sink' : 'operator',
        ...(external && !(ack as StateDelta).versioned ? { external: true } : {}),
      };
      bytes += data.byteLength;
      if (sourceNames.has(step)) positions[step] = (snapshot as SourceSnapshot).position;
    }
    const meta: CheckpointMeta = {
      id: pending.id,
      job: options.job,
      createdAt: pending.startedAt,
      durationMs: options.clock.now() - pending.startedAt,
      savepoint: pending.kind === 'savepoint',
      final: pending.kind === 'final',
      steps,
      positions,
      bytes,
    };
    await options.storage.write(meta, entries, deltas.length === 1 ? deltas[0] : deltas.flat());
    const commitStart = options.clock.now();
    for (const sink of run.sinks) {
      const txn = pending.acks.get(sink.name);
      const writer = sink.writer;
      if (txn === undefined || writer === undefined || !isTransactional(writer)) continue;
      options.onEvent?.({ type: 'committing', id: pending.id, sink: sink.name });
      const started = performance.now();
      await writer.commit(txn);
      options.onEvent?.({ type: 'committed', id: pending.id, sink: sink.name, durationMs: performance.now() - started });
    }
    for (const source of run.sources) await source.checkpointComplete(pending.id);
    for (const chain of run.chains) await chain.checkpointComplete(pending.id);
    await options.storage.prune(options.keep);
    options.onEvent?.({ type: 'completed', meta, commitMs: options.clock.now() - commitStart });
    this.#completed++;
    this.#pending = undefined;
    for (const wake of this.#idle.splice(0)) wake();
    const next = this.#queued.shift();
    if (next !== undefined) this.trigger(next);
    else if (this.#early && !this.#stopped) this.trigger('early');
  }

  #schedule(): void {
    if (this.#stopped) return;
    const clock = this.#options.clock;
    this.#cancelTimer = clock.schedule(clock.now() + this.#options.intervalMs, () => {
      this.trigger('periodic');
      this.#schedule();
    });
  }
}
