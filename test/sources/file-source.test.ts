import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as arrow from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipeline } from '../../src/builder/pipeline.js';
import { CheckpointError, ConfigError, ConnectorError } from '../../src/runtime/errors.js';
import { fileSource, type FileSourcePosition } from '../../src/sources/file-source.js';
import { recording, recordingSink } from '../support/inline.js';
import { removeDir, rows, writeParts } from './file-formats-support.js';
import { drain, readAll, sourceCtx, splitAt } from './file-source-support.js';

let root: string;
let n = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'weir-file-source-'));
});

afterAll(async () => {
  await removeDir(root);
});

async function fresh(): Promise<string> {
  const dir = join(root, `d${n++}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

describe('fileSource: what it reads', () => {
  it('reads the files of a directory in name order, skipping hidden files and subdirectories', async () => {
    const dir = await fresh();
    await writeFile(join(dir, 'b.jsonl'), '{"f":"b","i":0}\n{"f":"b","i":1}\n');
    await writeFile(join(dir, 'a.jsonl'), '{"f":"a","i":0}\n');
    await writeFile(join(dir, '.hidden.jsonl'), '{"f":"hidden"}\n');
    await writeFile(join(dir, '.part-x-0.jsonl.inprogress'), '{"f":"inprogress"}\n');
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'sub', 'c.jsonl'), '{"f":"sub"}\n');
    const got = await readAll(fileSource({ path: dir }));
    expect(got.records).toEqual([
      { f: 'a', i: 0 },
      { f: 'b', i: 0 },
      { f: 'b', i: 1 },
    ]);
  });

  it('reads what a glob matches, ** included, in path order', async () => {
    const dir = await fresh();
    await mkdir(join(dir, '2024', 'x'), { recursive: true });
    await writeFile(join(dir, '2024', 'a.csv'), 'k\n1\n');
    await writeFile(join(dir, '2024', 'x', 'b.csv'), 'k\n2\n');
    await writeFile(join(dir, '2024', 'x', 'skip.txt'), 'k\n3\n');
    await writeFile(join(dir, 'top.csv'), 'k\n4\n');
    expect((await readAll(fileSource({ path: join(dir, '2024', '**', '*.csv') }))).records).toEqual([{ k: '1' }, { k: '2' }]);
    expect((await readAll(fileSource({ path: join(dir, '*.csv') }))).records).toEqual([{ k: '4' }]);
    expect((await readAll(fileSource({ path: join(dir, '{2024,none}', '?.csv') }))).records).toEqual([{ k: '1' }]);
  });

  it('tells formats apart by extension (after .gz/.zst) and reads mixed directories', async () => {
    const dir = await fresh();
    await writeParts(dir, [{ id: 1 }], { format: 'parquet', prefix: 'a' });
    await writeParts(dir, [{ id: 2 }], { format: 'avro', prefix: 'b' });
    await writeParts(dir, [{ id: 3 }], { format: 'arrow', prefix: 'c' });
    await writeParts(dir, [{ id: 4 }], { format: 'csv', prefix: 'd' });
    await writeParts(dir, [{ id: 5 }], { format: 'jsonl', prefix: 'e', compression: 'gzip' });
    const got = await readAll(fileSource({ path: dir }));
    expect(got.records).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }, { id: '4' }, { id: 5 }]);
  });

  it('gives an empty file and an empty directory no records', async () => {
    const dir = await fresh();
    expect((await readAll(fileSource({ path: dir }))).records).toEqual([]);
    await writeFile(join(dir, 'empty.jsonl'), '');
    await writeFile(join(dir, 'blank.jsonl'), '\n\n  \n');
    await writeFile(join(dir, 'empty.csv'), '');
    expect(await readAll(fileSource({ path: dir }))).toMatchObject({ records: [], deadLetters: [] });
  });

  it('reads JSON lines with CRLF, blank lines, a byte-order mark and no line end at the end', async () => {
    const dir = await fresh();
    await writeFile(join(dir, 'a.jsonl'), '\ufeff{"a":1}\r\n\r\n  \n{"a":"é"}\r\n{"a":3}');
    const got = await readAll(fileSource({ path: join(dir, 'a.jsonl') }));
    expect(got.records).toEqual([{ a: 1 }, { a: 'é' }, { a: 3 }]);
    expect(got.deadLetters).toEqual([]);
  });

  it('reads Arrow IPC stream files and, with arrow: "batches", gives record batches', async () => {
    const dir = await fresh();
    const table = arrow.tableFromArrays({ id: Float64Array.from([1, 2, 3]), s: ['x', 'y', 'z'] });
    await writeFile(join(dir, 'a.arrows'), arrow.tableToIPC(table, 'stream'));
    expect((await readAll(fileSource({ path: join(dir, 'a.arrows') }))).records).toEqual([
      { id: 1, s: 'x' },
      { id: 2, s: 'y' },
      { id: 3, s: 'z' },
    ]);
    const batches = await readAll(fileSource<arrow.RecordBatch>({ path: join(dir, 'a.arrows'), arrow: 'batches' }));
    expect(batches.records).toHaveLength(1);
    expect(batches.records[0]).toBeInstanceOf(arrow.RecordBatch);
    expect(batches.records[0].numRows).toBe(3);
    const { head, tail } = await splitAt(fileSource<unknown>({ path: join(dir, 'a.arrows') }), 2, 1);
    expect([...head.records, ...tail.records]).toHaveLength(3);
  });
});

describe('fileSource: CSV', () => {
  it('parses quoted fields with delimiters, doubled quotes and line ends, and types columns', async () => {
    const dir = await fresh();
    const text = [
      'id,name,price,ok,at,meta',
      '1,"Smith, J.",9.5,true,2024-01-02T03:04:05.000Z,"{""k"":[1,2]}"',
      '2,"two\nlines",,false,1700000000000,',
      '3,plain,-1e3,TRUE,,null',
    ].join('\r\n');
    await writeFile(join(dir, 'a.csv'), text);
    const got = await readAll(fileSource({ path: join(dir, 'a.csv'), types: { id: 'integer', price: 'number', ok: 'boolean', at: 'date', meta: 'json' } }));
    expect(got.deadLetters).toEqual([]);
    expect(got.records).toEqual([
      { id: 1, name: 'Smith, J.', price: 9.5, ok: true, at: new Date('2024-01-02T03:04:05.000Z'), meta: { k: [1, 2] } },
      { id: 2, name: 'two\nlines', price: null, ok: false, at: new Date(1_700_000_000_000), meta: null },
      { id: 3, name: 'plain', price: -1000, ok: true, at: null, meta: null },
    ]);
  });

  it('reads without a header: with columns, or as arrays; with another delimiter, quote and escape', async () => {
    const dir = await fresh();
    await writeFile(join(dir, 'a.csv'), "1;'a;b';x\n2;'c\\'d';y\n");
    const options = { delimiter: ';', quote: "'", escape: '\\', header: false };
    expect((await readAll(fileSource({ path: join(dir, 'a.csv'), ...options, columns: ['n', 's', 't'] }))).records).toEqual([
      { n: '1', s: 'a;b', t: 'x' },
      { n: '2', s: "c'd", t: 'y' },
    ]);
    expect((await readAll(fileSource({ path: join(dir, 'a.csv'), ...options }))).records).toEqual([
      ['1', 'a;b', 'x'],
      ['2', "c'd", 'y'],
    ]);
  });

  it('renames header columns with columns, and turns nullValue fields into null', async () => {
    const dir = await fresh();
    await writeFile(join(dir, 'a.csv'), 'x,y\n1,NULL\nNULL,2\n');
    const got = await readAll(fileSource({ path: join(dir, 'a.csv'), columns: ['a', 'b'], nullValue: 'NULL' }));
    expect(got.records).toEqual([
      { a: '1', b: null },
      { a: null, b: '2' },
    ]);
  });

  it('keeps a column named __proto__ as data', async () => {
    const dir = await fresh();
    await writeFile(join(dir, 'a.csv'), '__proto__,b\n1,2\n');
    const [record] = (await readAll(fileSource({ path: join(dir, 'a.csv') }))).records as Array<Record<string, unknown>>;
    expect(Object.getPrototypeOf(record)).toBe(Object.prototype);
    expect(Object.keys(record)).toEqual(['__proto__', 'b']);
    expect(record.b).toBe('2');
  });

  it('resumes after the header in a new reader (the header is read again from the top)', async () => {
    const dir = await fresh();
    await writeFile(join(dir, 'a.csv.gz'), (await import('node:zlib')).gzipSync('a,b\n1,2\n3,4\n5,6\n'));
    const { head, tail, position } = await splitAt(fileSource({ path: join(dir, 'a.csv.gz') }), 1, 1);
    expect(head.records).toEqual([{ a: '1', b: '2' }]);
    expect((position as FileSourcePosition).current).toMatchObject({ format: 'csv', offset: 8, line: 2 });
    expect(tail.records).toEqual([
      { a: '3', b: '4' },
      { a: '5', b: '6' },
    ]);
  });
});

describe('fileSource: positions', () => {
  it('reports { done, current } with the files finished and the place in the current one', async () => {
    const dir = await fresh();
    await writeFile(join(dir, 'a.jsonl'), '{"i":0}\n{"i":1}\n');
    await writeFile(join(dir, 'b.jsonl'), '{"i":2}\n');
    const reader = await fileSource({ path: dir }).open(sourceCtx());
    expect(reader.position()).toEqual({ done: [], current: null });
    await reader.read(1);
    expect(reader.position()).toMatchObject({ done: [], current: { file: join(dir, 'a.jsonl'), format: 'jsonl', offset: 8, line: 1 } });
    await drain(reader, 1000, 2);
    expect(reader.position()).toMatchObject({ done: [join(dir, 'a.jsonl')], current: { file: join(dir, 'b.jsonl'), offset: 8 } });
    expect(await reader.read(10)).toBeNull();
    expect(reader.position()).toEqual({ done: [join(dir, 'a.jsonl'), join(dir, 'b.jsonl')], current: null });
    expect(reader.progress?.()).toEqual({ done: 3, unit: 'records' });
    await reader.close?.();
    // A finished position reads nothing more.
    expect((await readAll(fileSource({ path: dir }), { restored: reader.position() })).records).toEqual([]);
  });

  it('rejects a restored position that is not a file source position', async () => {
    const source = fileSource({ path: root });
    await expect(Promise.resolve(source.open(sourceCtx({ done: 'x' })))).rejects.toBeInstanceOf(CheckpointError);
    await expect(Promise.resolve(source.open(sourceCtx({ done: [], current: { file: 'a', ino: 1, format: 'jsonl' } })))).rejects.toThrow(
      /not a file source position/,
    );
    const dir = await fresh();
    await writeFile(join(dir, 'a.jsonl'), '{}\n');
    const wrongFormat = { done: [], current: { file: join(dir, 'a.jsonl'), ino: 1, format: 'avro', block: 0, record: 0, offset: 0 } };
    await expect(Promise.resolve(fileSource({ path: dir }).open(sourceCtx(wrongFormat)))).rejects.toThrow(/restored position is for format 'avro'/);
  });
});

describe('fileSource: options and errors', () => {
  it('validates options in the factory, naming the option and the value', () => {
    expect(() => fileSource({ path: '' })).toThrow(ConfigError);
    expect(() => fileSource({ path: 'x', format: 'xml' as 'csv' })).toThrow(`sources.file: format must be one of 'jsonl', 'csv', 'parquet', 'avro', 'arrow', got "xml"`);
    expect(() => fileSource({ path: 'x', pollMs: 0 })).toThrow('sources.file: pollMs must be a positive integer of milliseconds, got 0');
    expect(() => fileSource({ path: 'x', blockBytes: 1000 })).toThrow('sources.file: blockBytes must be an integer from 65536 to 1073741824, got 1000');
    expect(() => fileSource({ path: 'x', delimiter: ';;' })).toThrow('sources.file: delimiter must be one ASCII character other than a line end, got ";;"');
    expect(() => fileSource({ path: 'x', quote: ',' })).toThrow('sources.file: delimiter and quote must differ, got "," for both');
    expect(() => fileSource({ path: 'x', types: { a: 'float' as 'number' } })).toThrow(`sources.file: types.a must be one of`);
    expect(() => fileSource({ path: 'x', format: 'jsonl', delimiter: ';' })).toThrow(`sources.file: delimiter applies to format 'csv' only, got format "jsonl" with delimiter ";"`);
    expect(() => fileSource({ path: 'x', format: 'csv', arrow: 'batches' })).toThrow(`sources.file: arrow applies to format 'arrow' only`);
    expect(() => fileSource({ path: 'x', columns: [] })).toThrow('sources.file: columns must be a non-empty array of strings, got []');
    expect(() => fileSource({ path: 'a/{b' })).toThrow(/path is not a valid glob/);
  });

  it('is bounded without watch, unbounded with it, and always replayable', () => {
    expect(fileSource({ path: 'x' })).toMatchObject({ name: 'file', bounded: true, replayable: true });
    expect(fileSource({ path: 'x', watch: true, name: 'logs' })).toMatchObject({ name: 'logs', bounded: false, replayable: true });
  });

  it('fails with a ConnectorError naming the file when a single file does not exist', async () => {
    const missing = join(root, 'missing.jsonl');
    const failure = (async () => {
      const reader = await fileSource({ path: missing }).open(sourceCtx());
      await drain(reader);
    })();
    await expect(failure).rejects.toBeInstanceOf(ConnectorError);
    await expect(failure).rejects.toThrow(`step "in": cannot read ${JSON.stringify(missing)}`);
  });

  it('fails with a ConfigError when a single file has no known extension and no format', async () => {
    const dir = await fresh();
    await writeFile(join(dir, 'data.txt'), 'x\n');
    await expect(readAll(fileSource({ path: join(dir, 'data.txt') }))).rejects.toThrow(/cannot tell the format of .*data\.txt.* from its name; give the format option/);
    expect((await readAll(fileSource({ path: join(dir, 'data.txt'), format: 'csv', header: false }))).records).toEqual([['x']]);
  });

  it('closes idempotently, also mid-file', async () => {
    const dir = await fresh();
    await writeFile(join(dir, 'a.jsonl'), '{"a":1}\n{"a":2}\n');
    const reader = await fileSource({ path: dir }).open(sourceCtx());
    await reader.read(1);
    await reader.close?.();
    await reader.close?.();
  });
});

describe('fileSource in a pipeline', () => {
  it('runs a job over a directory of mixed formats; a bad line is counted and the job goes on', async () => {
    const dir = await fresh();
    await writeParts(dir, rows(0, 300), { format: 'parquet', prefix: 'a', rollRecords: 100 });
    await writeFile(join(dir, 'b.jsonl'), '{"id":300}\n{broken\n{"id":301}\n');
    const rec = recording<number>();
    const result = await pipeline('files')
      .source(fileSource<{ id: number }>({ path: dir, name: 'in' }))
      .map((r) => r.id)
      .sink(recordingSink(rec))
      .run({ batchSize: 64 });
    expect(rec.records).toEqual(Array.from({ length: 302 }, (_, i) => i));
    expect(rec.ends).toBe(1);
    expect(result.steps.in.recordsOut).toBe(302);
    expect(result.steps.in.deadLettered).toBe(1);
  });
});
