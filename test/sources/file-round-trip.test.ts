import { createRequire } from 'node:module';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import * as arrow from 'apache-arrow';
import avro from 'avsc';
import { parse as parseCsv } from 'csv-parse/sync';
import { decompress as zstdDecompress } from 'zstd-napi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FileSinkFormat } from '../../src/sinks/file-sink.js';
import { fileSource } from '../../src/sources/file-source.js';
import { FORMATS, expected, paths, readOptions, removeDir, row, rows, writeParts, type Row } from './file-formats-support.js';
import { readAll } from './file-source-support.js';

/**
 * Round trips per format and compression: write with weir's file sink, read back with weir's file
 * source, and read the same files with the format's library directly. Records are nested, have
 * nulls, dates, unicode, quotes, commas and line ends in strings.
 */
const parquet = createRequire(import.meta.url)('parquetjs-lite') as {
  ParquetReader: {
    openBuffer(buffer: Buffer, options?: object): Promise<{
      getRowCount(): number | bigint;
      getCursor(columns?: string[]): { nextRowGroup(): Promise<Array<Record<string, unknown>> | null> };
      close(): Promise<void>;
    }>;
  };
};

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'weir-file-round-trip-'));
});

afterAll(async () => {
  await removeDir(root);
});

/** A file's bytes, decompressed. */
async function plainBytes(path: string): Promise<Buffer> {
  const raw = await readFile(path);
  if (path.endsWith('.gz')) return gunzipSync(raw);
  if (path.endsWith('.zst')) return zstdDecompress(raw);
  return raw;
}

/** Read `files` with the format's own library; returns rows as the library gives them (selected fields only for Parquet). */
async function readWithLibrary(format: FileSinkFormat, files: readonly string[]): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  for (const file of files) {
    const bytes = await plainBytes(file);
    switch (format) {
      case 'jsonl':
        for (const line of bytes.toString('utf8').split('\n')) if (line !== '') out.push(JSON.parse(line) as Record<string, unknown>);
        break;
      case 'csv':
        out.push(...(parseCsv(bytes, { columns: true }) as Array<Record<string, unknown>>));
        break;
      case 'parquet': {
        // parquetjs-lite 0.8 cannot materialize TIMESTAMP_MILLIS (BigInt → Date): read the other columns.
        const reader = await parquet.ParquetReader.openBuffer(bytes, { rawStatistics: true });
        const cursor = reader.getCursor(['id', 'name', 'ok', 'score']);
        for (let group = await cursor.nextRowGroup(); group !== null; group = await cursor.nextRowGroup()) out.push(...group);
        await reader.close();
        break;
      }
      case 'avro':
        await new Promise<void>((resolve, reject) => {
          Readable.from([bytes])
            .pipe(new avro.streams.BlockDecoder())
            .on('data', (r: Record<string, unknown>) => out.push(r))
            .on('end', resolve)
            .on('error', reject);
        });
        break;
      default: {
        const table = arrow.tableFromIPC(bytes);
        for (let i = 0; i < table.numRows; i++) out.push(table.get(i)!.toJSON() as Record<string, unknown>);
      }
    }
  }
  return out;
}

/** The fields every library gives in a comparable form. */
function core(format: FileSinkFormat, r: Record<string, unknown>): unknown {
  if (format === 'csv') return { id: Number(r.id), name: r.name === '' ? null : r.name, ok: r.ok === 'true', score: Number(r.score) };
  return { id: Number(r.id), name: r.name ?? null, ok: r.ok, score: r.score };
}

function coreOf(r: Row): unknown {
  return { id: r.id, name: r.name, ok: r.ok, score: r.score };
}

describe('file round trip', () => {
  for (const format of FORMATS) {
    for (const compression of [undefined, 'gzip', 'zstd'] as const) {
      it(`${format}${compression === undefined ? '' : ` + ${compression}`}: weir writes, weir and the library read the same records`, async () => {
        const dir = await mkdtemp(join(root, `${format}-`));
        const written = rows(0, 2500);
        const names = await writeParts(dir, written, { format, compression, rollRecords: 1000 }, 300);
        const suffix = compression === 'gzip' ? '.gz' : compression === 'zstd' ? '.zst' : '';
        expect(names).toEqual([0, 1, 2].map((n) => `part-out-0000000001-0000${n}.${format}${suffix}`));

        const weir = await readAll(fileSource({ path: dir, ...readOptions(format) }), { max: 777 });
        expect(weir.deadLetters).toEqual([]);
        expect(weir.records).toEqual(written.map((r) => expected(format, r)));

        const direct = await readWithLibrary(format, paths(dir, names));
        expect(direct.map((r) => core(format, r))).toEqual(written.map(coreOf));
      });
    }
  }

  it('reads a compressed file without a compression extension by its magic bytes', async () => {
    const dir = await mkdtemp(join(root, 'magic-'));
    const [name] = await writeParts(dir, rows(0, 50), { format: 'jsonl', compression: 'zstd' });
    const renamed = join(dir, 'data.jsonl');
    await (await import('node:fs/promises')).rename(join(dir, name), renamed);
    const got = await readAll(fileSource({ path: renamed }));
    expect(got.records).toEqual(rows(0, 50).map((r) => expected('jsonl', r)));
  });
});
