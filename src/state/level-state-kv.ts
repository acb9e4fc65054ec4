import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import type { StateKv, StateOp } from '../runtime/checkpoint-storage.js';

/**
 * A {@link StateKv} over a classic-level database: the checkpoint database (shared, not owned), or
 * a temporary one made by {@link LevelStateKv.openTemp} for a job without checkpoints, removed by
 * `close()`.
 *
 * @example
 * ```ts
 * const kv = await LevelStateKv.openTemp();
 * await kv.write([{ type: 'put', key: 'state/a', value: new Uint8Array([1]) }]);
 * await kv.close();
 * ```
 */
export class LevelStateKv implements StateKv {
  readonly #db: ClassicLevel<string, Uint8Array>;
  readonly #ownedDir: string | undefined;
  #closed = false;

  constructor(db: ClassicLevel<string, Uint8Array>, ownedDir?: string) {
    this.#db = db;
    this.#ownedDir = ownedDir;
  }

  /** A fresh database in a temporary directory, deleted on `close()`. */
  static async openTemp(): Promise<LevelStateKv> {
    const dir = await mkdtemp(join(tmpdir(), 'weir-state-'));
    // A spill store is read back one random key at a time, each read a whole table block: with
    // Snappy every such read pays a block decompression (most of the read's CPU time). The files
    // are scratch, deleted on close, so their larger size on disk costs nothing that matters.
    const db = new ClassicLevel<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view', compression: false });
    await db.open();
    return new LevelStateKv(db, dir);
  }

  getMany(keys: readonly string[]): Promise<Array<Uint8Array | undefined>> {
    return this.#db.getMany(keys as string[]);
  }

  async write(ops: readonly StateOp[]): Promise<void> {
    const batch = this.#db.batch();
    for (const op of ops) {
      if (op.type === 'put') batch.put(op.key, op.value);
      else batch.del(op.key);
    }
    await batch.write();
  }

  async clearPrefix(prefix: string): Promise<void> {
    // The upper bound bumps the last character: `prefix + '\xff'` would miss keys continuing with
    // characters above U+00FF (their UTF-8 bytes sort after it).
    const upper = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
    await this.#db.clear({ gte: prefix, lt: upper });
  }

  /** Close and delete a temporary database; nothing for a shared one (its owner closes it). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed || this.#ownedDir === undefined) return;
    this.#closed = true;
    await this.#db.close();
    await rm(this.#ownedDir, { recursive: true, force: true });
  }
}
