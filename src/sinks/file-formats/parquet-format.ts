import { createRequire } from 'node:module';
import { describe } from '../../runtime/errors.js';
import { inferShape, type Shape } from './infer-shape.js';
import { compileShredder, type ParquetSchemaField, type RecordShredder, type ShreddedColumn } from './parquet-shredder.js';
import type { PartEncoder, PartFormat } from './part-format.js';

/** Options of {@link parquetFormat} (validated by the sink's factory). */
export interface ParquetFormatOptions {
  /** A parquetjs-lite schema definition (`{ name: { type: 'UTF8', optional: true }, … }`). Default: inferred. */
  readonly schema: object | undefined;
  /** Rows per row group (the reader's unit of work and memory). */
  readonly rowGroupSize: number;
  /** Rows per data page. Default: parquetjs-lite's (8192). */
  readonly pageSize?: number;
}

/** The parts of parquetjs-lite (which ships no types) the writer uses. */
interface ParquetSchemaLike {
  readonly fields: Readonly<Record<string, ParquetSchemaField>>;
}
interface RowBuffer {
  rowCount?: number;
  pageRowCount?: number;
  columnData?: Record<string, ShreddedColumn>;
}
interface ParquetWriterLike {
  /** The rows buffered for the current row group, in the format `shredRecord` documents. */
  rowBuffer: RowBuffer;
  readonly rowGroupSize: number;
  readonly envelopeWriter: { readonly pageSize: number };
  appendRow(row: unknown): Promise<void>;
  close(): Promise<void>;
}
interface ParquetLib {
  ParquetSchema: new (definition: object) => ParquetSchemaLike;
  ParquetEnvelopeWriter: new (schema: object, write: (buf: Buffer) => void, close: () => void, offset: number, options: object) => object;
  ParquetWriter: new (schema: object, envelope: object, options: object) => ParquetWriterLike;
}
type ToPrimitive = (type: string, value: unknown) => unknown;

type FieldDefinition = Record<string, unknown>;

/**
 * Parquet through parquetjs-lite, loaded when the first part opens. Without `schema`, the schema
 * is inferred from the first batch: every field optional; number → DOUBLE, bigint → INT64
 * (exact up to 2^53), string → UTF8, boolean → BOOLEAN, Date → TIMESTAMP_MILLIS, Uint8Array →
 * BYTE_ARRAY, object → group, array → repeated field (so a null array reads back as `[]`, and
 * arrays may hold no nulls nor arrays), a field null in the whole batch → UTF8.
 *
 * Rows are buffered by the library up to `rowGroupSize`, then written as a row group; the footer
 * is written when the part is sealed (roll, pre-commit, end of input). Pages are uncompressed: use
 * the sink's `compression` for the file.
 *
 * @example
 * ```ts
 * const parquet = parquetFormat({ schema: undefined, rowGroupSize: 16384 });
 * parquet.prepare([{ id: 1, tags: ['a'] }]);
 * ```
 */
export function parquetFormat<T>(options: ParquetFormatOptions): PartFormat<T> {
  let lib: ParquetLib | undefined;
  let schema: ParquetSchemaLike | undefined;
  let shredder: RecordShredder | undefined;
  return {
    extension: 'parquet',
    prepare(records) {
      const load = createRequire(import.meta.url);
      lib ??= load('parquetjs-lite') as ParquetLib;
      const definition = options.schema ?? toDefinition(inferShape(records));
      try {
        schema = new lib.ParquetSchema(definition);
      } catch (err) {
        throw new TypeError(`not a usable Parquet schema: ${describe(err)}`, { cause: err });
      }
      shredder = compileShredder(schema.fields, (load('parquetjs-lite/lib/types') as { toPrimitive: ToPrimitive }).toPrimitive);
    },
    part: () => new ParquetPart<T>(lib!, schema!, shredder!, options.rowGroupSize, options.pageSize),
  };
}

class ParquetPart<T> implements PartEncoder<T> {
  readonly #chunks: Buffer[] = [];
  readonly #writer: ParquetWriterLike;
  readonly #shredder: RecordShredder;

  constructor(lib: ParquetLib, schema: ParquetSchemaLike, shredder: RecordShredder, rowGroupSize: number, pageSize: number | undefined) {
    // The envelope writer hands every section to us instead of a stream: the sink writes the file.
    const chunks = this.#chunks;
    const envelope = new lib.ParquetEnvelopeWriter(schema, (buf) => void chunks.push(buf), () => undefined, 0, pageSize === undefined ? {} : { pageSize });
    this.#writer = new lib.ParquetWriter(schema, envelope, { rowGroupSize });
    this.#shredder = shredder;
  }

  start(): Uint8Array[] {
    return this.#drain();
  }

  /**
   * Rows go into the library's row buffer through the fast shredder; the row that completes a
   * page or a row group (and the first of a row group, which sets the buffer up) goes through
   * `appendRow`, so the library encodes pages and writes row groups exactly as it would.
   */
  async encode(records: readonly T[], start: number, end: number): Promise<Uint8Array[]> {
    const writer = this.#writer;
    const shredder = this.#shredder;
    const pageSize = writer.envelopeWriter.pageSize;
    const groupSize = writer.rowGroupSize;
    let columns: ShreddedColumn[] | undefined;
    for (let i = start; i < end; i++) {
      const buffer = writer.rowBuffer;
      try {
        if (buffer.columnData === undefined || buffer.pageRowCount! + 1 >= pageSize || buffer.rowCount! + 1 >= groupSize) {
          await writer.appendRow(records[i]);
          columns = undefined;
        } else {
          const data = buffer.columnData;
          columns ??= shredder.keys.map((key) => data[key]);
          shredder.shred(records[i], columns);
          buffer.rowCount!++;
          buffer.pageRowCount!++;
        }
      } catch (err) {
        throw new TypeError(`record does not fit the Parquet schema: ${describe(err)}`, { cause: err });
      }
    }
    return this.#drain();
  }

  async finish(): Promise<Uint8Array[]> {
    await this.#writer.close();
    return this.#drain();
  }

  #drain(): Buffer[] {
    return this.#chunks.splice(0, this.#chunks.length);
  }
}

/** A parquetjs-lite schema definition for an inferred record shape. */
function toDefinition(shape: Shape): Record<string, FieldDefinition> {
  if (shape.kind !== 'struct') throw new TypeError(`records must be objects to infer a Parquet schema, got ${shape.kind}`);
  const out: Record<string, FieldDefinition> = {};
  for (const [name, field] of shape.fields) out[name] = fieldDefinition(field, name);
  return out;
}

function fieldDefinition(shape: Shape, path: string): FieldDefinition {
  if (shape.kind === 'list') {
    if (shape.items.kind === 'list') throw new TypeError(`${path}: Parquet cannot hold arrays of arrays without a schema; give the schema option`);
    const items = fieldDefinition(shape.items, `${path}[]`);
    delete items.optional;
    return { ...items, repeated: true };
  }
  if (shape.kind === 'struct') return { optional: true, fields: toDefinition(shape) };
  // No column statistics: parquetjs-lite computes them from a Set of every distinct value of a
  // page, which costs more than the rest of the encoding on high-cardinality columns.
  return { type: PARQUET_TYPES[shape.kind], optional: true, statistics: false };
}

const PARQUET_TYPES = {
  null: 'UTF8',
  number: 'DOUBLE',
  bigint: 'INT64',
  string: 'UTF8',
  boolean: 'BOOLEAN',
  date: 'TIMESTAMP_MILLIS',
  bytes: 'BYTE_ARRAY',
} as const;
