import { afterEach, describe, expect, it } from 'vitest';
import { processKeyed } from '../../src/builder/keyed-process.js';
import { pipeline } from '../../src/builder/pipeline.js';
import { CheckpointError, ConfigError } from '../../src/runtime/errors.js';
import type { StateBackendName } from '../../src/runtime/run-options.js';
import { collectSink } from '../../src/sinks/collect-sink.js';
import { LevelCheckpointStorage } from '../../src/state/leveldb-checkpoint-storage.js';
import { tempDir } from '../support/files.js';
import { countThreeStates, type UserEvent, userEvents } from '../support/counting-state.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function stateDir(): string {
  const t = tempDir('weir-leveldb-state-');
  cleanups.push(t.cleanup);
  return `${t.dir}/state`;
}

/** Per event: its key's running count, a list of the last indexes and a map of parities. */
function countingJob(out: string[], count: number, users: number, options: { stateBackend?: StateBackendName; cacheEntries?: number } = {}) {
  const keyed = pipeline('leveldb-count').source(userEvents(count, users)).keyBy('user');
  return processKeyed<UserEvent, string, string>(keyed, countThreeStates, { name: 'count', ...options }).sink(collectSink(out), { name: 'out' });
}

describe('keyed process on the LevelDB state backend', () => {
  it('gives the same output as the heap backend, with checkpoints and a tiny cache', async () => {
    const heap: string[] = [];
    await countingJob(heap, 4000, 300).run();
    const level: string[] = [];
    const result = await countingJob(level, 4000, 300, { stateBackend: 'leveldb', cacheEntries: 16 }).run({ stateDir: stateDir(), checkpointInterval: 2 });
    expect(result.checkpoints).toBeGreaterThan(1);
    expect(level).toEqual(heap);
    // Without checkpoints (a temporary store), and with the backend chosen by the run option.
    const temp: string[] = [];
    await countingJob(temp, 4000, 300, { cacheEntries: 16 }).run({ stateBackend: 'leveldb' });
    expect(temp).toEqual(heap);
  });

  it('stop → savepoint → restart ends with the output of an uninterrupted run', async () => {
    const expected: string[] = [];
    await countingJob(expected, 20_000, 500).run();
    const dir = stateDir();
    const out: string[] = [];
    const job = countingJob(out, 20_000, 500, { stateBackend: 'leveldb', cacheEntries: 64 }).start({ stateDir: dir, checkpointInterval: 5 });
    while (out.length < 3000) await new Promise((r) => setImmediate(r));
    const stopped = await job.stop();
    expect(stopped.stopped).toBe(true);
    expect(out.length).toBeLessThan(20_000);
    await countingJob(out, 20_000, 500, { stateBackend: 'leveldb', cacheEntries: 64 }).run({ stateDir: dir, checkpointInterval: 5 });
    expect(out).toEqual(expected);
  });

  it('refuses to resume a LevelDB-backed step from a checkpoint older than the latest', async () => {
    const dir = stateDir();
    await countingJob([], 3000, 100, { stateBackend: 'leveldb' }).run({ stateDir: dir, checkpointInterval: 1 });
    const storage = await LevelCheckpointStorage.open(dir);
    const metas = await storage.list();
    await storage.close();
    expect(metas.length).toBeGreaterThan(1);
    expect(metas.at(-1)?.steps.count?.external).toBe(true);
    const older = countingJob([], 3000, 100, { stateBackend: 'leveldb' }).run({ stateDir: dir, from: metas[0].id });
    await expect(older).rejects.toThrow(CheckpointError);
    await expect(countingJob([], 3000, 100, { stateBackend: 'leveldb' }).run({ stateDir: dir, from: metas[0].id })).rejects.toThrow(/step "count".*LevelDB/);
    // The latest one resumes (a final checkpoint: nothing new).
    const again: string[] = [];
    await countingJob(again, 3000, 100, { stateBackend: 'leveldb' }).run({ stateDir: dir, from: metas.at(-1)!.id });
    expect(again).toEqual([]);
  });

  it('moves heap state to LevelDB on restart, but not back', async () => {
    const expected: string[] = [];
    await countingJob(expected, 6000, 200).run();
    const dir = stateDir();
    const out: string[] = [];
    const job = countingJob(out, 6000, 200).start({ stateDir: dir, checkpointInterval: 5 });
    while (out.length < 1000) await new Promise((r) => setImmediate(r));
    await job.stop();
    await countingJob(out, 6000, 200, { stateBackend: 'leveldb' }).run({ stateDir: dir, checkpointInterval: 5, args: [] });
    expect(out).toEqual(expected);
    await expect(countingJob([], 6000, 200).run({ stateDir: dir })).rejects.toThrow(/LevelDB state backend.*stateBackend 'leveldb'/);
  });

  it('refuses TTLs on the LevelDB backend, and bad options at build time', async () => {
    const keyed = pipeline('ttl').source(userEvents(10, 2)).keyBy('user');
    const job = processKeyed<UserEvent, string, number>(keyed, (_e, ctx) => ctx.state.value<number>('v', { ttlMs: 1000 }).set(1), {
      name: 'ttl',
      stateBackend: 'leveldb',
    }).sink(collectSink([]));
    await expect(job.run()).rejects.toThrow(/ttlMs is not supported on the LevelDB state backend/);
    const keyed2 = pipeline('bad').source(userEvents(10, 2)).keyBy('user');
    expect(() => processKeyed(keyed2, () => undefined, { stateBackend: 'rocks' as never })).toThrow(ConfigError);
    expect(() => processKeyed(keyed2, () => undefined, { cacheEntries: 0 })).toThrow(/cacheEntries must be a positive integer/);
    expect(() => pipeline('bad-run').source(userEvents(1, 1)).sink(collectSink([])).run({ stateBackend: 'disk' as never })).toThrow(
      /stateBackend must be 'heap' or 'leveldb'/,
    );
  });
});
