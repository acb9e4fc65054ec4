import { afterEach, describe, expect, it } from 'vitest';
import { ClassicLevel } from 'classic-level';
import { CheckpointError } from '../../src/runtime/errors.js';
import { KeyedStateStore, type StateStoreSnapshot } from '../../src/processors/keyed-state-store.js';
import { decodeChunkIndex, chunkIndexKey } from '../../src/state/heap-chunks.js';
import { LevelStateKv } from '../../src/state/level-state-kv.js';
import { tempDir } from '../support/files.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function openKv(): Promise<LevelStateKv> {
  const dir = tempDir('weir-kss-');
  const db = new ClassicLevel<string, Uint8Array>(dir.dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  cleanups.push(dir.cleanup, () => db.close());
  return new LevelStateKv(db);
}

/** Take checkpoint `id` of `store`: write its chunk (as the coordinator would) and mark it complete. */
async function checkpoint(store: KeyedStateStore<string>, kv: LevelStateKv, id: number): Promise<StateStoreSnapshot<string>> {
  const { snapshot, ops } = store.captureHeap(id);
  await kv.write(ops);
  store.checkpointComplete(id);
  return structuredClone(snapshot);
}

async function restore(kv: LevelStateKv, snapshot: StateStoreSnapshot<string>, nowMs = 0): Promise<KeyedStateStore<string>> {
  const store = new KeyedStateStore<string>('s', () => undefined, snapshot, { kind: 'heap', kv });
  await store.loading;
  store.nowMs = nowMs;
  return store;
}

describe('KeyedStateStore on the heap with incremental checkpoints', () => {
  it('captures in-place changes of lists, maps and TTL cells, and expiry on read, in delta chunks', async () => {
    const kv = await openKv();
    const store = new KeyedStateStore<string>('s', () => undefined, undefined, { kind: 'heap', kv });
    expect(store.incremental).toBe(true);
    const value = store.value<number>('v', { ttlMs: 100 });
    const list = store.list<number>('l', { ttlMs: 100 });
    const map = store.map<string, number>('m');
    for (const key of ['a', 'b']) {
      store.enter(key);
      value.set(1);
      list.add(1);
      map.set('x', 1);
    }
    store.leave();
    await checkpoint(store, kv, 1); // full

    store.nowMs = 60;
    store.enter('a');
    value.set(2); // the TTL cell is updated in place
    list.add(2); // the list is pushed to in place
    map.set('y', 2); // the map is changed in place
    store.leave();
    const second = await checkpoint(store, kv, 2);
    expect(second.chunks).toEqual({ chunk: 2, chainLength: 2, chainEntries: 9 });
    expect(decodeChunkIndex((await kv.getMany([chunkIndexKey('s', 2)]))[0]!)).toMatchObject({ full: false, prev: 1, entries: 3 });

    store.nowMs = 120; // a's first list element expired: pruned in place when read
    store.enter('a');
    expect(list.get()).toEqual([2]);
    store.leave();
    const third = await checkpoint(store, kv, 3);

    const r2 = await restore(kv, second, 60);
    r2.enter('a');
    expect([r2.value<number>('v', { ttlMs: 100 }).get(), r2.list<number>('l', { ttlMs: 100 }).get(), [...r2.map<string, number>('m').entries()]]).toEqual([
      2,
      [1, 2],
      [
        ['x', 1],
        ['y', 2],
      ],
    ]);
    const r3 = await restore(kv, third, 60); // read at 60: only the pruning, not the clock, can hide element 1
    r3.enter('a');
    expect(r3.list<number>('l', { ttlMs: 100 }).get()).toEqual([2]);
    r3.enter('b');
    expect(r3.value<number>('v', { ttlMs: 100 }).get()).toBe(1);
    // A restored store goes on with deltas over the restored chunk.
    r3.value<number>('v', { ttlMs: 100 }).set(5);
    r3.leave();
    const { snapshot } = r3.captureHeap(4);
    expect(snapshot.chunks).toMatchObject({ chunk: 4, chainLength: 4 });
  });

  it('writes a full chunk again when the previous capture never completed', async () => {
    const kv = await openKv();
    const store = new KeyedStateStore<string>('s', () => undefined, undefined, { kind: 'heap', kv });
    const n = store.value<number>('n');
    store.enter('a');
    n.set(1);
    await checkpoint(store, kv, 1);
    n.set(2);
    store.captureHeap(2); // lost: never written nor completed
    n.set(3);
    const snap = await checkpoint(store, kv, 3);
    expect(snap.chunks).toEqual({ chunk: 3, chainLength: 1, chainEntries: 1 });
    const r = await restore(kv, snap);
    r.enter('a');
    expect(r.value<number>('n').get()).toBe(3);
  });

  it('fails the restore with a CheckpointError naming the step when a chunk is missing, or without a store', async () => {
    const kv = await openKv();
    const snapshot: StateStoreSnapshot<string> = { table: [], chunks: { chunk: 9, chainLength: 1, chainEntries: 0 }, states: [] };
    const store = new KeyedStateStore<string>('s', () => undefined, snapshot, { kind: 'heap', kv });
    await expect(store.loading).rejects.toThrow(CheckpointError);
    await expect(store.loading).rejects.toThrow(/step "s".*chunk 9 of step "s" is missing/);
    const noKv = new KeyedStateStore<string>('s', () => undefined, snapshot, { kind: 'heap' });
    await expect(noKv.loading).rejects.toThrow(/state chunks of the checkpoint database/);
  });
});
