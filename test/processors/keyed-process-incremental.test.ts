import { afterEach, describe, expect, it } from 'vitest';
import { ClassicLevel } from 'classic-level';
import { processKeyed } from '../../src/builder/keyed-process.js';
import { pipeline } from '../../src/builder/pipeline.js';
import type { Source } from '../../src/runtime/source.js';
import { collectSink } from '../../src/sinks/collect-sink.js';
import { CHUNK_INDEX_PREFIX, chunkPartKey, decodeChunkIndex, parseChunkIndexKey } from '../../src/state/heap-chunks.js';
import { LevelCheckpointStorage } from '../../src/state/leveldb-checkpoint-storage.js';
import { tempDir } from '../support/files.js';
import { replayableSource } from '../support/sources.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function stateDir(): string {
  const t = tempDir('weir-heap-incremental-');
  cleanups.push(t.cleanup);
  return `${t.dir}/state`;
}

interface Ev {
  user: string;
  i: number;
}

/** A replayable source: `count` events, hot keys most of the time (so most checkpoints are deltas). */
function events(count: number, users: number, chunk = 40, delayMs = 0): Source<Ev> {
  return replayableSource('events', count, (i) => ({ user: `u${i % 7 === 0 ? (i * 7919) % users : i % 10}`, i }), { chunk, delayMs });
}

/** Value, list (with TTL-free updates and clears) and map state; deletes some keys now and then. */
function job(out: string[], count: number, users: number, delayMs = 0) {
  const keyed = pipeline('heap-incremental').source(events(count, users, 40, delayMs)).keyBy('user');
  return processKeyed<Ev, string, string>(
    keyed,
    (e, ctx) => {
      const n = ctx.state.value<number>('n');
      const next = (n.get() ?? 0) + 1;
      const last = ctx.state.list<number>('last');
      const parity = ctx.state.map<string, number>('parity');
      if (e.i % 97 === 0) {
        n.clear();
        last.clear();
        parity.clear();
      } else {
        n.set(next);
        last.add(e.i);
        if (last.get().length > 3) last.update(last.get().slice(-3));
        const p = e.i % 2 === 0 ? 'even' : 'odd';
        parity.set(p, (parity.get(p) ?? 0) + 1);
      }
      ctx.emit(`${e.user}:${n.get() ?? 0}:${last.get().join(',')}:${parity.get('even') ?? 0}/${parity.get('odd') ?? 0}`);
    },
    { name: 'count' },
  ).sink(collectSink(out), { name: 'out' });
}

async function chunks(dir: string): Promise<Array<{ id: number; full: boolean; prev: number | null }>> {
  const db = new ClassicLevel<string, Uint8Array>(`${dir}/checkpoints`, { keyEncoding: 'utf8', valueEncoding: 'view' });
  const out: Array<{ id: number; full: boolean; prev: number | null }> = [];
  for await (const [key, value] of db.iterator({ gte: CHUNK_INDEX_PREFIX, lt: `${CHUNK_INDEX_PREFIX}\xff` })) {
    const index = decodeChunkIndex(value)!;
    out.push({ id: parseChunkIndexKey(key)!.id, full: index.full, prev: index.prev });
  }
  await db.close();
  return out;
}

async function checkpoints(dir: string) {
  const storage = await LevelCheckpointStorage.open(dir);
  const metas = await storage.list();
  await storage.close();
  return metas;
}

describe('keyed process on the heap backend: incremental checkpoints', () => {
  it('writes deltas, and stop → savepoint → restart ends with the output of an uninterrupted run', async () => {
    const expected: string[] = [];
    await job(expected, 12_000, 400).run();
    const dir = stateDir();
    const out: string[] = [];
    const handle = job(out, 12_000, 400).start({ stateDir: dir, checkpointInterval: 5, keepCheckpoints: 100 });
    while (out.length < 4000) await new Promise((r) => setImmediate(r));
    await handle.stop();
    expect(out.length).toBeLessThan(12_000);
    const written = await chunks(dir);
    expect(written.some((c) => !c.full)).toBe(true);
    expect(written.some((c) => c.full)).toBe(true);
    // Not marked external: any kept checkpoint can be resumed.
    expect((await checkpoints(dir)).every((m) => m.steps.count?.external === undefined)).toBe(true);
    await job(out, 12_000, 400).run({ stateDir: dir, checkpointInterval: 5 });
    expect(out).toEqual(expected);
  });

  it('saves an object value changed in place without set (heap semantics), across deltas and a restart', async () => {
    const inPlace = (out: string[]) =>
      processKeyed<Ev, string, string>(
        pipeline('heap-in-place').source(events(6000, 3000, 40, 1)).keyBy('user'),
        (e, ctx) => {
          const s = ctx.state.value<{ n: number }>('o');
          let o = s.get();
          if (o === undefined) s.set((o = { n: 0 }));
          o.n++; // changed in place, never set again
          ctx.emit(`${e.user}:${o.n}`);
        },
        { name: 'count' },
      ).sink(collectSink(out), { name: 'out' });
    const expected: string[] = [];
    await inPlace(expected).run();
    const dir = stateDir();
    const out: string[] = [];
    const handle = inPlace(out).start({ stateDir: dir, checkpointInterval: 5 });
    while (out.length < 2500) await new Promise((r) => setImmediate(r));
    await handle.stop();
    expect((await chunks(dir)).some((c) => !c.full)).toBe(true);
    await inPlace(out).run({ stateDir: dir, checkpointInterval: 5 });
    expect(out).toEqual(expected);
  });

  it('resumes from any kept checkpoint (--from), also after a newer line of chunks was written', async () => {
    const expected: string[] = [];
    await job(expected, 8000, 300).run();
    const dir = stateDir();
    // Paced (1 ms per chunk of 40), so there are many checkpoints however fast the machine is.
    await job([], 8000, 300, 1).run({ stateDir: dir, checkpointInterval: 3, keepCheckpoints: 100 });
    const metas = await checkpoints(dir);
    expect(metas.length).toBeGreaterThan(3);
    const pick = [metas[0], metas[Math.floor(metas.length / 2)], metas.at(-2)!];
    for (const meta of pick) {
      const out: string[] = [];
      // Each resume writes checkpoints of its own whose deltas start from `meta`'s chunk.
      await job(out, 8000, 300).run({ stateDir: dir, checkpointInterval: 3, keepCheckpoints: 100, from: meta.id });
      const position = meta.positions.events as number;
      expect(out).toEqual(expected.slice(position));
    }
    // The newest checkpoint now continues a line that started from an older one: still exact.
    const latest = (await checkpoints(dir)).at(-1)!;
    const out: string[] = [];
    await job(out, 8000, 300).run({ stateDir: dir, from: latest.id });
    expect(out).toEqual(expected.slice(latest.positions.events as number));
  });

  it('falls back to the previous checkpoint when a chunk of the newest is corrupt', async () => {
    const expected: string[] = [];
    await job(expected, 8000, 300).run();
    const dir = stateDir();
    const first: string[] = [];
    const handle = job(first, 8000, 300).start({ stateDir: dir, checkpointInterval: 3 });
    while (first.length < 3000) await new Promise((r) => setImmediate(r));
    await handle.stop();
    const metas = await checkpoints(dir);
    const [previous, newest] = metas.slice(-2);
    const db = new ClassicLevel<string, Uint8Array>(`${dir}/checkpoints`, { keyEncoding: 'utf8', valueEncoding: 'view' });
    await db.put(chunkPartKey('count', newest.id, 0), new Uint8Array([9, 9, 9]));
    await db.close();

    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    const out: string[] = [];
    try {
      await job(out, 8000, 300).run({ stateDir: dir, checkpointInterval: 1000 });
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.some((w) => w.includes(`checkpoint ${newest.id}`) && w.includes('corrupt'))).toBe(true);
    expect(out).toEqual(expected.slice(previous.positions.events as number));
  });

  it('prunes the chunks no kept checkpoint needs, keeping every kept one restorable', async () => {
    const dir = stateDir();
    await job([], 15_000, 2000).run({ stateDir: dir, checkpointInterval: 2, keepCheckpoints: 2 });
    const metas = await checkpoints(dir);
    expect(metas.length).toBe(2);
    const left = await chunks(dir);
    const byId = new Map(left.map((c) => [c.id, c]));
    const reachable = new Set<number>();
    for (const meta of metas) {
      for (let id: number | null = meta.id; id !== null; id = byId.get(id)!.prev) {
        expect(byId.has(id)).toBe(true);
        reachable.add(id);
        if (byId.get(id)!.full) break;
      }
    }
    expect([...byId.keys()].sort((a, b) => a - b)).toEqual([...reachable].sort((a, b) => a - b));
    // Both kept checkpoints read back intact.
    const storage = await LevelCheckpointStorage.open(dir);
    for (const meta of metas) await storage.read(meta);
    await storage.close();
  });
});
