import { afterEach, describe, expect, it } from 'vitest';
import { ClassicLevel } from 'classic-level';
import { pipeline } from '../../src/builder/pipeline.js';
import { CheckpointError } from '../../src/runtime/errors.js';
import type { Source } from '../../src/runtime/source.js';
import { fileSink } from '../../src/sinks/file-sink.js';
import { LevelCheckpointStorage } from '../../src/state/leveldb-checkpoint-storage.js';
import { committedRecords, tempDir } from '../support/files.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function dirs() {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return { state: `${t.dir}/state`, out: `${t.dir}/out` };
}

/** A replayable source of 0..count-1 (unbounded when count is undefined) that yields to the event loop per chunk, so checkpoint timers fire mid-stream. */
function numbers(count: number | undefined, chunk = 7): Source<{ n: number }> {
  return {
    name: 'numbers',
    bounded: count !== undefined,
    replayable: true,
    open(ctx) {
      let i = (ctx.restored as number | undefined) ?? 0;
      return {
        async read() {
          await new Promise((r) => setImmediate(r));
          if (count !== undefined && i >= count) return null;
          const end = count === undefined ? i + chunk : Math.min(count, i + chunk);
          const records = [];
          for (; i < end; i++) records.push({ n: i });
          return { records };
        },
        position: () => i,
      };
    },
  };
}

/** Wait (polling the live counters) until the job's source has emitted at least `n` records. */
async function untilRead(job: { stats(): Record<string, { recordsOut: number }> }, n: number): Promise<void> {
  while ((job.stats().numbers?.recordsOut ?? 0) < n) await new Promise((r) => setTimeout(r, 1));
}

async function listCheckpoints(stateDir: string) {
  const storage = await LevelCheckpointStorage.open(stateDir);
  try {
    return await storage.list();
  } finally {
    await storage.close();
  }
}

describe('checkpoints', () => {
  it('a bounded job with checkpoints commits everything exactly once and ends with a final checkpoint', async () => {
    const { state, out } = dirs();
    const build = () =>
      pipeline('cp-bounded')
        .source(numbers(3000))
        .map((r) => ({ n: r.n, sq: r.n * r.n }), { name: 'square' })
        .sink(fileSink({ dir: out, format: 'jsonl' }), { name: 'files' });
    const result = await build().run({ stateDir: state, checkpointInterval: 2 });
    expect(result.checkpoints).toBeGreaterThan(1);
    const records = committedRecords<{ n: number }>(out);
    expect(records.map((r) => r.n)).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    const metas = await listCheckpoints(state);
    expect(metas.at(-1)?.final).toBe(true);
    expect(metas.at(-1)?.positions).toEqual({ numbers: 3000 });

    // Running the finished job again resumes from its final checkpoint: nothing new, nothing twice.
    await build().run({ stateDir: state, checkpointInterval: 2 });
    expect(committedRecords<{ n: number }>(out).map((r) => r.n)).toEqual(Array.from({ length: 3000 }, (_, i) => i));
  });

  it('keeps only the newest complete checkpoints', async () => {
    const { state, out } = dirs();
    const handle = pipeline('cp-prune')
      .source(numbers(undefined, 3))
      .sink(fileSink({ dir: out, format: 'jsonl' }))
      .start({ stateDir: state, checkpointInterval: 1, keepCheckpoints: 2 });
    // Run until several checkpoints completed (each read yields, so the 1 ms timer fires often).
    let result;
    for (let target = 3000; ; target *= 2) {
      await untilRead(handle, target);
      if (target >= 12_000) {
        result = await handle.stop();
        break;
      }
    }
    expect(result.checkpoints).toBeGreaterThanOrEqual(3);
    const metas = await listCheckpoints(state);
    expect(metas.length).toBe(2);
    expect(metas[1].savepoint).toBe(true);
    expect(metas[0].id).toBeLessThan(metas[1].id);
    expect(metas[0].id).toBeGreaterThan(1);
  });

  it('stop() takes a savepoint; the next run resumes right after it', async () => {
    const { state, out } = dirs();
    const build = () => pipeline('cp-stop').source(numbers(undefined)).sink(fileSink({ dir: out, format: 'jsonl' }), { name: 'files' });
    for (let round = 0; round < 3; round++) {
      const job = build().start({ stateDir: state, checkpointInterval: 1000 });
      await untilRead(job, 50);
      const result = await job.stop();
      expect(result.stopped).toBe(true);
    }
    const metas = await listCheckpoints(state);
    expect(metas.at(-1)?.savepoint).toBe(true);
    const records = committedRecords<{ n: number }>(out).map((r) => r.n);
    expect(records.length).toBeGreaterThan(0);
    expect(records).toEqual(Array.from({ length: records.length }, (_, i) => i));
    expect(metas.at(-1)?.positions).toEqual({ numbers: records.length });
  });

  it('refuses a checkpoint that holds state for steps the job no longer has', async () => {
    const { state, out } = dirs();
    const stateful = (name: string) =>
      pipeline('cp-compat')
        .source(numbers(100))
        .addOperator<{ n: number }>(name, { name }, (stepName) => ({
          name: stepName,
          stateless: false,
          create: () => ({
            processBatch: (b, o) => o.emit(b.records, b.timestamps),
            snapshot: () => ({ seen: 1 }),
          }),
        }))
        .sink(fileSink({ dir: out, format: 'jsonl' }));
    await stateful('dedupe').run({ stateDir: state, checkpointInterval: 5 });
    const err = await stateful('dedupe-v2').run({ stateDir: state, checkpointInterval: 5 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toContain('"dedupe"');
    expect((err as Error).message).toContain('--fresh');
    // --fresh starts over.
    await stateful('dedupe-v2').run({ stateDir: state, checkpointInterval: 5, fresh: true });
  });

  it('a corrupt newest checkpoint is skipped in favour of the previous one', async () => {
    const { state, out } = dirs();
    const job = pipeline('cp-corrupt').source(numbers(undefined)).sink(fileSink({ dir: out, format: 'jsonl' }), { name: 'files' });
    const handle = job.start({ stateDir: state, checkpointInterval: 1 });
    await untilRead(handle, 2000);
    await handle.stop();
    const metas = await listCheckpoints(state);
    expect(metas.length).toBeGreaterThanOrEqual(2);
    const newest = metas.at(-1)!;
    const previous = metas.at(-2)!;
    const db = new ClassicLevel<string, Uint8Array>(`${state}/checkpoints`, { keyEncoding: 'utf8', valueEncoding: 'view' });
    await db.put(`data/${String(newest.id).padStart(12, '0')}/numbers`, new Uint8Array([1, 2, 3]));
    await db.close();

    const seen: number[] = [];
    const probe = pipeline('cp-corrupt')
      .source(numbers(undefined))
      .map((r) => {
        seen.push(r.n);
        return r;
      })
      .sink(fileSink({ dir: out, format: 'jsonl' }), { name: 'files' });
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    const h2 = probe.start({ stateDir: state, checkpointInterval: 1000 });
    await untilRead(h2, 1);
    await h2.stop();
    process.off('warning', onWarning);
    expect(warnings.some((w) => w.includes(`checkpoint ${newest.id}`) && w.includes('corrupt'))).toBe(true);
    expect(seen[0]).toBe(previous.positions.numbers);
  });

  it('--from picks a named checkpoint and rejects an unknown one', async () => {
    const { state, out } = dirs();
    await pipeline('cp-from').source(numbers(500, 5)).sink(fileSink({ dir: out, format: 'jsonl' })).run({ stateDir: state, checkpointInterval: 1, keepCheckpoints: 5 });
    const err = await pipeline('cp-from').source(numbers(500)).sink(fileSink({ dir: out, format: 'jsonl' })).run({ args: ['--from', '99999', '--state-dir', state] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    const msg = (err as Error).message;
    expect(msg).toContain('no complete checkpoint 99999');
    expect(msg).toMatch(/available: \d+/);
  });
});
