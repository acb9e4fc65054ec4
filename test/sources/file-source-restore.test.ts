import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileSource, type FileSourceOptions } from '../../src/sources/file-source.js';
import { FORMATS, readOptions, removeDir, rows, writeParts } from './file-formats-support.js';
import { readAll, splitAt } from './file-source-support.js';

/**
 * For every format (and compressions), a directory of several files with many blocks, row groups,
 * record batches or Avro blocks: reading K records, taking the position and resuming from it in a
 * new reader gives exactly the rest of a full read.
 */
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'weir-file-restore-'));
});

afterAll(async () => {
  await removeDir(root);
});

const cases: Array<{ label: string; build: (dir: string) => Promise<FileSourceOptions> }> = [];

for (const format of FORMATS) {
  for (const compression of [undefined, 'gzip', 'zstd'] as const) {
    if (compression !== undefined && format !== 'jsonl' && format !== 'csv' && format !== 'avro') continue;
    cases.push({
      label: `${format}${compression === undefined ? '' : ` ${compression}`}`,
      async build(dir) {
        // 3 parts of 900 rows; small batches make many Avro blocks and Arrow batches, small row groups many Parquet groups.
        await writeParts(dir, rows(0, 2700), { format, compression, rollRecords: 900, rowGroupSize: format === 'parquet' ? 64 : undefined }, 37);
        return { path: dir, format, blockBytes: 64 * 1024, ...readOptions(format) };
      },
    });
  }
}
// Parquet and Arrow compressed as a whole are read from memory; one case each is enough.
cases.push({
  label: 'parquet zstd',
  async build(dir) {
    await writeParts(dir, rows(0, 1000), { format: 'parquet', compression: 'zstd', rowGroupSize: 100 }, 50);
    return { path: dir, format: 'parquet' };
  },
});
cases.push({
  label: 'arrow gzip',
  async build(dir) {
    await writeParts(dir, rows(0, 1000), { format: 'arrow', compression: 'gzip' }, 50);
    return { path: dir, format: 'arrow' };
  },
});
// Long CSV records with quoted line ends straddling 64 KiB blocks.
cases.push({
  label: 'csv quoted line ends across blocks',
  async build(dir) {
    const lines = ['id,text'];
    for (let i = 0; i < 400; i++) lines.push(`${i},"${'x'.repeat(i * 7 % 900)}\n""${i}"", y\r\nz"`);
    await writeFile(join(dir, 'a.csv'), lines.join('\r\n') + '\r\n');
    return { path: join(dir, 'a.csv'), types: { id: 'number' } };
  },
});

describe('fileSource restore', () => {
  for (const { label, build } of cases) {
    it(`resumes exactly after the last record returned: ${label}`, async () => {
      const dir = await mkdtemp(join(root, 'case-'));
      const options = await build(dir);
      const full = await readAll(fileSource(options), { max: 333 });
      expect(full.deadLetters).toEqual([]);
      expect(full.records.length).toBeGreaterThan(0);
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: full.records.length }), fc.integer({ min: 1, max: 700 }), async (k, max) => {
          const { head, tail, position } = await splitAt(fileSource(options), k, max);
          expect(head.records).toEqual(full.records.slice(0, k));
          expect(tail.records.length).toBe(full.records.length - k);
          expect(tail.records).toEqual(full.records.slice(k));
          expect(structuredClone(position)).toEqual(position);
        }),
        { numRuns: 15 },
      );
    }, 120_000);
  }
});
