import { afterEach, describe, expect, it } from 'vitest';
import { ClassicLevel } from 'classic-level';
import { AbortedError } from '../../src/runtime/errors.js';
import { LevelStateKv } from '../../src/state/level-state-kv.js';
import { LevelTable } from '../../src/state/level-table.js';
import { tempDir } from '../support/files.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A shared state store (as with checkpoints on), the table over it, and a count of early-checkpoint requests. */
async function sharedTable(cacheEntries: number, withHook = true) {
  const dir = tempDir('weir-level-bound-');
  const db = new ClassicLevel<string, Uint8Array>(dir.dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  cleanups.push(dir.cleanup, () => db.close());
  const kv = new LevelStateKv(db);
  const requests = { n: 0 };
  const table = new LevelTable<string, string, number>({
    step: 's',
    kv,
    cacheEntries,
    requestCheckpoint: withHook ? () => void requests.n++ : undefined,
  });
  cleanups.push(() => table.close());
  /** Take checkpoint `id` as the runtime does: capture, write the ops atomically, then complete. */
  const checkpoint = async (id: number) => {
    const { ops } = await table.capture(id);
    await kv.write(ops);
    table.checkpointComplete(id);
  };
  return { table, kv, requests, checkpoint };
}

/** Prefetch and write `keys` (one namespace) as a batch would. */
async function touch(table: LevelTable<string, string, number>, keys: string[], value = 1): Promise<void> {
  await table.prefetch(keys, ['n']);
  for (const k of keys) table.set(k, 'n', value);
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `k${from + i}`);

/** True when `p` is still pending after a few turns of the event loop (LevelDB reads included). */
async function stillPending(p: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void p.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 1));
  return !settled;
}

describe('LevelTable memory bound (shared store)', () => {
  it('asks for an early checkpoint once per crossing of cacheEntries dirty entries, not per batch', async () => {
    const { table, requests, checkpoint } = await sharedTable(10);
    await touch(table, range(0, 10));
    await touch(table, range(10, 11)); // 10 dirty at this prefetch: not past the bound yet
    expect(requests.n).toBe(0);
    await touch(table, range(11, 12)); // 11 dirty: crossed
    expect(requests.n).toBe(1);
    for (let i = 12; i < 18; i++) await touch(table, [`k${i}`]);
    expect(requests.n).toBe(1);
    await checkpoint(1);
    expect(table.held).toBe(0);
    await touch(table, range(100, 111));
    expect(requests.n).toBe(1);
    await touch(table, ['k200']);
    expect(requests.n).toBe(2);
  });

  it('counts dirty + pinned entries, an entry changed again while pinned once', async () => {
    const { table, kv } = await sharedTable(100);
    await touch(table, range(0, 10));
    expect(table.held).toBe(10);
    const { ops } = await table.capture(1);
    expect(table.held).toBe(10); // all pinned now
    await touch(table, range(0, 4), 2); // pinned → dirty again
    expect(table.held).toBe(10);
    await kv.write(ops);
    table.checkpointComplete(1);
    expect(table.held).toBe(4);
    await table.capture(2);
    table.checkpointComplete(2);
    expect(table.held).toBe(0);
  });

  it('prefetch waits while dirty + pinned would pass twice the cache, until the pinning checkpoint is durable', async () => {
    const { table, kv } = await sharedTable(10);
    await touch(table, range(0, 15));
    const { ops } = await table.capture(1); // 15 pinned
    await touch(table, range(15, 20)); // 15 pinned + 0 dirty + 5 incoming = 20: not past the limit (2 × 10)
    expect(table.stalls).toBe(0);
    const next = table.prefetch(['k20'], ['n']); // 15 + 5 + 1 > 20, and checkpoint 1 captured this table
    expect(next).toBeInstanceOf(Promise);
    expect(await stillPending(next as Promise<void>)).toBe(true);
    expect(table.stalls).toBe(1);
    await kv.write(ops);
    table.checkpointComplete(1);
    await next;
    table.set('k20', 'n', 1);
    expect(table.held).toBe(6);
    for (const k of range(0, 21)) {
      await table.prefetch([k], ['n']);
      expect(table.get(k, 'n')).toBe(1);
    }
  });

  it('never waits for a checkpoint that has not captured the table (that would deadlock)', async () => {
    const { table, requests } = await sharedTable(10);
    // Far past the hard limit with nothing pinned: the barrier still has to pass this step.
    for (let i = 0; i < 50; i += 5) await touch(table, range(i, i + 5));
    expect(table.held).toBe(50);
    expect(table.stalls).toBe(0);
    expect(requests.n).toBe(1);
  });

  it('without the runtime hook (checkpoints completed by the caller) it neither asks nor waits', async () => {
    const { table, requests } = await sharedTable(10, false);
    await touch(table, range(0, 30));
    await table.capture(1);
    await touch(table, range(30, 60)); // would wait with the hook: 30 pinned
    expect(table.stalls).toBe(0);
    expect(requests.n).toBe(0);
  });

  it('without checkpoints (temporary store) it never asks for one', async () => {
    let requests = 0;
    const table = new LevelTable<string, string, number>({ step: 'tmp', kv: undefined, cacheEntries: 5, requestCheckpoint: () => void requests++ });
    cleanups.push(() => table.close());
    for (let i = 0; i < 50; i += 5) await touch(table, range(i, i + 5));
    expect(requests).toBe(0);
    expect(table.stalls).toBe(0);
  });

  it('close() ends a wait with an AbortedError (a failed job)', async () => {
    const { table } = await sharedTable(5);
    await touch(table, range(0, 10));
    await table.capture(1);
    const next = table.prefetch(['x'], ['n']) as Promise<void>;
    expect(next).toBeInstanceOf(Promise);
    const failed = expect(next).rejects.toThrow(AbortedError);
    await table.close();
    await failed;
  });
});
