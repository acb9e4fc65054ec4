import { createRequire } from 'node:module';
import { stat } from 'node:fs/promises';
import { describe } from '../../runtime/errors.js';
import { ByteReader, isFileSystemError } from './byte-reader.js';
import type { FormatChunk, FormatReader, ParquetPosition, ReaderEnv } from './format-reader.js';

/** The parts of parquetjs-lite (which ships no types) this reader uses. */
interface ParquetField {
  name: string;
  originalType?: string;
  repetitionType: 'REQUIRED' | 'OPTIONAL' | 'REPEATED';
  isNested?: boolean;
  fields?: Record<string, ParquetField>;
}
interface ParquetCursorLike {
  rowGroupIndex: number;
  nextRowGroup(): Promise<Array<Record<string, unknown>> | null>;
}
interface ParquetReaderLike {
  metadata: { row_groups: unknown[] };
  schema: { fields: Record<string, ParquetField>; fieldList: ParquetField[] };
  getCursor(): ParquetCursorLike;
  close(): Promise<void>;
}
interface ParquetLib {
  ParquetReader: {
    openFile(path: string, options?: object): Promise<ParquetReaderLike>;
    openBuffer(buffer: Buffer, options?: object): Promise<ParquetReaderLike>;
  };
}

let lib: ParquetLib | undefined;

/** parquetjs-lite, loaded on first use so jobs without Parquet never load it. */
function parquetLib(): ParquetLib {
  lib ??= createRequire(import.meta.url)('parquetjs-lite') as ParquetLib;
  return lib;
}

/**
 * Open a Parquet reader (parquetjs-lite) on `env.file` at `position` (or the start). Rows arrive
 * as plain objects, a row group at a time (the library materializes a whole row group), in schema
 * order, with every field present: a missing optional value is `null`, a missing repeated field
 * `[]`. `INT64` values are `bigint`; `TIMESTAMP_MILLIS` values are `Date`s.
 *
 * Position `{ rowGroup, row }`: a restored reader loads that row group and skips `row` rows.
 * A gzip/zstd-compressed file is decompressed into memory first (Parquet needs random access).
 *
 * Bad input: a file that is not Parquet, or whose footer cannot be read, is one dead letter
 * `{ file }`; a row group that cannot be decoded is one dead letter `{ file, rowGroup }` and is
 * skipped.
 *
 * @example
 * ```ts
 * const reader = await openParquetReader(env, { format: 'parquet', rowGroup: 2, row: 100 });
 * ```
 */
export async function openParquetReader(env: ReaderEnv, position: ParquetPosition | undefined): Promise<FormatReader<unknown>> {
  const ino = (await stat(env.file)).ino;
  let reader: ParquetReaderLike;
  try {
    const bytes = await ByteReader.open(env.file, 0);
    const plain = bytes.compression === 'none';
    // Statistics stay raw: parquetjs-lite 0.8 cannot decode TIMESTAMP_MILLIS statistics (BigInt → Date).
    const options = { rawStatistics: true };
    try {
      reader = plain ? await parquetLib().ParquetReader.openFile(env.file, options) : await parquetLib().ParquetReader.openBuffer(await bytes.readAll(), options);
    } finally {
      await bytes.close();
    }
  } catch (err) {
    if (isFileSystemError(err)) throw err;
    env.bad.add(null, { file: env.file }, `not a readable Parquet file: ${describe(err)}`, err);
    return new ParquetFileReader(env, ino, undefined, { format: 'parquet', rowGroup: 0, row: 0 });
  }
  return new ParquetFileReader(env, ino, reader, position ?? { format: 'parquet', rowGroup: 0, row: 0 });
}

class ParquetFileReader implements FormatReader<unknown> {
  follow = false;
  readonly ino: number;
  readonly growable = false;
  readonly bytesRead = 0;
  readonly #env: ReaderEnv;
  readonly #reader: ParquetReaderLike | undefined;
  readonly #cursor: ParquetCursorLike | undefined;
  readonly #normalize: (row: Record<string, unknown>) => Record<string, unknown>;
  readonly #groups: number;
  /** Row group of `#rows` (or the next to load). */
  #group: number;
  #rows: Array<Record<string, unknown>> | undefined;
  #at: number;
  #closed = false;

  constructor(env: ReaderEnv, ino: number, reader: ParquetReaderLike | undefined, start: ParquetPosition) {
    this.#env = env;
    this.ino = ino;
    this.#reader = reader;
    this.#groups = reader === undefined ? 0 : reader.metadata.row_groups.length;
    this.#group = start.rowGroup;
    this.#at = start.row;
    this.#normalize = reader === undefined ? (row) => row : normalizer(reader.schema.fields);
    this.#cursor = reader?.getCursor();
  }

  read(max: number): FormatChunk<unknown> | null | Promise<FormatChunk<unknown> | null> {
    const rows = this.#rows;
    if (rows !== undefined && this.#at < rows.length) return { records: this.#take(rows, max) };
    if (this.#rows !== undefined) {
      this.#rows = undefined;
      this.#group++;
      this.#at = 0;
    }
    if (this.#group >= this.#groups) return null;
    return this.#load(max);
  }

  position(): ParquetPosition {
    if (this.#rows !== undefined && this.#at >= this.#rows.length) return { format: 'parquet', rowGroup: this.#group + 1, row: 0 };
    return { format: 'parquet', rowGroup: this.#group, row: this.#at };
  }

  size(): Promise<number> {
    return Promise.resolve(0);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#reader?.close();
  }

  #take(rows: Array<Record<string, unknown>>, max: number): unknown[] {
    const end = Math.min(rows.length, this.#at + max);
    const out = new Array<unknown>(end - this.#at);
    const normalize = this.#normalize;
    for (let i = this.#at, k = 0; i < end; i++, k++) out[k] = normalize(rows[i]);
    this.#at = end;
    return out;
  }

  async #load(max: number): Promise<FormatChunk<unknown> | null> {
    const cursor = this.#cursor!;
    while (this.#group < this.#groups) {
      cursor.rowGroupIndex = this.#group;
      let rows: Array<Record<string, unknown>> | null;
      try {
        rows = await cursor.nextRowGroup();
      } catch (err) {
        if (isFileSystemError(err)) throw err;
        // Consume the group before reporting, so a strict-mode throw leaves the position after it.
        const group = this.#group++;
        this.#at = 0;
        this.#env.bad.add(null, { file: this.#env.file, rowGroup: group }, `row group ${group} unreadable: ${describe(err)}`, err);
        return { records: [] };
      }
      if (rows === null) break;
      if (this.#at < rows.length) {
        this.#rows = rows;
        return { records: this.#take(rows, max) };
      }
      this.#group++;
      this.#at = 0;
    }
    return null;
  }
}

/**
 * A function giving a row every schema field, in schema order (missing optional → null, missing
 * repeated → []), converting TIMESTAMP_MILLIS (read as bigint) to Date.
 */
function normalizer(fields: Record<string, ParquetField>): (row: Record<string, unknown>) => Record<string, unknown> {
  const names = Object.keys(fields);
  const converts = names.map((name) => fieldConverter(fields[name]));
  return (row) => {
    const out: Record<string, unknown> = {};
    for (let i = 0; i < names.length; i++) out[names[i]] = converts[i](row[names[i]]);
    return out;
  };
}

function fieldConverter(field: ParquetField): (value: unknown) => unknown {
  let one: (value: unknown) => unknown;
  if (field.isNested === true && field.fields !== undefined) {
    const inner = normalizer(field.fields);
    one = (value) => inner(value as Record<string, unknown>);
  } else if (field.originalType === 'TIMESTAMP_MILLIS') {
    // Keep parquetjs-lite from converting (it fails on BigInt); convert here instead.
    field.originalType = undefined;
    one = (value) => new Date(Number(value as bigint));
  } else {
    one = (value) => value;
  }
  if (field.repetitionType === 'REPEATED') return (value) => (value === undefined || value === null ? [] : (value as unknown[]).map(one));
  if (field.repetitionType === 'OPTIONAL') return (value) => (value === undefined || value === null ? null : one(value));
  return one;
}
