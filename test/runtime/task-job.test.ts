import { afterEach, describe, expect, it } from 'vitest';
import { pipeline } from '../../src/builder/pipeline.js';
import { ConfigError } from '../../src/runtime/errors.js';
import type { SourceContext, SourceReader } from '../../src/runtime/source.js';
import type { TaskGroupContext, TaskSource } from '../../src/runtime/task-source.js';
import { collectSink } from '../../src/sinks/collect-sink.js';
import { fileSink } from '../../src/sinks/file-sink.js';
import { committedRecords, tempDir } from '../support/files.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

interface Rec {
  readonly p: number;
  readonly o: number;
  readonly k: string;
}

/**
 * An in-process stand-in for a consumer group: partitions of `size` records each (record o of
 * partition p has key `k<p>-<o % 2>`), read a few at a time; the test decides which member holds
 * which partitions.
 */
function fakeGroup(partitions: number, size: number) {
  const members: TaskGroupContext[] = [];
  const source: TaskSource<Rec> = {
    name: 'parts',
    bounded: false,
    replayable: true,
    open: () => {
      throw new Error('a task source opens through joinTasks');
    },
    async joinTasks(ctx) {
      members.push(ctx);
      return {
        task: (id) => ({
          name: 'parts',
          bounded: false,
          replayable: true,
          open(taskCtx: SourceContext): SourceReader<Rec> {
            const p = Number(id);
            let o = (taskCtx.restored as number | undefined) ?? 0;
            return {
              async read() {
                await new Promise((r) => setTimeout(r, 2));
                const records: Rec[] = [];
                while (o < size && records.length < 3) {
                  records.push({ p, o, k: `k${p}-${o % 2}` });
                  o++;
                }
                return { records };
              },
              position: () => o,
            };
          },
        }),
        close: async () => undefined,
      };
    },
  };
  return {
    source,
    /** Give member `i` (in join order) exactly `tasks`. */
    assign(i: number, tasks: number[]) {
      members[i].assigned(tasks.map(String));
    },
    joined: () => members.length,
  };
}

function countingJob(source: TaskSource<Rec>, out: string) {
  return pipeline('tasks')
    .source(source, { name: 'parts' })
    .keyBy('k')
    .process(
      (r: Rec, ctx) => {
        const count = ctx.state.value<number>('n');
        const n = (count.get() ?? 0) + 1;
        count.set(n);
        ctx.emit({ ...r, n });
      },
      { name: 'count' },
    )
    .sink(fileSink({ dir: out, format: 'jsonl' }), { name: 'files' });
}

async function until(what: () => boolean, label: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!what()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('scaleOut: one task per source partition', () => {
  it('refuses a job without checkpoints, with a source that has no tasks, or with fresh/from', () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const group = fakeGroup(1, 1);
    expect(() => countingJob(group.source, t.dir).start({ scaleOut: true })).toThrow(/scaleOut needs checkpoints: give stateDir/);
    const plain = pipeline('plain')
      .source({ name: 'n', bounded: true, replayable: true, open: () => ({ read: () => null, position: () => 0 }) })
      .sink(collectSink([]));
    expect(() => plain.start({ scaleOut: true, stateDir: t.dir })).toThrow(/scaleOut needs a job with exactly one source, a partitioned one/);
    expect(() => countingJob(group.source, t.dir).start({ scaleOut: true, stateDir: t.dir, fresh: true })).toThrow(ConfigError);
  });

  it('a task given up takes a savepoint; the process receiving it waits for the handover and resumes there with its state: exact output and counts', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const size = 600;
    const group = fakeGroup(4, size);
    const run = { scaleOut: true, stateDir: `${t.dir}/state`, checkpointInterval: 20 };
    const a = countingJob(group.source, `${t.dir}/out`).start({ ...run, metrics: { port: 0 } });
    await until(() => group.joined() === 1, 'the first process to join');
    group.assign(0, [0, 1, 2, 3]);
    await until(() => (a.stats().count?.recordsIn ?? 0) > 200, 'the first process to read');
    // Metrics and readiness cover every task of the process.
    const address = (await a.metricsAddress())!;
    expect((await fetch(`${address.url.replace(/\/metrics$/, '')}/readyz`)).status).toBe(200);
    const text = await (await fetch(address.url)).text();
    const read = Number(/weir_records_in_total\{operator="parts"[^}]*\} (\d+)/.exec(text)?.[1]);
    expect(read).toBeGreaterThan(200);
    const b = countingJob(group.source, `${t.dir}/out`).start(run);
    await until(() => group.joined() === 2, 'the second process to join');
    // A rebalance: both learn the new assignment (the new owner usually first).
    group.assign(1, [2, 3]);
    group.assign(0, [0, 1]);
    await until(() => committedRecords(`${t.dir}/out`).length === 4 * size, 'every record to be committed');
    const [ra, rb] = await Promise.all([a.stop(), b.stop()]);
    expect(ra.steps.parts.recordsIn + rb.steps.parts.recordsIn).toBeGreaterThanOrEqual(4 * size);
    expect(rb.steps.parts.recordsIn).toBeGreaterThan(0);

    const rows = committedRecords<Rec & { n: number }>(`${t.dir}/out`);
    expect(rows.map((r) => `${r.p}:${r.o}`).sort()).toEqual(
      Array.from({ length: 4 }, (_, p) => Array.from({ length: size }, (_, o) => `${p}:${o}`)).flat().sort(),
    );
    for (const k of new Set(rows.map((r) => r.k))) {
      const ofKey = rows.filter((r) => r.k === k).sort((x, y) => x.o - y.o);
      expect(ofKey.map((r) => r.n)).toEqual(ofKey.map((_, i) => i + 1));
    }
  });
});
