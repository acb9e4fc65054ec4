import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { ClassicLevel } from 'classic-level';
import type { CheckpointMeta, CheckpointStorage, StateKv, StateOp } from '../runtime/checkpoint-storage.js';
import { CheckpointError, StateDirInUseError } from '../runtime/errors.js';
import { CHUNK_INDEX_PREFIX, chunkIndexKey, chunkPartKey, decodeChunkIndex, parseChunkIndexKey, readChunkChain } from './heap-chunks.js';
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

/** What pruning needs to know of a state chunk. */
interface ChunkRef {
  readonly step: string;
  readonly id: number;
  /** The chunk a delta applies over; `null` for a full chunk (or an unreadable index). */
  readonly prev: number | null;
  readonly parts: number;
}

function chunkRef(key: string, value: Uint8Array): ChunkRef | undefined {
  const at = parseChunkIndexKey(key);
  if (at === undefined) return undefined;
  const index = decodeChunkIndex(value);
  return { ...at, prev: index?.full === false ? index.prev : null, parts: index?.parts.length ?? 0 };
}

/** Index keys of the chunks that no chain of a kept checkpoint reaches (through `prev` links). */
function deadChunks(chunks: ReadonlyMap<string, ChunkRef>, kept: readonly CheckpointMeta[]): string[] {
  if (chunks.size === 0) return [];
  const live = new Set<string>();
  for (const meta of kept) {
    for (const step of Object.keys(meta.steps)) {
      for (let id: number | null = meta.id; id !== null; ) {
        const key = chunkIndexKey(step, id);
        const chunk = chunks.get(key);
        if (chunk === undefined || live.has(key)) break;
        live.add(key);
        id = chunk.prev;
      }
    }
  }
  return [...chunks.keys()].filter((key) => !live.has(key));
}

/**
 * Checkpoints in a LevelDB database under the job's state directory (`<stateDir>/checkpoints`).
 * Keys: `data/<id>/<step>` for each step's serialized snapshot and `meta/<id>` for the metadata;
 * both go in one atomic, synced batch, so a checkpoint is complete exactly when `meta/<id>` exists.
 * LevelDB allows one process at a time: a second job on the same directory fails to open.
 * LevelDB-backed keyed state lives in the same database under `state/` ({@link stateKv}); its
 * changes go in the checkpoint's batch, so it always equals the latest complete checkpoint.
 * Heap-backed keyed state checkpointed incrementally lives there as chunks (`heapi/`, `heapp/`,
 * see heap-chunks.ts) keyed by checkpoint: `read` checks the chunks a checkpoint needs, `prune`
 * drops those no kept checkpoint needs.
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
  /** Index of the heap state chunks in the database, by index key; loaded by `open`. */
  #chunks: Map<string, ChunkRef> | undefined;

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
      if (locked) {
        throw new StateDirInUseError(`state directory "${stateDir}" is in use by another process (LevelDB lock); stop that job or use another stateDir`, { cause: err });
      }
      throw new CheckpointError(`cannot open checkpoint store in "${stateDir}": ${(err as Error).message}`, { cause: err });
    }
    const storage = new LevelCheckpointStorage(db);
    // Read the chunk index now, before the job runs, rather than in the first prune.
    await storage.#chunkIndex();
    return storage;
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
    const chunks: Array<[string, ChunkRef]> = [];
    if (stateOps !== undefined) {
      for (let i = 0; i < stateOps.length; i++) {
        const op = stateOps[i];
        if (op.type === 'put') {
          batch.put(op.key, op.value);
          if (op.key.startsWith(CHUNK_INDEX_PREFIX)) {
            const ref = chunkRef(op.key, op.value);
            if (ref !== undefined) chunks.push([op.key, ref]);
          }
        } else batch.del(op.key);
        if (i % OPS_PER_SLICE === OPS_PER_SLICE - 1) await new Promise((resolve) => setImmediate(resolve));
      }
    }
    for (const [step, bytes] of entries) batch.put(`${DATA}${pad(meta.id)}/${step}`, bytes);
    batch.put(`${META}${pad(meta.id)}`, Buffer.from(JSON.stringify(meta)));
    await batch.write({ sync: true });
    if (this.#chunks !== undefined) for (const [key, ref] of chunks) this.#chunks.set(key, ref);
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
    await this.#checkChunks(meta);
    return out;
  }

  /**
   * Every state chunk `meta` needs is present and intact (lengths and CRCs), so that a corrupt one
   * makes recovery fall back to the previous checkpoint rather than fail the step later.
   */
  async #checkChunks(meta: CheckpointMeta): Promise<void> {
    const steps = Object.keys(meta.steps);
    if (steps.length === 0) return;
    const indexes = await this.#db.getMany(steps.map((step) => chunkIndexKey(step, meta.id)));
    const kv = this.stateKv();
    for (let i = 0; i < steps.length; i++) {
      if (indexes[i] === undefined) continue;
      try {
        await readChunkChain(kv, steps[i], meta.id, false);
      } catch (err) {
        throw new CheckpointError(`checkpoint ${meta.id}: ${(err as Error).message}`, { cause: err, step: steps[i] });
      }
    }
  }

  /**
   * Runs after every checkpoint, while the job processes batches: every async step waits for the
   * event loop, so it reads little. Metadata is read once; step entries are looked for only below
   * the oldest kept checkpoint (writes are atomic: no entry of a checkpoint without metadata can
   * exist above it); state chunks come from the in-memory index of chunks.
   */
  async prune(keep: number): Promise<void> {
    const metas: CheckpointMeta[] = [];
    const metaKeys: string[] = [];
    for await (const [key, value] of this.#db.iterator({ gte: META, lt: `${META}\xff` })) {
      metaKeys.push(key);
      try {
        metas.push(JSON.parse(Buffer.from(value).toString('utf8')) as CheckpointMeta);
      } catch {
        // An unreadable metadata record is not a complete checkpoint: deleted below.
      }
    }
    metas.sort((a, b) => a.id - b.id);
    const keptMetas = metas.slice(Math.max(0, metas.length - keep));
    const kept = new Set(keptMetas.map((m) => pad(m.id)));
    const batch = this.#db.batch();
    let n = 0;
    for (const key of metaKeys) {
      if (!kept.has(key.slice(META.length))) {
        batch.del(key);
        n++;
      }
    }
    const below = keptMetas.length === 0 ? `${DATA}\xff` : `${DATA}${pad(keptMetas[0].id)}/`;
    for await (const key of this.#db.keys({ gte: DATA, lt: below })) {
      batch.del(key);
      n++;
    }
    const chunks = await this.#chunkIndex();
    const dead = deadChunks(chunks, keptMetas);
    for (const key of dead) {
      const chunk = chunks.get(key)!;
      batch.del(key);
      for (let part = 0; part < chunk.parts; part++) batch.del(chunkPartKey(chunk.step, chunk.id, part));
      n += 1 + chunk.parts;
    }
    if (n > 0) await batch.write();
    else await batch.close();
    for (const key of dead) chunks.delete(key);
  }

  /**
   * Every state chunk's index (read once, then kept up to date by `write` and `prune`; the
   * coordinator never runs them concurrently).
   */
  async #chunkIndex(): Promise<Map<string, ChunkRef>> {
    if (this.#chunks !== undefined) return this.#chunks;
    const chunks = new Map<string, ChunkRef>();
    for await (const [key, value] of this.#db.iterator({ gte: CHUNK_INDEX_PREFIX, lt: `${CHUNK_INDEX_PREFIX}\xff` })) {
      const ref = chunkRef(key, value);
      if (ref !== undefined) chunks.set(key, ref);
    }
    this.#chunks = chunks;
    return chunks;
  }

  /** The shared state store (keys under `state/`), in this database. */
  stateKv(): StateKv {
    return new LevelStateKv(this.#db);
  }

  async clear(): Promise<void> {
    await this.#db.clear();
    this.#chunks = undefined;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#db.close();
  }
}
