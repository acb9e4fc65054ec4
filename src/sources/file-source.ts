import { ConfigError, describe, show } from '../runtime/errors.js';
import type { Source, SourceContext, SourceReader } from '../runtime/source.js';
import type { CsvColumnType } from './file-formats/csv-reader.js';
import { FileSourceReader, type FileSettings } from './file-formats/file-source-reader.js';
import type { FileFormat } from './file-formats/format-reader.js';
import { hasGlob, splitGlob } from './file-formats/glob.js';

export type { FileFormat, FormatPosition } from './file-formats/format-reader.js';
export type { CsvColumnType } from './file-formats/csv-reader.js';
export type { FileCursor, FileSourceChunk, FileSourcePosition } from './file-formats/file-source-reader.js';

/** Options of {@link fileSource}. */
export interface FileSourceOptions {
  /** A file, a directory (its files, one level deep), or a glob (`logs/**\/*.jsonl.gz`). */
  path: string;
  /**
   * File format. Default: from each file's extension, after a `.gz`/`.zst` one: `.jsonl`/`.ndjson`/`.json`
   * → jsonl, `.csv` → csv, `.parquet`/`.pq` → parquet, `.avro` → avro, `.arrow`/`.arrows`/`.feather`/`.ipc` → arrow.
   */
  format?: FileFormat;
  /**
   * Keep running: pick up new files (directory, glob) and follow a growing file, `tail -F`
   * style (for a single file, also across rotation and truncation). Makes the source unbounded.
   * Default `false`.
   */
  watch?: boolean;
  /** With `watch`: longest wait between checks for new data, in ms (`fs.watch` events end it early). Default `250`. */
  pollMs?: number;
  /** Fail the job on the first bad record (a `RecordError` naming file and position) instead of dead-lettering it. Default `false`. */
  strict?: boolean;
  /** Bytes per read of text formats, at least 65536. Default 1 MiB. */
  blockBytes?: number;
  /** A text record longer than this is dead-lettered and skipped. Default 64 MiB. */
  maxRecordBytes?: number;
  /** CSV: field separator, one ASCII character. Default `','`. */
  delimiter?: string;
  /** CSV: quote character. Default `'"'`. */
  quote?: string;
  /** CSV: escape character inside quotes. Default: the quote (`""`). */
  escape?: string;
  /** CSV: the first record of each file names the columns. Default `true`. */
  header?: boolean;
  /** CSV: column names (with `header: false`, or to rename the header's). Without header nor columns, records are string arrays. */
  columns?: string[];
  /** CSV: column types, e.g. `{ price: 'number', ok: 'boolean', at: 'date', tags: 'json' }`; others are strings. */
  types?: Record<string, CsvColumnType>;
  /** CSV: a field equal to this is `null` (typed columns also read an empty field as `null`). */
  nullValue?: string;
  /** Avro: reader schema to resolve every file's records to (schema evolution). Default: each file's writer schema. */
  schema?: object;
  /** Arrow: `'rows'` (default) gives plain objects; `'batches'` gives each `RecordBatch` as one record, zero copy. */
  arrow?: 'rows' | 'batches';
  /** Step name. Default `'file'`. */
  name?: string;
}

const WHAT = 'sources.file';
const FORMATS: readonly FileFormat[] = ['jsonl', 'csv', 'parquet', 'avro', 'arrow'];
const CSV_TYPES: readonly CsvColumnType[] = ['string', 'number', 'integer', 'boolean', 'date', 'json'];
const MIN_BLOCK_BYTES = 64 * 1024;

/**
 * A replayable source reading files: one file, the files of a directory, or the files a glob
 * matches, in JSON lines, CSV, Parquet, Avro (object container files) or Arrow IPC (file and
 * stream), each optionally gzip- or zstd-compressed as a whole (detected by extension, else by
 * magic bytes).
 *
 * Files are read one after the other in path order (plain string order), each to its end; in
 * directory and glob mode hidden files (`.name`) are skipped, so a sink's in-progress parts are
 * never read. Records arrive in chunks of up to the runtime's batch size, read in blocks: text is
 * cut into lines in 64 KiB+ blocks; Parquet rows come a row group at a time and Arrow rows a
 * record batch at a time, converted column by column without going through JSON.
 *
 * Exactly-once: `position()` is `{ done, current }`: the files finished, and in the current one
 * `{ file, ino, offset, line }` (JSON lines, CSV; byte offset of the next line in the decompressed
 * stream: a compressed file is decompressed again from its start and the bytes before are
 * dropped), `{ rowGroup, row }` (Parquet), `{ block, record, offset }` (Avro) or `{ batch, row }`
 * (Arrow). A reader restored from a position returns exactly the records that followed it.
 *
 * Bad input does not stop the job: a malformed JSON line, a CSV record with the wrong number of
 * fields or a value its column type rejects, an Avro record that does not decode, an unreadable
 * row group, batch or file becomes a dead letter in the chunk's `deadLetters`, with `{ file, … }`
 * position and reason. With `strict: true` the first one fails the job with a `RecordError`.
 *
 * With `watch: true` the source is unbounded: at the end of what is there it waits (`fs.watch`,
 * and a `pollMs` poll), returning empty chunks meanwhile so checkpoints go on. In directory and
 * glob mode new files are picked up, and a text file is followed until a newer file shows up.
 * A single text file is followed like `tail -F`: appended lines are read as they come (a last
 * line without its line end waits for it), a rotation (the file renamed away and a new one created
 * under the name) finishes the old inode and starts the new file from the top, and a truncation
 * starts over. Compressed and binary files are read once, when they appear: write them under a
 * hidden name and rename them, as the file sink does.
 *
 * @example
 * ```ts
 * pipeline('orders')
 *   .source(fileSource({ path: 'in/orders-*.csv.gz', types: { price: 'number', at: 'date' } }), { timestamp: (o) => o.at.getTime() })
 *   .sink(fileSink({ dir: 'out', format: 'parquet' }));
 * const logs = fileSource({ path: '/var/log/app.jsonl', watch: true });
 * ```
 */
export function fileSource<T = unknown>(options: FileSourceOptions): Source<T> {
  const settings = validate(options);
  return {
    name: settings.name,
    bounded: !settings.watch,
    replayable: true,
    async open(ctx: SourceContext): Promise<SourceReader<T>> {
      const reader = new FileSourceReader<T>(settings, ctx);
      try {
        await reader.start();
      } catch (err) {
        await reader.close();
        throw err;
      }
      return reader;
    },
  };
}
function validate(options: FileSourceOptions): FileSettings {
  if (options === null || typeof options !== 'object') throw new ConfigError(`${WHAT}: options must be an object, got ${show(options)}`);
  const { path, format } = options;
  if (typeof path !== 'string' || path.length === 0) throw new ConfigError(`${WHAT}: path must be a non-empty path or glob, got ${show(path)}`);
  if (hasGlob(path)) {
    try {
      splitGlob(path);
    } catch (err) {
      throw new ConfigError(`${WHAT}: path is not a valid glob: ${describe(err)}, got ${show(path)}`);
    }
  }
  if (format !== undefined && !FORMATS.includes(format)) {
    throw new ConfigError(`${WHAT}: format must be one of ${FORMATS.map((f) => `'${f}'`).join(', ')}, got ${show(format)}`);
  }
  const watch = options.watch ?? false;
  if (typeof watch !== 'boolean') throw new ConfigError(`${WHAT}: watch must be a boolean, got ${show(watch)}`);
  const pollMs = options.pollMs ?? 250;
  if (!(Number.isSafeInteger(pollMs) && pollMs > 0)) throw new ConfigError(`${WHAT}: pollMs must be a positive integer of milliseconds, got ${show(options.pollMs)}`);
  const strict = options.strict ?? false;
  if (typeof strict !== 'boolean') throw new ConfigError(`${WHAT}: strict must be a boolean, got ${show(strict)}`);
  const blockBytes = options.blockBytes ?? 1024 * 1024;
  if (!(Number.isSafeInteger(blockBytes) && blockBytes >= MIN_BLOCK_BYTES && blockBytes <= 1 << 30)) {
    throw new ConfigError(`${WHAT}: blockBytes must be an integer from ${MIN_BLOCK_BYTES} to ${1 << 30}, got ${show(options.blockBytes)}`);
  }
  const maxRecordBytes = options.maxRecordBytes ?? 64 * 1024 * 1024;
  if (!(Number.isSafeInteger(maxRecordBytes) && maxRecordBytes > 0)) {
    throw new ConfigError(`${WHAT}: maxRecordBytes must be a positive integer, got ${show(options.maxRecordBytes)}`);
  }
  const only = (option: keyof FileSourceOptions, wanted: FileFormat): void => {
    if (options[option] !== undefined && format !== undefined && format !== wanted) {
      throw new ConfigError(`${WHAT}: ${option} applies to format '${wanted}' only, got format ${show(format)} with ${option} ${show(options[option])}`);
    }
  };
  for (const option of ['delimiter', 'quote', 'escape', 'header', 'columns', 'types', 'nullValue'] as const) only(option, 'csv');
  only('schema', 'avro');
  only('arrow', 'arrow');
  const delimiter = oneChar('delimiter', options.delimiter ?? ',');
  const quote = oneChar('quote', options.quote ?? '"');
  const escape = oneChar('escape', options.escape ?? quote);
  if (delimiter === quote) throw new ConfigError(`${WHAT}: delimiter and quote must differ, got ${show(delimiter)} for both`);
  const header = options.header ?? true;
  if (typeof header !== 'boolean') throw new ConfigError(`${WHAT}: header must be a boolean, got ${show(header)}`);
  const columns = options.columns;
  if (columns !== undefined && !(Array.isArray(columns) && columns.length > 0 && columns.every((c) => typeof c === 'string'))) {
    throw new ConfigError(`${WHAT}: columns must be a non-empty array of strings, got ${show(columns)}`);
  }
  const types = options.types ?? {};
  if (types === null || typeof types !== 'object' || Array.isArray(types)) throw new ConfigError(`${WHAT}: types must be an object of column types, got ${show(types)}`);
  for (const [column, type] of Object.entries(types)) {
    if (!CSV_TYPES.includes(type)) {
      throw new ConfigError(`${WHAT}: types.${column} must be one of ${CSV_TYPES.map((t) => `'${t}'`).join(', ')}, got ${show(type)}`);
    }
  }
  const nullValue = options.nullValue;
  if (nullValue !== undefined && typeof nullValue !== 'string') throw new ConfigError(`${WHAT}: nullValue must be a string, got ${show(nullValue)}`);
  const schema = options.schema;
  if (schema !== undefined && (schema === null || typeof schema !== 'object')) {
    throw new ConfigError(`${WHAT}: schema must be an Avro schema object, got ${show(schema)}`);
  }
  const arrow = options.arrow ?? 'rows';
  if (arrow !== 'rows' && arrow !== 'batches') throw new ConfigError(`${WHAT}: arrow must be 'rows' or 'batches', got ${show(arrow)}`);
  const name = options.name ?? 'file';
  if (typeof name !== 'string' || name.length === 0) throw new ConfigError(`${WHAT}: name must be a non-empty string, got ${show(name)}`);
  return {
    name,
    path,
    format,
    watch,
    pollMs,
    strict,
    blockBytes,
    maxRecordBytes,
    csv: { delimiter, quote, escape, header, columns: columns === undefined ? undefined : [...columns], types: { ...types }, nullValue, maxRecordBytes },
    avroSchema: schema,
    arrowBatches: arrow === 'batches',
  };
}

function oneChar(option: string, value: unknown): string {
  if (typeof value !== 'string' || value.length !== 1 || value.charCodeAt(0) > 127 || value === '\n' || value === '\r') {
    throw new ConfigError(`${WHAT}: ${option} must be one ASCII character other than a line end, got ${show(value)}`);
  }
  return value;
}
