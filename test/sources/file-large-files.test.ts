import { createReadStream } from 'node:fs';
import { mkdtemp, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import * as arrow from 'apache-arrow';
import avro from 'avsc';
import { parse as parseCsv } from 'csv-parse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batch } from '../../src/runtime/elements.js';
import { fileSink, type FileSinkFormat } from '../../src/sinks/file-sink.js';
import { fileSource } from '../../src/sources/file-source.js';
import { FORMATS, expected, readOptions, removeDir, row, rows, type Row } from './file-formats-support.js';
import { sourceCtx } from './file-source-support.js';

/**
 * 1 M rows per format (JSON lines gzip-compressed): written by weir's file sink, read back in order
 * by weir's file source (every id, every 997th record in full), and counted by the format's
 * library reading the same files. Rows are generated and checked batch by batch, so the test
 * never holds a million records.
 */
const N = 1_000_000;
const parquet = createRequire(import.meta.url)('parquetjs-lite') as {
  ParquetReader: {
    openFile(path: string, options?: object): Promise<{
      getCursor(columns?: string[]): { nextRowGroup(): Promise<Array<{ id: number }> | null> };
      close(): Promise<void>;
    }>;
  };
};

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'weir-file-large-'));
});

afterAll(async () => {
  await removeDir(root);
});

/** Checks that ids arrive as 0, 1, 2, …; returns the count. */
function sequence(): { see(id: unknown): void; readonly count: number } {
  let next = 0;
  return {
    see(id) {
      if (Number(id) !== next) throw new Error(`expected id ${next}, got ${String(id)}`);
      next++;
    },
    get count() {
      return next;
    },
  };
}

/** The ids in `files` as the format's own library reads them, in order. */
async function libraryCount(format: FileSinkFormat, files: readonly string[]): Promise<number> {
  const ids = sequence();
  for (const file of files) {
    switch (format) {
      case 'jsonl': {
        let rest = '';
        for await (const chunk of createReadStream(file).pipe(createGunzip())) {
          const lines = (rest + (chunk as Buffer).toString('utf8')).split('\n');
          rest = lines.pop()!;
          for (const line of lines) ids.see((JSON.parse(line) as Row).id);
        }
        break;
      }
      case 'csv':
        for await (const r of createReadStream(file).pipe(parseCsv({ columns: true }))) ids.see((r as { id: string }).id);
        break;
      case 'parquet': {
        const reader = await parquet.ParquetReader.openFile(file, { rawStatistics: true });
        const cursor = reader.getCursor(['id']);
        for (let group = await cursor.nextRowGroup(); group !== null; group = await cursor.nextRowGroup()) for (const r of group) ids.see(r.id);
        await reader.close();
        break;
      }
      case 'avro':
        await new Promise<void>((resolve, reject) => {
          avro
            .createFileDecoder(file)
            .on('data', (r: Row) => ids.see(r.id))
            .on('end', resolve)
            .on('error', reject);
        });
        break;
      default: {
        const reader = await arrow.RecordBatchReader.from(createReadStream(file));
        for await (const b of reader) for (const id of b.getChild('id')!.toArray() as Float64Array) ids.see(id);
      }
    }
  }
  return ids.count;
}

describe('file round trip, large files (1 M rows)', () => {
  for (const format of FORMATS) {
    it(`${format}: 1 M rows written, read back in order by weir, and by the library`, async () => {
      const dir = await mkdtemp(join(root, `${format}-`));
      const writer = await fileSink({ dir, format, compression: format === 'jsonl' ? 'gzip' : undefined, name: 'big', rollRecords: 400_000 }).open({
        job: 't',
        name: 'big',
        signal: new AbortController().signal,
        restored: undefined,
        now: () => Date.now(),
      });
      const per = 4000;
      for (let from = 0; from < N; from += per) await writer.write(batch(rows(from, from + per), []));
      await writer.flush?.();
      await writer.close?.();
      const files = (await readdir(dir)).filter((f) => !f.startsWith('.')).sort();
      expect(files).toHaveLength(3);

      const reader = await fileSource({ path: dir, ...readOptions(format) }).open(sourceCtx());
      const ids = sequence();
      let bad = 0;
      for (;;) {
        const chunk = await reader.read(4096);
        if (chunk === null) break;
        bad += chunk.deadLetters?.length ?? 0;
        for (const r of chunk.records as Row[]) {
          if (ids.count % 997 === 0) expect(r).toEqual(expected(format, row(ids.count)));
          ids.see(r.id);
        }
      }
      await reader.close?.();
      expect(bad).toBe(0);
      expect(ids.count).toBe(N);

      expect(await libraryCount(format, files.map((f) => join(dir, f)))).toBe(N);
    }, 300_000);
  }
});
