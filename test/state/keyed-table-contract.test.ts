import { afterEach, describe, expect, it, vi } from 'vitest';
import { ClassicLevel } from 'classic-level';
import type { StateOp } from '../../src/runtime/checkpoint-storage.js';
import { applyChunk, chunkOps, encodeChunk, readChunkChain, tableColumns } from '../../src/state/heap-chunks.js';
import { HeapTable } from '../../src/state/heap-table.js';
import type { KeyedTable } from '../../src/state/keyed-state.js';
import { LevelStateKv } from '../../src/state/level-state-kv.js';
import { LevelTable, type LevelTableSummary } from '../../src/state/level-table.js';
import { tempDir } from '../support/files.js';

/**
 * A table under test, with the backend-specific way to make keys readable, take a checkpoint and
 * restore from it. `checkpoint` returns a restore function giving a new table with the state as of
 * that checkpoint.
 */
interface Harness {
  readonly table: KeyedTable<string, string, unknown>;
  prefetch(keys: string[], namespaces: string[]): Promise<void>;
  checkpoint(): Promise<() => Promise<Harness>>;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function heapHarness(table = new HeapTable<string, string, unknown>()): Harness {
  return {
    table,
    prefetch: async () => undefined,
    checkpoint: async () => {
      const snap = structuredClone(table.snapshot());
      return async () => heapHarness(new HeapTable(snap));
    },
  };
}

/**
 * A HeapTable checkpointed incrementally: the first checkpoint writes a full chunk, later ones the
 * changes as deltas over it (as the keyed state store does); restore reads the chain back.
 */
async function incrementalHeapHarness(): Promise<Harness> {
  const dir = tempDir('weir-heap-incremental-table-');
  const db = new ClassicLevel<string, Uint8Array>(dir.dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  cleanups.push(dir.cleanup, () => db.close());
  const kv = new LevelStateKv(db);
  let id = 0;
  const make = (table: HeapTable<string, string, unknown>, base: number | undefined): Harness => {
    table.trackChanges();
    return {
      table,
      prefetch: async () => undefined,
      checkpoint: async () => {
        const changes = table.takeChanges();
        const full = base === undefined;
        const chunk = ++id;
        const ops = chunkOps('contract', chunk, full, full ? null : base!, 0, encodeChunk(tableColumns(table, full ? 'all' : changes)));
        await kv.write(ops);
        base = chunk;
        return async () => {
          const restored = new HeapTable<string, string, unknown>();
          for (const c of await readChunkChain(kv, 'contract', chunk)) applyChunk(c.payload, restored);
          return make(restored, chunk);
        };
      },
    };
  };
  // A first (full) checkpoint of the empty table, so the contract's checkpoints are deltas.
  const h = make(new HeapTable(), undefined);
  await h.checkpoint();
  return h;
}

/** A LevelTable over a real LevelDB (the checkpoint storage's role played by applying the captured ops). */
async function levelHarness(cacheEntries = 1000): Promise<Harness> {
  const dir = tempDir('weir-level-table-');
  const db = new ClassicLevel<string, Uint8Array>(dir.dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  cleanups.push(dir.cleanup, () => db.close());
  const kv = new LevelStateKv(db);
  let id = 0;
  const make = (restored?: LevelTableSummary): Harness => {
    const table = new LevelTable<string, string, unknown>({ step: 'contract', kv, cacheEntries, restored });
    cleanups.push(() => table.close());
    return {
      table,
      prefetch: async (keys, namespaces) => {
        await table.prefetch(keys, namespaces);
      },
      checkpoint: async () => {
        const { summary, ops } = await table.capture(++id);
        await kv.write(ops as StateOp[]);
        table.checkpointComplete(id);
        const kept = structuredClone(summary);
        return async () => make(kept);
      },
    };
  };
  return make();
}

const backends: Array<[string, () => Promise<Harness>]> = [
  ['HeapTable', async () => heapHarness()],
  ['HeapTable (incremental chunks)', () => incrementalHeapHarness()],
  ['LevelTable', () => levelHarness()],
];

describe.each(backends)('KeyedTable contract: %s', (_name, open) => {
  it('get / set / delete by (key, namespace)', async () => {
    const h = await open();
    const t = h.table;
    await h.prefetch(['a', 'b'], ['x', 'y']);
    expect(t.get('a', 'x')).toBeUndefined();
    t.set('a', 'x', 1);
    t.set('a', 'y', 2);
    t.set('b', 'x', { deep: [1, 2] });
    expect(t.get('a', 'x')).toBe(1);
    expect(t.get('a', 'y')).toBe(2);
    expect(t.get('b', 'x')).toEqual({ deep: [1, 2] });
    expect(t.get('b', 'y')).toBeUndefined();
    t.set('a', 'x', 3);
    expect(t.get('a', 'x')).toBe(3);
    t.delete('a', 'x');
    t.delete('a', 'x');
    t.delete('zz', 'x');
    expect(t.get('a', 'x')).toBeUndefined();
  });

  it('counts values and lists namespaces that hold some', async () => {
    const h = await open();
    const t = h.table;
    await h.prefetch(['a', 'b', 'c'], ['x', 'y']);
    expect(t.size).toBe(0);
    expect([...t.namespaces()]).toEqual([]);
    t.set('a', 'x', 1);
    t.set('b', 'x', 1);
    t.set('b', 'x', 2);
    t.set('c', 'y', 1);
    expect(t.size).toBe(3);
    expect([...t.namespaces()].sort()).toEqual(['x', 'y']);
    t.delete('c', 'y');
    expect(t.size).toBe(2);
    expect([...t.namespaces()]).toEqual(['x']);
  });

  it('restores exactly the state as of the checkpoint, not later changes', async () => {
    const h = await open();
    const t = h.table;
    const keys = Array.from({ length: 50 }, (_, i) => `k${i}`);
    await h.prefetch(keys, ['n', 'm']);
    for (const [i, k] of keys.entries()) t.set(k, 'n', i);
    t.set('k1', 'm', ['list', 1]);
    t.delete('k2', 'n');
    const restore = await h.checkpoint();
    t.set('k3', 'n', 'after');
    t.delete('k4', 'n');
    t.set('new', 'n', 1);

    const r = await restore();
    await r.prefetch([...keys, 'new'], ['n', 'm']);
    expect(r.table.size).toBe(50);
    expect(r.table.get('k3', 'n')).toBe(3);
    expect(r.table.get('k4', 'n')).toBe(4);
    expect(r.table.get('k2', 'n')).toBeUndefined();
    expect(r.table.get('new', 'n')).toBeUndefined();
    expect(r.table.get('k1', 'm')).toEqual(['list', 1]);
    expect([...r.table.namespaces()].sort()).toEqual(['m', 'n']);
  });

  it('keeps number and string keys apart', async () => {
    const h = await open();
    const t = h.table as unknown as KeyedTable<unknown, string, unknown>;
    await h.prefetch([1, '1'] as unknown as string[], ['x']);
    t.set(1, 'x', 'num');
    t.set('1', 'x', 'str');
    const restore = await h.checkpoint();
    const r = await restore();
    await r.prefetch([1, '1'] as unknown as string[], ['x']);
    const rt = r.table as unknown as KeyedTable<unknown, string, unknown>;
    expect([rt.get(1, 'x'), rt.get('1', 'x')]).toEqual(['num', 'str']);
  });
});

describe('LevelTable', () => {
  it('evicts clean entries beyond the cache and reloads them through prefetch', async () => {
    const h = await levelHarness(10);
    const t = h.table as LevelTable<string, string, unknown>;
    const keys = Array.from({ length: 100 }, (_, i) => `k${i}`);
    for (let i = 0; i < keys.length; i += 5) {
      const slice = keys.slice(i, i + 5);
      await h.prefetch(slice, ['n']);
      for (const k of slice) t.set(k, 'n', k.toUpperCase());
    }
    await h.checkpoint();
    // Now clean: the next prefetch rounds evict down to the cache size.
    await h.prefetch(['k0'], ['n']);
    expect(t.cached).toBeLessThanOrEqual(11);
    for (let i = 0; i < keys.length; i += 7) {
      const slice = keys.slice(i, i + 7);
      await h.prefetch(slice, ['n']);
      for (const k of slice) expect(t.get(k, 'n')).toBe(k.toUpperCase());
      expect(t.cached).toBeLessThanOrEqual(10 + 7);
    }
    expect(t.size).toBe(100);
  });

  it('never evicts dirty entries, nor those captured by a checkpoint not yet durable', async () => {
    const dir = tempDir('weir-level-table-');
    const db = new ClassicLevel<string, Uint8Array>(dir.dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
    await db.open();
    cleanups.push(dir.cleanup, () => db.close());
    const t = new LevelTable<string, string, number>({ step: 's', kv: new LevelStateKv(db), cacheEntries: 2 });
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    for (const k of keys) {
      await t.prefetch([k], ['n']);
      t.set(k, 'n', 1);
    }
    // Nothing is in the store yet, so every value must still be in memory.
    await t.prefetch(['other'], ['n']);
    expect(t.cached).toBeGreaterThanOrEqual(20);
    const { ops } = await t.capture(1);
    expect(ops).toHaveLength(20);
    await t.prefetch(['other2'], ['n']);
    for (const k of keys) expect(t.get(k, 'n')).toBe(1);
    await new LevelStateKv(db).write(ops);
    t.checkpointComplete(1);
    await t.prefetch(['k0'], ['n']);
    expect(t.cached).toBeLessThanOrEqual(3);
    await t.prefetch(['k19'], ['n']);
    expect(t.get('k19', 'n')).toBe(1);
  });

  it('without a shared store, spills dirty entries to a temporary store that close() removes', async () => {
    const t = new LevelTable<string, string, number>({ step: 'tmp', kv: undefined, cacheEntries: 5 });
    const keys = Array.from({ length: 50 }, (_, i) => `k${i}`);
    for (const k of keys) {
      await t.prefetch([k], ['n']);
      t.set(k, 'n', Number(k.slice(1)));
    }
    await t.prefetch(['x'], ['n']);
    await t.prefetch(['y'], ['n']);
    expect(t.cached).toBeLessThanOrEqual(7);
    for (const k of keys) {
      await t.prefetch([k], ['n']);
      expect(t.get(k, 'n')).toBe(Number(k.slice(1)));
    }
    await t.close();
  });

  it('without a shared store, a spill waits for the one in flight, so a key changed in between keeps its newest value', async () => {
    const t = new LevelTable<string, string, number>({ step: 'tmp', kv: undefined, cacheEntries: 1 });
    const original = LevelStateKv.prototype.write;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    let pending = 0;
    let overlapped = 0;
    // The first spill lands only when the test says so; a second write starting before then would
    // be free to land first, leaving the older value in the store.
    const write = vi.spyOn(LevelStateKv.prototype, 'write').mockImplementation(async function (this: LevelStateKv, ops: readonly StateOp[]) {
      if (pending > 0) overlapped++;
      pending++;
      try {
        if (++calls === 1) await gate;
        await original.call(this, ops);
      } finally {
        pending--;
      }
    });
    try {
      for (const k of ['a', 'b']) {
        await t.prefetch([k], ['n']);
        t.set(k, 'n', 1);
      }
      await t.prefetch(['c'], ['n']); // spills a=1, b=1 (held)
      await t.prefetch(['a', 'c'], ['n']);
      t.set('a', 'n', 2);
      t.set('c', 'n', 2);
      const next = t.prefetch(['d'], ['n']); // would spill a=2, c=2
      await new Promise((resolve) => setImmediate(resolve));
      release();
      await next;
      for (let i = 0; i < 4; i++) await t.prefetch([`x${i}`], ['n']);
      expect(overlapped).toBe(0);
      expect(calls).toBeGreaterThanOrEqual(2);
      for (const [k, v] of [['a', 2], ['b', 1], ['c', 2]] as const) {
        await t.prefetch([k], ['n']);
        expect(t.get(k, 'n')).toBe(v);
      }
    } finally {
      release();
      write.mockRestore();
      await t.close();
    }
  });

  it('without a shared store, a failed spill write rejects the next prefetch and close() still releases the store', async () => {
    const t = new LevelTable<string, string, number>({ step: 'tmp', kv: undefined, cacheEntries: 1 });
    const write = vi.spyOn(LevelStateKv.prototype, 'write').mockRejectedValueOnce(new Error('disk full'));
    try {
      await t.prefetch(['a'], ['n']);
      t.set('a', 'n', 1);
      await t.prefetch(['b'], ['n']);
      t.set('b', 'n', 2);
      await t.prefetch(['c'], ['n']);
      await expect(async () => {
        for (let i = 0; i < 10; i++) await t.prefetch([`x${i}`], ['n']);
      }).rejects.toThrow('disk full');
    } finally {
      write.mockRestore();
      await t.close();
    }
  });

  it('a fresh table clears values a previous run left under its prefix', async () => {
    const dir = tempDir('weir-level-table-');
    const db = new ClassicLevel<string, Uint8Array>(dir.dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
    await db.open();
    cleanups.push(dir.cleanup, () => db.close());
    const kv = new LevelStateKv(db);
    const first = new LevelTable<string, string, number>({ step: 's', kv, cacheEntries: 10 });
    await first.prefetch(['a'], ['n']);
    first.set('a', 'n', 1);
    await kv.write((await first.capture(1)).ops);
    const fresh = new LevelTable<string, string, number>({ step: 's', kv, cacheEntries: 10 });
    await fresh.prefetch(['a'], ['n']);
    expect(fresh.get('a', 'n')).toBeUndefined();
    expect(fresh.size).toBe(0);
  });

  it('refuses namespace scans with a clear error', () => {
    const t = new LevelTable<string, string, number>({ step: 's', kv: undefined, cacheEntries: 10 });
    expect(() => t.entries('n')).toThrow(/not supported on the LevelDB backend/);
    expect(() => t.dropNamespace('n')).toThrow(/not supported on the LevelDB backend/);
  });
});
