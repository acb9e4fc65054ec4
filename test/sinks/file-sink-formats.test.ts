import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as arrow from 'apache-arrow';
import { parse as parseCsv } from 'csv-parse/sync';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { batch } from '../../src/runtime/elements.js';
import { ConfigError, RecordError } from '../../src/runtime/errors.js';
import type { SinkWriter, TransactionalWriter } from '../../src/runtime/sink.js';
import { fileSink, type FileSinkOptions, type FileSinkTxn } from '../../src/sinks/file-sink.js';
import { fileSource } from '../../src/sources/file-source.js';
import { readAll, sourceCtx } from '../sources/file-source-support.js';
import { removeDir } from '../sources/file-formats-support.js';

type Writer = TransactionalWriter<unknown, FileSinkTxn> & Required<Pick<SinkWriter<unknown>, 'flush' | 'close'>>;

let dir: string;
let clock = 0;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'weir-file-sink-formats-'));
  clock = 1_000;
});

afterEach(async () => {
  await removeDir(dir);
});

async function openWriter(options: Omit<FileSinkOptions, 'dir'>, restored?: unknown): Promise<Writer> {
  return (await fileSink({ dir, ...options }).open({ job: 't', name: 'out', signal: new AbortController().signal, restored, now: () => clock })) as Writer;
}

function write(writer: Writer, records: unknown[]): Promise<void> | void {
  return writer.write(batch(records, new Array<number>(records.length).fill(Number.NaN)));
}

function items(from: number, to: number): Array<{ i: number; s: string; tags: string[]; inner: { x: number } | null }> {
  return Array.from({ length: to - from }, (_, k) => {
    const i = from + k;
    return { i, s: `s${i}`, tags: ['a', `${i}`], inner: i % 2 ? { x: i } : null };
  });
}

async function visible(): Promise<string[]> {
  return (await readdir(dir)).filter((f) => !f.startsWith('.')).sort();
}

async function hidden(): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.startsWith('.')).sort();
}

/** Read one committed part with weir's file source. */
async function part(name: string): Promise<unknown[]> {
  const got = await readAll(fileSource({ path: join(dir, name) }));
  expect(got.deadLetters).toEqual([]);
  return got.records;
}

describe('fileSink formats', () => {
  for (const format of ['parquet', 'avro', 'arrow'] as const) {
    it(`${format}: every rolled part is a complete file (footer written at the roll and at pre-commit)`, async () => {
      const writer = await openWriter({ format, rollRecords: 40 });
      await write(writer, items(0, 25));
      await write(writer, items(25, 90));
      const txn = await writer.preCommit(3);
      expect(txn.files.map((f) => f.final)).toEqual([0, 1, 2].map((n) => `part-out-0000000003-0000${n}.${format}`));
      expect(await visible()).toEqual([]);
      await writer.commit(txn);
      expect(await part(`part-out-0000000003-00000.${format}`)).toEqual(items(0, 40));
      expect(await part(`part-out-0000000003-00001.${format}`)).toEqual(items(40, 80));
      expect(await part(`part-out-0000000003-00002.${format}`)).toEqual(items(80, 90));
      await writer.close();
    });

    it(`${format}: aborts, restores and flushes like the JSON-lines sink, with compressed names`, async () => {
      const first = await openWriter({ format, compression: 'zstd' });
      await write(first, items(0, 5));
      const t1 = await first.preCommit(1);
      await write(first, items(5, 10));
      await first.preCommit(2); // never completes
      await write(first, items(10, 12)); // in progress
      await first.close();
      expect(await hidden()).toEqual([
        `.part-out-0000000001-00000.${format}.zst.pending`,
        `.part-out-0000000002-00000.${format}.zst.pending`,
        `.part-out-2.${format}.zst.inprogress`,
      ]);
      const restored = await openWriter({ format, compression: 'zstd' }, structuredClone(t1));
      expect(await hidden()).toEqual([`.part-out-0000000001-00000.${format}.zst.pending`]);
      await restored.commit(t1);
      await write(restored, items(5, 12));
      await restored.flush();
      expect(await visible()).toEqual([`part-out-0000000001-00000.${format}.zst`, `part-out-0000000002-00000-end.${format}.zst`]);
      expect((await readAll(fileSource({ path: dir }))).records).toEqual(items(0, 12));
      const t3 = await (async () => {
        await write(restored, items(12, 13));
        return restored.preCommit(3);
      })();
      await restored.abort(t3);
      await restored.abort(t3);
      expect(await hidden()).toEqual([]);
      await restored.close();
    });
  }

  it('rolls by bytes after a write for block formats, and by time at the next write', async () => {
    const writer = await openWriter({ format: 'avro', rollBytes: 300 });
    for (let k = 0; k < 5; k++) await write(writer, items(k * 10, k * 10 + 10));
    const byBytes = await writer.preCommit(1);
    expect(byBytes.files.length).toBeGreaterThan(1);
    await writer.commit(byBytes);
    const sizes = await Promise.all((await visible()).map(async (f) => (await readFile(join(dir, f))).length));
    for (const size of sizes.slice(0, -1)) expect(size).toBeGreaterThanOrEqual(300);
    await writer.close();

    const timed = await openWriter({ format: 'jsonl', rollIntervalMs: 1000, prefix: 'timed' });
    await write(timed, items(0, 2));
    clock += 999;
    await write(timed, items(2, 4));
    clock += 1;
    await write(timed, items(4, 6));
    clock += 5000;
    await write(timed, items(6, 7));
    const txn = await timed.preCommit(2);
    expect(txn.files.map((f) => f.final)).toEqual(['timed-out-0000000002-00000.jsonl', 'timed-out-0000000002-00001.jsonl', 'timed-out-0000000002-00002.jsonl']);
    await timed.commit(txn);
    expect(await part('timed-out-0000000002-00000.jsonl')).toEqual(items(0, 4));
    expect(await part('timed-out-0000000002-00001.jsonl')).toEqual(items(4, 6));
    await timed.close();
  });

  it('compresses as gzip members that any gzip reader reads through', async () => {
    const writer = await openWriter({ format: 'jsonl', compression: 'gzip', compressionLevel: 9 });
    const many = items(0, 20_000); // > 256 KiB of text: several members
    await write(writer, many);
    await writer.commit(await writer.preCommit(1));
    await writer.close();
    const [name] = await visible();
    expect(name).toBe('part-out-0000000001-00000.jsonl.gz');
    const text = gunzipSync(await readFile(join(dir, name))).toString('utf8');
    expect(text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown)).toEqual(many);
  });

  it('CSV: header in every part, columns from the first batch or the option, quoting that reads back', async () => {
    const writer = await openWriter({ format: 'csv', rollRecords: 2 });
    await write(writer, [
      { a: 'plain', b: 1, c: true },
      { a: 'with, comma', b: null, c: false, extra: 'in the first batch: a column' },
      { a: 'quote " and\nline', b: 2.5 },
      { a: '', b: 1n, c: new Date(0) },
    ]);
    await writer.commit(await writer.preCommit(1));
    await writer.close();
    const [first, second] = await visible();
    expect(await readFile(join(dir, first), 'utf8')).toBe('a,b,c,extra\nplain,1,true,\n"with, comma",,false,in the first batch: a column\n');
    expect(await readFile(join(dir, second), 'utf8')).toBe('a,b,c,extra\n"quote "" and\nline",2.5,,\n"",1,1970-01-01T00:00:00.000Z,\n');
    expect(parseCsv(await readFile(join(dir, second)), { columns: true })).toEqual([
      { a: 'quote " and\nline', b: '2.5', c: '', extra: '' },
      { a: '', b: '1', c: '1970-01-01T00:00:00.000Z', extra: '' },
    ]);

    const semi = await openWriter({ format: 'csv', delimiter: ';', header: false, columns: ['y', 'x'], prefix: 'semi' });
    await write(semi, [{ x: 1, y: 'a;b', z: 9 }]);
    await semi.commit(await semi.preCommit(2));
    await semi.close();
    expect(await readFile(join(dir, 'semi-out-0000000002-00000.csv'), 'utf8')).toBe('"a;b";1\n');
  });

  it('uses a given schema: Parquet definition, Avro schema, Arrow Schema', async () => {
    const records = [{ id: 1, name: 'a' }, { id: 2, name: null }];
    const pq = await openWriter({ format: 'parquet', prefix: 'pq', schema: { id: { type: 'INT32' }, name: { type: 'UTF8', optional: true } } });
    const av = await openWriter({ format: 'avro', prefix: 'av', schema: { type: 'record', name: 'R', fields: [{ name: 'id', type: 'int' }, { name: 'name', type: ['null', 'string'] }] } });
    const ar = await openWriter({
      format: 'arrow',
      prefix: 'ar',
      schema: new arrow.Schema([new arrow.Field('id', new arrow.Int32(), false), new arrow.Field('name', new arrow.Utf8(), true)]),
    });
    for (const w of [pq, av, ar]) {
      await write(w, records);
      await w.commit(await w.preCommit(1));
      await w.close();
    }
    for (const prefix of ['pq', 'av', 'ar']) expect(await part((await visible()).find((f) => f.startsWith(prefix))!)).toEqual(records);
    const table = arrow.tableFromIPC(await readFile(join(dir, 'ar-out-0000000001-00000.arrow')));
    expect(String(table.schema.fields[0].type)).toBe('Int32');
  });

  it('fails a record that does not fit the schema with a RecordError naming the step', async () => {
    for (const format of ['parquet', 'avro', 'arrow'] as const) {
      const writer = await openWriter({ format, prefix: format });
      await write(writer, [{ n: 1, s: 'x' }]);
      const failed = (async () => write(writer, [{ n: 'not a number', s: 'y' }]))();
      await expect(failed).rejects.toBeInstanceOf(RecordError);
      await expect(failed).rejects.toMatchObject({ step: 'out' });
      await writer.close();
    }
    const conflict = await openWriter({ format: 'parquet', prefix: 'conflict' });
    await expect((async () => write(conflict, [{ a: 1 }, { a: 'x' }]))()).rejects.toThrow(
      'step "out": record.a is a number in one record and a string in another; give the schema option',
    );
    await conflict.close();
    const badName = await openWriter({ format: 'avro', prefix: 'badname' });
    await expect((async () => write(badName, [{ 'not-avro': 1 }]))()).rejects.toThrow(/field "not-avro" is not a valid Avro name/);
    await badName.close();
  });

  it('writes Parquet that parquetjs-lite reads, with nested groups and repeated fields', async () => {
    const writer = await openWriter({ format: 'parquet', rowGroupSize: 7 });
    await write(writer, items(0, 30));
    await writer.commit(await writer.preCommit(1));
    await writer.close();
    const { createRequire } = await import('node:module');
    const parquet = createRequire(import.meta.url)('parquetjs-lite') as {
      ParquetReader: { openFile(path: string): Promise<{ getCursor(): { next(): Promise<unknown> }; metadata: { row_groups: unknown[] }; close(): Promise<void> }> };
    };
    const reader = await parquet.ParquetReader.openFile(join(dir, (await visible())[0]));
    expect(reader.metadata.row_groups).toHaveLength(5);
    const cursor = reader.getCursor();
    const out: unknown[] = [];
    for (let r = await cursor.next(); r !== null; r = await cursor.next()) out.push(r);
    await reader.close();
    // parquetjs-lite leaves absent optional values out.
    expect(out).toEqual(items(0, 30).map(({ inner, ...rest }) => (inner === null ? rest : { ...rest, inner })));
  });

  it('validates options in the factory, naming the option and the value', () => {
    expect(() => fileSink({ dir, format: 'csv', rollIntervalMs: 0 })).toThrow('sinks.file: rollIntervalMs must be a positive integer of milliseconds, got 0');
    expect(() => fileSink({ dir, format: 'csv', compression: 'lz4' as 'gzip' })).toThrow(`sinks.file: compression must be 'gzip' or 'zstd', got "lz4"`);
    expect(() => fileSink({ dir, format: 'csv', compressionLevel: 3 })).toThrow('sinks.file: compressionLevel needs compression');
    expect(() => fileSink({ dir, format: 'csv', compression: 'gzip', compressionLevel: 12 })).toThrow(
      'sinks.file: compressionLevel must be an integer from 1 to 9 for gzip, got 12',
    );
    expect(() => fileSink({ dir, format: 'jsonl', delimiter: ';' })).toThrow(`sinks.file: delimiter applies to format 'csv' only, got format "jsonl" with delimiter ";"`);
    expect(() => fileSink({ dir, format: 'csv', schema: {} })).toThrow(`sinks.file: schema applies to format 'parquet' or 'avro' or 'arrow' only`);
    expect(() => fileSink({ dir, format: 'parquet', rowGroupSize: 0 })).toThrow('sinks.file: rowGroupSize must be a positive integer, got 0');
    expect(() => fileSink({ dir, format: 'csv', columns: [] })).toThrow(ConfigError);
  });

  it('rejects an Arrow schema that is not an apache-arrow Schema when the writer opens', async () => {
    await expect(openWriter({ format: 'arrow', schema: { fields: [] } })).rejects.toThrow('sink "out": schema must be an apache-arrow Schema for format arrow');
  });

  it('writes the same files for the same input: a replay after a crash is byte-identical (Parquet, Arrow, CSV)', async () => {
    const run = async (format: 'parquet' | 'arrow' | 'csv'): Promise<Record<string, string>> => {
      const writer = await openWriter({ format, rollRecords: 15, prefix: format });
      await write(writer, items(0, 20));
      const txn = await writer.preCommit(4);
      await writer.commit(txn);
      await writer.close();
      const out: Record<string, string> = {};
      for (const f of txn.files) out[f.final] = (await readFile(join(dir, f.final))).toString('base64');
      for (const f of txn.files) await writeFile(join(dir, f.final), '');
      return out;
    };
    for (const format of ['parquet', 'arrow', 'csv'] as const) expect(await run(format)).toEqual(await run(format));
  });
});

describe('fileSink writes what the source reads back', () => {
  it('a restored source position survives a sink restart in the middle (reader over committed parts)', async () => {
    const writer = await openWriter({ format: 'arrow', rollRecords: 10 });
    await write(writer, items(0, 30));
    await writer.commit(await writer.preCommit(1));
    await writer.close();
    const reader = await fileSource({ path: dir }).open(sourceCtx());
    expect((await reader.read(15))!.records).toEqual(items(0, 10));
    await reader.close?.();
  });
});
