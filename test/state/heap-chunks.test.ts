import { afterEach, describe, expect, it } from 'vitest';
import { ClassicLevel } from 'classic-level';
import type { StateOp } from '../../src/runtime/checkpoint-storage.js';
import { applyChunk, ChunkColumn, chunkOps, chunkPartKey, encodeChunk, PART_BYTES, readChunkChain, type ChunkNamespace } from '../../src/state/heap-chunks.js';
import { HeapTable } from '../../src/state/heap-table.js';
import { LevelStateKv } from '../../src/state/level-state-kv.js';
import { tempDir } from '../support/files.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function openKv(): Promise<{ kv: LevelStateKv; db: ClassicLevel<string, Uint8Array> }> {
  const dir = tempDir('weir-heap-chunks-');
  const db = new ClassicLevel<string, Uint8Array>(dir.dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  cleanups.push(dir.cleanup, () => db.close());
  return { kv: new LevelStateKv(db), db };
}

function ns(name: string, puts: Array<[unknown, unknown]>, deletes: unknown[] = []): ChunkNamespace {
  const keys = new ChunkColumn(puts.length);
  const values = new ChunkColumn(puts.length);
  const deleted = new ChunkColumn(deletes.length);
  for (const [k, v] of puts) {
    keys.push(k);
    values.push(v);
  }
  for (const k of deletes) deleted.push(k);
  return { ns: name, keys, values, deleted };
}

function payloadOf(pieces: Buffer[]): Buffer {
  // A misaligned copy: float64 columns must still decode.
  const out = Buffer.alloc(pieces.reduce((n, p) => n + p.length, 0) + 1);
  Buffer.concat(pieces).copy(out, 1);
  return out.subarray(1);
}

describe('heap state chunks', () => {
  it('round-trips numbers, strings, objects, mixed columns and deletions', () => {
    const table = new HeapTable<unknown, string, unknown>();
    table.set('gone', 'b', 1);
    table.set(7, 'a', 'stale');
    const pieces = encodeChunk([
      ns('a', [
        [1, 10],
        [-3, -0],
        [2.5, -0.5],
        [7, Number.NaN],
      ]),
      ns('b', [
        ['x', 'text'],
        [3, { deep: [1, 'two', new Map([[1, 2]])] }],
        [true, [1, 2, 3]],
      ], ['gone']),
    ]);
    expect(applyChunk(payloadOf(pieces), table)).toBe(8);
    expect(table.get(1, 'a')).toBe(10);
    expect(Object.is(table.get(-3, 'a'), -0)).toBe(true);
    expect(table.get(2.5, 'a')).toBe(-0.5);
    expect(table.get(7, 'a')).toBeNaN();
    expect(table.get('x', 'b')).toBe('text');
    expect(table.get(3, 'b')).toEqual({ deep: [1, 'two', new Map([[1, 2]])] });
    expect(table.get(true, 'b')).toEqual([1, 2, 3]);
    expect(table.get('gone', 'b')).toBeUndefined();
    expect(table.size).toBe(7);
  });

  it('cuts large payloads in parts, reads a chain back oldest first, and names a missing or corrupt chunk', async () => {
    const { kv, db } = await openKv();
    const n = 150_000; // an int32 and a float64 column: more than one part
    const puts: Array<[unknown, unknown]> = Array.from({ length: n }, (_, i) => [i, i * 2 + 0.5]);
    const full = chunkOps('s', 1, true, null, n, encodeChunk([ns('v', puts)]));
    const delta = chunkOps('s', 2, false, 1, 2, encodeChunk([ns('v', [[5, 'five']], [6])]));
    expect(full.length - 1).toBe(Math.ceil((n * 12 + 64) / PART_BYTES));
    await kv.write([...full, ...delta] as StateOp[]);

    const chain = await readChunkChain(kv, 's', 2);
    expect(chain.map((c) => [c.id, c.index.full])).toEqual([
      [1, true],
      [2, false],
    ]);
    const table = new HeapTable<number, string, unknown>();
    for (const c of chain) applyChunk(c.payload, table);
    expect(table.size).toBe(n - 1);
    expect(table.get(5, 'v')).toBe('five');
    expect(table.get(6, 'v')).toBeUndefined();
    expect(table.get(n - 1, 'v')).toBe((n - 1) * 2 + 0.5);

    await expect(readChunkChain(kv, 's', 3)).rejects.toThrow(/chunk 3 of step "s" is missing/);
    await db.put(chunkPartKey('s', 1, 1), new Uint8Array([1, 2, 3]));
    await expect(readChunkChain(kv, 's', 2)).rejects.toThrow(/chunk 1 of step "s": part 1 is corrupt/);
  });
});

describe('HeapTable change tracking', () => {
  it('lists the keys set or deleted since the last call, once each', () => {
    const t = new HeapTable<string, string, number>();
    t.set('before', 'n', 1);
    t.trackChanges();
    t.set('a', 'n', 1);
    t.set('a', 'n', 2);
    t.set('b', 'm', 1);
    t.delete('before', 'n');
    t.delete('absent', 'n');
    const changes = t.takeChanges();
    expect(changes).not.toBe('all');
    expect([...(changes as Map<string, Set<string>>)].map(([ns, keys]) => [ns, [...keys].sort()])).toEqual([
      ['n', ['a', 'before']],
      ['m', ['b']],
    ]);
    expect(t.takeChanges()).toEqual(new Map());
  });

  it('counts as changed as a whole past its log limit, on a namespace drop and on direct space access', () => {
    const t = new HeapTable<number, string, number>();
    t.trackChanges();
    for (let i = 0; i < 5000; i++) t.set(i, 'n', i);
    expect(t.takeChanges()).toBe('all');
    t.set(1, 'n', 1);
    expect(t.takeChanges()).not.toBe('all');
    t.dropNamespace('n');
    expect(t.takeChanges()).toBe('all');
    t.space('x').set(1, 1);
    expect(t.takeChanges()).toBe('all');
    expect(() => new HeapTable().takeChanges()).toThrow(/trackChanges/);
  });

  it('after the table changed as a whole by far, skips the next records, then records again', () => {
    const t = new HeapTable<number, string, number>();
    t.trackChanges();
    const interval = (writes: number) => {
      for (let i = 0; i < writes; i++) t.set(i, 'n', i);
      return t.takeChanges();
    };
    expect(interval(20_000)).toBe('all'); // overflowed at 4096 keys, then many more writes
    expect(interval(3)).toBe('all'); // skipped: nothing recorded
    expect(interval(3)).not.toBe('all'); // a quiet interval: recording again
    // A busy workload is probed again every 8 intervals.
    const busy = Array.from({ length: 10 }, () => interval(20_000) === 'all');
    expect(busy.every(Boolean)).toBe(true);
    for (let i = 0; i < 12; i++) {
      for (let j = 0; j < 20_000; j++) t.set(j % 5, 'n', j); // a few hot keys
      const changes = t.takeChanges();
      if (changes !== 'all') {
        expect([...changes.get('n')!].sort()).toEqual([0, 1, 2, 3, 4]);
        return;
      }
    }
    throw new Error('never recorded the hot keys again');
  });
});
