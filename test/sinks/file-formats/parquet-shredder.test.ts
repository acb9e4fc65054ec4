import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileShredder, type ParquetSchemaField } from '../../../src/sinks/file-formats/parquet-shredder.js';
import { parquetFormat } from '../../../src/sinks/file-formats/parquet-format.js';

const load = createRequire(import.meta.url);
const parquet = load('parquetjs-lite') as {
  ParquetSchema: new (definition: object) => { fields: Record<string, ParquetSchemaField> };
  ParquetShredder: { shredRecord(schema: object, record: unknown, buffer: Record<string, unknown>): void };
  ParquetEnvelopeWriter: new (schema: object, write: (b: Buffer) => void, close: () => void, offset: number, options: object) => object;
  ParquetWriter: new (schema: object, envelope: object, options: object) => { appendRow(row: unknown): Promise<void>; close(): Promise<void> };
};
const types = load('parquetjs-lite/lib/types') as { toPrimitive: (type: string, value: unknown) => unknown };

const definition = {
  id: { type: 'DOUBLE' },
  name: { type: 'UTF8', optional: true },
  ok: { type: 'BOOLEAN', optional: true },
  tags: { type: 'UTF8', repeated: true },
  nested: {
    optional: true,
    fields: { a: { type: 'DOUBLE', optional: true }, items: { repeated: true, fields: { k: { type: 'UTF8' }, v: { type: 'INT64', optional: true } } } },
  },
};

const record = fc.record({
  id: fc.double({ noNaN: true }),
  name: fc.option(fc.string(), { nil: null }),
  ok: fc.option(fc.boolean(), { nil: undefined }),
  tags: fc.array(fc.string({ maxLength: 3 }), { maxLength: 3 }),
  nested: fc.option(
    fc.record({
      a: fc.option(fc.double({ noNaN: true }), { nil: null }),
      items: fc.array(fc.record({ k: fc.string({ maxLength: 2 }), v: fc.option(fc.integer(), { nil: null }) }), { maxLength: 3 }),
    }),
    { nil: null },
  ),
});

async function libraryBytes(rows: unknown[], rowGroupSize: number, pageSize: number): Promise<Buffer> {
  const schema = new parquet.ParquetSchema(definition);
  const chunks: Buffer[] = [];
  const envelope = new parquet.ParquetEnvelopeWriter(schema, (b) => void chunks.push(b), () => undefined, 0, { pageSize });
  const writer = new parquet.ParquetWriter(schema, envelope, { rowGroupSize });
  for (const row of rows) await writer.appendRow(row);
  await writer.close();
  return Buffer.concat(chunks);
}

async function weirBytes(rows: unknown[], rowGroupSize: number, pageSize: number, batch: number): Promise<Buffer> {
  const format = parquetFormat<unknown>({ schema: definition, rowGroupSize, pageSize });
  format.prepare(rows);
  const part = format.part();
  const chunks: Uint8Array[] = [...part.start()];
  for (let i = 0; i < rows.length; i += batch) chunks.push(...(await part.encode(rows, i, Math.min(rows.length, i + batch))));
  chunks.push(...(await part.finish()));
  return Buffer.concat(chunks);
}

describe('compileShredder', () => {
  it('fills a row buffer exactly as parquetjs-lite shredRecord does', () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 20 }), (rows) => {
        const schema = new parquet.ParquetSchema(definition);
        const expected: Record<string, unknown> = {};
        for (const row of rows) parquet.ParquetShredder.shredRecord(schema, row, expected);
        if (rows.length === 0) return;
        const actual: Record<string, unknown> = {};
        parquet.ParquetShredder.shredRecord(schema, rows[0], actual);
        const shredder = compileShredder(schema.fields, types.toPrimitive);
        const data = actual.columnData as Record<string, never>;
        const columns = shredder.keys.map((k) => data[k]);
        for (const row of rows.slice(1)) {
          shredder.shred(row, columns);
          (actual as { rowCount: number }).rowCount++;
          (actual as { pageRowCount: number }).pageRowCount++;
        }
        expect(actual).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });

  it('makes the parquet writer produce the same bytes as appendRow alone, across pages and row groups', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(record, { maxLength: 60 }),
        fc.integer({ min: 1, max: 17 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 25 }),
        async (rows, groupSize, pageSize, batch) => {
          expect(await weirBytes(rows, groupSize, pageSize, batch)).toEqual(await libraryBytes(rows, groupSize, pageSize));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('throws as the library does for a missing required field or several values in a non-repeated one', () => {
    const schema = new parquet.ParquetSchema(definition);
    const shredder = compileShredder(schema.fields, types.toPrimitive);
    const buffer: Record<string, unknown> = {};
    parquet.ParquetShredder.shredRecord(schema, { id: 1 }, buffer);
    const columns = shredder.keys.map((k) => (buffer.columnData as Record<string, never>)[k]);
    expect(() => shredder.shred({ name: 'x' }, columns)).toThrow('missing required field: id');
    expect(() => shredder.shred({ id: 1, name: ['a', 'b'] }, columns)).toThrow('too many values for field: name');
    expect(() => shredder.shred('nope', columns)).toThrow(/record must be an object/);
  });
});
