import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipeline } from '../../src/builder/pipeline.js';
import { fileSink, type FileSinkFormat } from '../../src/sinks/file-sink.js';
import { fileSource } from '../../src/sources/file-source.js';
import { removeDir } from './file-formats-support.js';
import { readAll } from './file-source-support.js';

/**
 * Files in, files out, through the runtime's checkpoints: a job that fails half-way and is
 * started again from its last checkpoint commits every input record exactly once (the source
 * resumes at its checkpointed position, the sink re-commits or aborts its pending parts).
 */
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'weir-file-eo-'));
});

afterAll(async () => {
  await removeDir(root);
});

describe('file source to file sink, exactly once', () => {
  for (const [input, output] of [
    ['jsonl', 'parquet'],
    ['csv', 'avro'],
  ] as Array<[FileSinkFormat, FileSinkFormat]>) {
    it(`${input} → ${output}: a failure half-way and a restart from the checkpoint give each record once`, async () => {
      const dir = await mkdtemp(join(root, `${input}-`));
      const inDir = join(dir, 'in');
      const outDir = join(dir, 'out');
      const stateDir = join(dir, 'state');
      const total = 20_000;
      await mkdir(inDir);
      for (let f = 0; f < 4; f++) {
        const ids = Array.from({ length: total / 4 }, (_, k) => f * (total / 4) + k);
        const text = input === 'jsonl' ? ids.map((id) => JSON.stringify({ id })).join('\n') + '\n' : 'id\n' + ids.join('\n') + '\n';
        await writeFile(join(inDir, `part-${f}.${input}`), text);
      }
      const job = (failAt: number | undefined) =>
        pipeline(`eo-${input}`)
          .source(fileSource<{ id: number | string }>({ path: inDir, name: 'in' }))
          .map((r) => {
            const id = Number(r.id);
            if (id === failAt) throw new Error(`planned failure at ${id}`);
            return { id };
          })
          .sink(fileSink({ dir: outDir, format: output, name: 'out', rollRecords: 3000 }))
          .run({ stateDir, checkpointInterval: 5, batchSize: 64 });

      await expect(job(13_000)).rejects.toThrow('planned failure at 13000');
      const committedBefore = (await readdir(outDir)).filter((f) => !f.startsWith('.'));
      expect(committedBefore.length).toBeGreaterThan(0);

      // The runtime closes the checkpoint store just after a failed job settles: retry while it is still locked.
      for (let attempt = 0; ; attempt++) {
        try {
          await job(undefined);
          break;
        } catch (err) {
          if (attempt > 100 || !/is in use by another process/.test(String(err))) throw err;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
      const got = await readAll(fileSource<{ id: number }>({ path: outDir, format: output }));
      expect(got.deadLetters).toEqual([]);
      const ids = got.records.map((r) => r.id).sort((a, b) => a - b);
      expect(ids).toEqual(Array.from({ length: total }, (_, i) => i));
      expect((await readdir(outDir)).filter((f) => f.startsWith('.'))).toEqual([]);
    }, 60_000);
  }
});
