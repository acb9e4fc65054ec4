import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { ClassicLevel } from 'classic-level';
import type { CheckpointMeta, CheckpointStorage, StateKv, StateOp } from '../runtime/checkpoint-storage.js';
import { CheckpointError } from '../runtime/errors.js';
import { LevelStateKv } from './level-state-kv.js';

const META = 'meta/';
const DATA = 'data/';
/** Ops added to the batch between yields to the event loop, so a large state delta does not stall the stream. */
const OPS_PER_SLICE = 20_000;

/** Fixed-width id so LevelDB's byte order is numeric order. */
function pad(id: number): string {
  return String(id).padStart(12, '0');
}

/** Hash of a step entry, stored in the metadata to detect a corrupt entry on restore. */
export function entryHash(bytes: Uint8Array): string {
  return createHash('sha1').update(bytes).digest('hex');
}

/**
 * Checkpoints in a LevelDB database under the job's state directory (`<stateDir>/checkpoints`).
 * Keys: `data/<id>/<step>` for each step's serialized snapshot and `meta/<id>` for the metadata;
 * both go in one atomic, synced batch, so a checkpoint is complete exactly when `meta/<id>` exists.
 * LevelDB allows one process at a time: a second job on the same directory fails to open.
 * LevelDB-backed keyed state lives in the same database under `state/` ({@link stateKv}); its
 * changes go in the checkpoint's batch, so it always equals the latest complete checkpoint.
 *
 * @example
 * ```ts
 * const storage = await LevelCheckpointStorage.open('.weir/clicks');
 * const complete = await storage.list();
 * await storage.close();
 * ```
 */
export class LevelCheckpointStorage implements CheckpointStorage {
  readonly #db: ClassicLevel<string, Uint8Array>;
  #closed = false;

  private constructor(db: ClassicLevel<string, Uint8Array>) {
    this.#db = db;
  }

  /** Open (creating) the checkpoint database of a state directory. */
  static async open(stateDir: string): Promise<LevelCheckpointStorage> {
    const location = `${stateDir}/checkpoints`;
    await mkdir(location, { recursive: true });
    const db = new ClassicLevel<string, Uint8Array>(location, { keyEncoding: 'utf8', valueEncoding: 'view' });
    try {
      await db.open();
    } catch (err) {
      const locked = (err as { code?: string; cause?: { code?: string } }).cause?.code === 'LEVEL_LOCKED' || /lock/i.test(String(err));
      throw new CheckpointError(
        locked
          ? `state directory "${stateDir}" is in use by another process (LevelDB lock); stop that job or use another stateDir`
          : `cannot open checkpoint store in "${stateDir}": ${(err as Error).message}`,
        { cause: err },
      );
    }
    return new LevelCheckpointStorage(db);
  }

  async list(): Promise<CheckpointMeta[]> {
    const out: CheckpointMeta[] = [];
    for await (const [, value] of this.#db.iterator({ gte: META, lt: `${META}\xff` })) {
      try {
        out.push(JSON.parse(Buffer.from(value).toString('utf8')) as CheckpointMeta);
      } catch {
        // An unreadable metadata record is not a complete checkpoint.
      }
    }
    return out.sort((a, b) => a.id - b.id);
  }

  async write(meta: CheckpointMeta, entries: ReadonlyMap<string, Uint8Array>, stateOps?: readonly StateOp[]): Promise<void> {
    const batch = this.#db.batch();
    if (stateOps !== undefined) {
      for (let i = 0; i < stateOps.length; i++) {
        const op = stateOps[i];
        if (op.type === 'put') batch.put(op.key, op.value);
        else batch.del(op.key);
        if (i % OPS_PER_SLICE === OPS_PER_SLICE - 1) await new Promise((resolve) => setImmediate(resolve));
      }
    }
    for (const [step, bytes] of entries) batch.put(`${DATA}${pad(meta.id)}/${step}`, bytes);
    batch.put(`${META}${pad(meta.id)}`, Buffer.from(JSON.stringify(meta)));
    await batch.write({ sync: true });
  }

  async read(meta: CheckpointMeta): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    const prefix = `${DATA}${pad(meta.id)}/`;
    for await (const [key, value] of this.#db.iterator({ gte: prefix, lt: `${prefix}\xff` })) out.set(key.slice(prefix.length), value);
    for (const [step, info] of Object.entries(meta.steps)) {
      const bytes = out.get(step);
      if (bytes === undefined) throw new CheckpointError(`checkpoint ${meta.id}: entry of step "${step}" is missing`);
      if (bytes.byteLength !== info.bytes || entryHash(bytes) !== info.hash) {
        throw new CheckpointError(`checkpoint ${meta.id}: entry of step "${step}" is corrupt (size or hash differs)`);
      }
    }
    return out;
  }

  async prune(keep: number): Promise<void> {
    const complete = await this.list();
    const kept = new Set(complete.slice(Math.max(0, complete.length - keep)).map((m) => pad(m.id)));
    const batch = this.#db.batch();
    let n = 0;
    for await (const key of this.#db.keys({ gte: META, lt: `${META}\xff` })) {
      if (!kept.has(key.slice(META.length))) {
        batch.del(key);
        n++;
      }
    }
    for await (const key of this.#db.keys({ gte: DATA, lt: `${DATA}\xff` })) {
      const id = key.slice(DATA.length, DATA.length + 12);
      if (!kept.has(id)) {
        batch.del(key);
        n++;
      }
    }
    if (n > 0) await batch.write();
    else await batch.close();
  }

  /** The shared state store (keys under `state/`), in this database. */
  stateKv(): StateKv {
    return new LevelStateKv(this.#db);
  }

  async clear(): Promise<void> {
    await this.#db.clear();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#db.close();
  }
}
