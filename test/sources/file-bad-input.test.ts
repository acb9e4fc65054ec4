import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import avro from 'avsc';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeadLetter } from '../../src/runtime/error-policy.js';
import { RecordError } from '../../src/runtime/errors.js';
import { fileSource } from '../../src/sources/file-source.js';
import { removeDir, rows, writeParts } from './file-formats-support.js';
import { readAll, splitAt } from './file-source-support.js';

/**
 * Bad input never stops a job: malformed records become dead letters with file, position and
 * reason, good records all come through once; strict mode fails on the first bad record instead.
 */
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'weir-file-bad-'));
});

afterAll(async () => {
  await removeDir(root);
});

/** Deterministic pseudo-random numbers (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Planted {
  text: string;
  good: unknown[];
  bad: Array<{ raw: string; line: number; byteOffset: number }>;
}

/** `goods` good lines with 1 % bad ones mixed in at random places; records where they are. */
function plant(goods: number, makeGood: (i: number) => { line: string; value: unknown }, makeBad: (k: number) => string, seed: number, header?: string): Planted {
  const next = random(seed);
  const badCount = Math.round(goods / 100);
  const badAt = new Set<number>();
  while (badAt.size < badCount) badAt.add(Math.floor(next() * (goods + badCount)));
  const parts: string[] = [];
  const good: unknown[] = [];
  const bad: Planted['bad'] = [];
  let offset = 0;
  let line = 0;
  const push = (text: string): void => {
    parts.push(text, '\n');
    offset += Buffer.byteLength(text) + 1;
    line++;
  };
  if (header !== undefined) push(header);
  let g = 0;
  let b = 0;
  for (let i = 0; i < goods + badCount; i++) {
    if (badAt.has(i)) {
      const raw = makeBad(b++);
      bad.push({ raw, line: line + 1, byteOffset: offset });
      push(raw);
    } else {
      const { line: text, value } = makeGood(g++);
      good.push(value);
      push(text);
    }
  }
  return { text: parts.join(''), good, bad };
}

function letter(file: string, step: string, b: Planted['bad'][number]): unknown {
  return {
    record: b.raw,
    error: { code: 'WEIR_BAD_RECORD', message: expect.any(String) as unknown, step },
    source: { name: step, position: { file, line: b.line, byteOffset: b.byteOffset } },
  };
}

const BAD_JSON = ['{"id": 1,', 'not json', '{"id": }', '[1, 2', '{"a": "unterminated}', 'nul', '{"x": 1}}'];

describe('bad input', () => {
  it('JSON lines: 1 % malformed lines among 100 k good ones: every good record once, every bad one dead-lettered with its position', async () => {
    const file = join(root, 'mixed.jsonl');
    const planted = plant(
      100_000,
      (i) => ({ line: JSON.stringify({ id: i, s: `é${i}` }), value: { id: i, s: `é${i}` } }),
      (k) => `${BAD_JSON[k % BAD_JSON.length]} #${k}`,
      7,
    );
    await writeFile(file, planted.text);
    const got = await readAll(fileSource({ path: file, name: 'logs' }), { max: 1000 });
    expect(got.records).toEqual(planted.good);
    expect(got.deadLetters).toHaveLength(1000);
    expect(got.deadLetters).toEqual(planted.bad.map((b) => letter(file, 'in', b)));
    for (const dl of got.deadLetters) expect(dl.error.message).toMatch(/^invalid JSON: /);

    // Exactly once across a restore, for records and dead letters alike.
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: planted.good.length }), async (k) => {
        const { head, tail } = await splitAt(fileSource({ path: file }), k, 4096);
        expect([...head.records, ...tail.records]).toEqual(planted.good);
        expect([...head.deadLetters, ...tail.deadLetters]).toEqual(got.deadLetters);
      }),
      { numRuns: 5 },
    );
  }, 120_000);

  it('CSV: rows with the wrong number of fields, bad quoting or a value its type rejects are dead-lettered; the rest come through', async () => {
    const file = join(root, 'mixed.csv');
    // Malformed quoting is kept on one line (an unclosed quote would run on to the next quote).
    const BAD = [(k: number) => `${k},2`, (k: number) => `${k},2,3,4`, (k: number) => `"quote ${k}"x,1,2`, (k: number) => `${k},"a"b,1`, (k: number) => `nan${k},x,1`];
    const planted = plant(
      20_000,
      (i) => ({ line: `${i},"name, ${i}",${i % 3}`, value: { id: i, name: `name, ${i}`, n: i % 3 } }),
      (k) => BAD[k % BAD.length](k),
      11,
      'id,name,n',
    );
    await writeFile(file, planted.text);
    const got = await readAll(fileSource({ path: file, types: { id: 'number', n: 'integer' } }), { max: 500 });
    expect(got.records).toEqual(planted.good);
    expect(got.deadLetters).toEqual(planted.bad.map((b) => letter(file, 'in', b)));
    const reasons = new Set(got.deadLetters.map((d) => d.error.message.replace(/\d+/g, 'N').slice(0, 30)));
    expect([...reasons].some((r) => r.startsWith('expected N fields, got N'))).toBe(true);
    expect([...reasons].some((r) => r.startsWith('not valid CSV'))).toBe(true);
    expect([...reasons].some((r) => r.startsWith('column "id": expected a number'))).toBe(true);
  }, 60_000);

  it('Avro: a record that does not match its schema is dead-lettered with block and record; other blocks are read', async () => {
    const dir = await mkdtemp(join(root, 'avro-'));
    const schema = { type: 'record', name: 'R', fields: [{ name: 'id', type: 'int' }, { name: 'kind', type: ['null', 'string'] }] };
    const records = Array.from({ length: 60 }, (_, i) => ({ id: i, kind: i % 2 === 0 ? 'even' : null }));
    // Blocks of 10 records (one per write).
    const [name] = await writeParts(dir, records, { format: 'avro', schema }, 10);
    const path = join(dir, name);
    const bytes = await readFile(path);
    const type = avro.Type.forSchema(schema as avro.Schema);
    const block2 = Buffer.concat(records.slice(20, 30).map((r) => type.toBuffer(r)));
    const at = bytes.indexOf(block2);
    expect(at).toBeGreaterThan(0);
    // Record 23: its union branch index (zig-zag 0 for null) becomes 3 (zig-zag -2), which no branch has.
    const record23 = at + Buffer.concat(records.slice(20, 23).map((r) => type.toBuffer(r))).length;
    expect(bytes[record23 + 1]).toBe(0);
    bytes[record23 + 1] = 3;
    await writeFile(path, bytes);
    const got = await readAll(fileSource({ path }), { max: 7 });
    // Records 20–22 of block 2 were fine; 23–29 cannot be framed once 23 fails.
    expect(got.records.map((r) => (r as { id: number }).id)).toEqual([...Array(23).keys(), ...Array.from({ length: 30 }, (_, i) => 30 + i)]);
    expect(got.deadLetters).toHaveLength(1);
    expect(got.deadLetters[0]).toMatchObject({
      error: { code: 'WEIR_BAD_RECORD', step: 'in' },
      source: { name: 'in', position: { file: path, block: 2, record: 3 } },
    });
    expect(got.deadLetters[0].error.message).toMatch(/record 3 of block 2 does not match the schema .*7 record\(s\) of the block skipped/);
    expect(Buffer.isBuffer(got.deadLetters[0].record)).toBe(true);
  });

  it('Avro: a block whose sync marker is damaged is dead-lettered and reading goes on at the next marker', async () => {
    const dir = await mkdtemp(join(root, 'avro-sync-'));
    const records = Array.from({ length: 30 }, (_, i) => ({ id: i }));
    const [name] = await writeParts(dir, records, { format: 'avro' }, 10);
    const path = join(dir, name);
    const bytes = await readFile(path);
    // The file ends with the sync marker; its first occurrence ends the header, the second block 0.
    const sync = Buffer.from(bytes.subarray(bytes.length - 16));
    const first = bytes.indexOf(sync);
    const second = bytes.indexOf(sync, first + 16);
    bytes[second] ^= 0xff;
    await writeFile(path, bytes);
    const got = await readAll(fileSource({ path }));
    // Block 0's end is unknown without its marker, so the search for the next marker also passes block 1.
    expect(got.records.map((r) => (r as { id: number }).id)).toEqual(Array.from({ length: 10 }, (_, i) => 20 + i));
    expect(got.deadLetters).toHaveLength(1);
    expect(got.deadLetters[0].source.position).toMatchObject({ file: path, block: 0 });
    expect(got.deadLetters[0].error.message).toMatch(/block 0 is corrupt \(sync marker does not match\); skipped to byte \d+/);
  });

  it('a file that is not what its name says, in a directory, is one dead letter; the other files are read', async () => {
    const dir = await mkdtemp(join(root, 'garbage-'));
    await writeParts(dir, rows(0, 10), { format: 'parquet', prefix: 'b' });
    await writeFile(join(dir, 'a.parquet'), 'this is not parquet at all, just text\n');
    await writeFile(join(dir, 'c.arrow'), 'nor is this arrow\n');
    await writeFile(join(dir, 'd.avro'), 'Obj\x01 but then nothing sensible');
    await writeFile(join(dir, 'e.txt'), 'unknown extension');
    const got = await readAll(fileSource({ path: dir }));
    expect(got.records).toEqual(rows(0, 10));
    expect(got.deadLetters.map((d) => [d.source.position, d.error.message.slice(0, 20)])).toEqual([
      [{ file: join(dir, 'a.parquet') }, 'not a readable Parqu'],
      [{ file: join(dir, 'c.arrow') }, 'not a readable Arrow'],
      [{ file: join(dir, 'd.avro') }, 'file ends inside the'],
      [{ file: join(dir, 'e.txt') }, 'unknown file format '],
    ]);
  });

  it('a truncated gzip file gives the records before the damage and one dead letter for the rest', async () => {
    const file = join(root, 'cut.jsonl.gz');
    const lines = Array.from({ length: 5000 }, (_, i) => JSON.stringify({ id: i, pad: 'x'.repeat(50) }));
    const zipped = gzipSync(lines.join('\n') + '\n');
    await writeFile(file, zipped.subarray(0, Math.floor(zipped.length * 0.6)));
    const got = await readAll(fileSource({ path: file }));
    expect(got.records.length).toBeGreaterThan(100);
    expect(got.records.length).toBeLessThan(5000);
    expect(got.records).toEqual(lines.slice(0, got.records.length).map((l) => JSON.parse(l) as unknown));
    expect(got.deadLetters).toHaveLength(1);
    expect(got.deadLetters[0].error.message).toMatch(/rest of file unreadable from byte \d+: /);
  });

  it('a line longer than maxRecordBytes is dead-lettered and skipped, also across a restore inside it', async () => {
    const file = join(root, 'long.jsonl');
    const long = JSON.stringify({ big: 'y'.repeat(300_000) });
    await writeFile(file, `{"id":1}\n${long}\n{"id":2}\n`);
    const options = { path: file, maxRecordBytes: 100_000, blockBytes: 65_536 };
    const got = await readAll(fileSource(options));
    expect(got.records).toEqual([{ id: 1 }, { id: 2 }]);
    expect(got.deadLetters).toHaveLength(1);
    expect(got.deadLetters[0].source.position).toEqual({ file, line: 2, byteOffset: 9 });
    expect(got.deadLetters[0].error.message).toMatch(/record longer than maxRecordBytes \(100000 bytes\) skipped/);
    const { head, tail } = await splitAt(fileSource(options), 1, 1);
    expect([...head.records, ...tail.records]).toEqual([{ id: 1 }, { id: 2 }]);
    expect([...head.deadLetters, ...tail.deadLetters]).toHaveLength(1);
  });

  it('strict mode fails on the first bad record with a RecordError naming the file and position', async () => {
    const file = join(root, 'strict.jsonl');
    await writeFile(file, '{"id":1}\n{"id":2}\n{oops\n{"id":4}\n');
    const reader = await fileSource({ path: file, strict: true }).open({
      job: 't',
      name: 'logs',
      signal: new AbortController().signal,
      restored: undefined,
      now: () => 0,
    });
    const failure = (async () => {
      for (;;) if ((await reader.read(10)) === null) break;
    })();
    await expect(failure).rejects.toBeInstanceOf(RecordError);
    await expect(failure).rejects.toMatchObject({ code: 'WEIR_BAD_RECORD', step: 'logs' });
    await expect(failure).rejects.toThrow(`step "logs": bad record at ${JSON.stringify(file)} line 3, byteOffset 18: invalid JSON`);
    await reader.close?.();
  });

  it('strict mode fails on a CSV row with the wrong number of fields', async () => {
    const file = join(root, 'strict.csv');
    await writeFile(file, 'a,b\n1,2\n3\n');
    await expect(readAll(fileSource({ path: file, strict: true }))).rejects.toThrow(/line 3, byteOffset 8: expected 2 fields, got 1/);
  });

  it('dead letters are plain data: structured-clone-able and JSON-serializable', async () => {
    const file = join(root, 'clone.jsonl');
    await writeFile(file, '{"a":1}\n{bad}\n');
    const got = await readAll(fileSource({ path: file }));
    const dl: DeadLetter = got.deadLetters[0];
    expect(structuredClone(dl)).toEqual(dl);
    expect(JSON.parse(JSON.stringify(dl))).toEqual(dl);
  });
});
