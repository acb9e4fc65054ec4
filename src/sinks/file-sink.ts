import { mkdir, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { CheckpointError, ConfigError, ConnectorError, RecordError, WeirError, describe, show } from '../runtime/errors.js';
import type { Batch } from '../runtime/elements.js';
import type { Sink, SinkContext, TransactionalWriter } from '../runtime/sink.js';
import { partFileNames, type PartFileNames } from './part-file-names.js';
import { arrowFormat } from './file-formats/arrow-format.js';
import { avroFormat } from './file-formats/avro-format.js';
import { Compressor, type SinkCompression } from './file-formats/compressor.js';
import { csvFormat } from './file-formats/csv-format.js';
import { jsonlFormat } from './file-formats/jsonl-format.js';
import type { PartEncoder, PartFormat } from './file-formats/part-format.js';
import { parquetFormat } from './file-formats/parquet-format.js';

/** Formats the file sink writes. */
export type FileSinkFormat = 'jsonl' | 'csv' | 'parquet' | 'avro' | 'arrow';

/** Options of {@link fileSink}. */
export interface FileSinkOptions {
  /** Directory the part files go to; created when missing. */
  dir: string;
  /** File format of the parts. */
  format: FileSinkFormat;
  /** First part of every file name. Default `'part'`. */
  prefix?: string;
  /** Start a new part file after this many records. Default: one part per checkpoint. */
  rollRecords?: number;
  /**
   * Start a new part file once the current one holds at least this many bytes on disk. Exact to
   * the record for uncompressed JSON lines and CSV; otherwise checked after each write (a part may
   * go over by one batch, or by one Parquet row group). Default: no limit.
   */
  rollBytes?: number;
  /** Start a new part file, at the next write, once the current one has been open this long (processing time, ms). Default: no limit. */
  rollIntervalMs?: number;
  /** Compress every part file as a whole (`.gz` / `.zst` appended to the extension). Default: none. */
  compression?: SinkCompression;
  /** Compression level (gzip 1–9, zstd 1–22). Default: the library's. */
  compressionLevel?: number;
  /** CSV: field separator, one character. Default `','`. */
  delimiter?: string;
  /** CSV: quote character. Default `'"'`. */
  quote?: string;
  /** CSV: write a header line in every part. Default `true`. */
  header?: boolean;
  /** CSV: the columns, in order. Default: the keys of the first batch's records. */
  columns?: string[];
  /**
   * Parquet: a parquetjs-lite schema definition; Avro: an Avro schema; Arrow: an apache-arrow
   * `Schema`. Default: inferred from the first batch the writer gets (see each format).
   */
  schema?: object;
  /** Parquet: rows per row group. Default `16384`. */
  rowGroupSize?: number;
  /** Step name. Default `'file'`. */
  name?: string;
}

/** One file of a {@link FileSinkTxn}: names relative to the sink's directory. */
export interface FileSinkTxnFile {
  /** Hidden name the sealed part waits under. */
  readonly pending: string;
  /** Visible name it gets on commit. */
  readonly final: string;
}

/** The transaction a {@link fileSink} pre-commits: plain data, stored in the checkpoint. */
export interface FileSinkTxn {
  readonly checkpointId: number;
  readonly files: readonly FileSinkTxnFile[];
}

const WHAT = 'sinks.file';
const FORMATS: readonly FileSinkFormat[] = ['jsonl', 'csv', 'parquet', 'avro', 'arrow'];

/**
 * An exactly-once sink writing part files into a directory (two-phase commit, DESIGN.md
 * Exactly-once), in JSON lines, CSV, Parquet, Avro (object container files) or Arrow IPC (file
 * format), optionally gzip- or zstd-compressed as a whole. Readers that skip hidden files (names
 * starting with '.'), weir's file source included, only ever see committed data.
 *
 * - `write`: one write per batch (per part, when a batch crosses a roll limit) into a hidden
 *   in-progress file `.<prefix>-<step>-<seq>.<ext>.inprogress` (`<ext>`: `jsonl`, `csv.gz`,
 *   `parquet.zst`…); `rollRecords` / `rollBytes` / `rollIntervalMs` close the current part and
 *   start the next one. Parquet, Avro and Arrow schemas (and CSV columns) are fixed by the first
 *   batch the writer gets unless given.
 * - `preCommit(id)`: finalizes the open part (Parquet and Arrow footers, buffered rows, the last
 *   compressed frame), fsyncs and closes it, renames every part written since the last barrier to
 *   a hidden pending name, fsyncs the directory, and returns `{ checkpointId: id, files: [{ pending,
 *   final }] }`. Final names (`<prefix>-<step>-<id, 10 digits>-<n, 5 digits>.<ext>`) depend only on
 *   the checkpoint id and the part's rank, so a replay after a crash writes the same names.
 * - `commit(txn)`: renames pending to final. Idempotent: a part already renamed is fine; a part
 *   found under neither name is an error (its data is lost).
 * - `abort(txn)`: deletes the pending files (missing ones are fine).
 * - `flush()` (end of bounded input): pre-commits what is left under checkpoint id
 *   last barrier + 1, with `-end` in the final names so they never clash with a later
 *   checkpoint's, and commits it at once.
 * - `open`: removes this step's in-progress files (an uncommitted attempt's) and pending files
 *   that the restored transactions do not reference: all of them on a fresh start, those of
 *   checkpoints newer than the restored one otherwise. Pending files the restored transactions
 *   reference are kept for the coordinator to commit.
 * - `close()`: idempotent, also after a failure; leaves in-progress files for the next open.
 *
 * A record the format cannot hold (not JSON-serializable, not fitting the schema) fails the job
 * with a `RecordError` naming the step.
 *
 * @example
 * ```ts
 * pipeline('clicks')
 *   .source(generatorSource({ count: 1_000_000 }))
 *   .sink(fileSink({ dir: 'out/clicks', format: 'parquet', rollRecords: 100_000, compression: 'zstd' }));
 * ```
 */
export function fileSink<T = unknown>(options: FileSinkOptions): Sink<T> {
  if (options === null || typeof options !== 'object') throw new ConfigError(`${WHAT}: options must be an object, got ${show(options)}`);
  const { dir, format, rollRecords, rollBytes, rollIntervalMs, compression, compressionLevel } = options;
  if (typeof dir !== 'string' || dir.length === 0) throw new ConfigError(`${WHAT}: dir must be a non-empty path, got ${show(dir)}`);
  if (!FORMATS.includes(format)) throw new ConfigError(`${WHAT}: format must be one of ${FORMATS.map((f) => `'${f}'`).join(', ')}, got ${show(format)}`);
  const prefix = options.prefix ?? 'part';
  if (typeof prefix !== 'string' || !/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(prefix)) {
    throw new ConfigError(`${WHAT}: prefix must be letters, digits, '_', '.' or '-', not starting with '.' or '-', got ${show(prefix)}`);
  }
  if (rollRecords !== undefined && !(Number.isSafeInteger(rollRecords) && rollRecords > 0)) {
    throw new ConfigError(`${WHAT}: rollRecords must be a positive integer, got ${show(rollRecords)}`);
  }
  if (rollBytes !== undefined && !(Number.isSafeInteger(rollBytes) && rollBytes > 0)) {
    throw new ConfigError(`${WHAT}: rollBytes must be a positive integer, got ${show(rollBytes)}`);
  }
  if (rollIntervalMs !== undefined && !(Number.isSafeInteger(rollIntervalMs) && rollIntervalMs > 0)) {
    throw new ConfigError(`${WHAT}: rollIntervalMs must be a positive integer of milliseconds, got ${show(rollIntervalMs)}`);
  }
  if (compression !== undefined && compression !== 'gzip' && compression !== 'zstd') {
    throw new ConfigError(`${WHAT}: compression must be 'gzip' or 'zstd', got ${show(compression)}`);
  }
  if (compressionLevel !== undefined) {
    const [low, high] = compression === 'zstd' ? [1, 22] : [1, 9];
    if (compression === undefined) throw new ConfigError(`${WHAT}: compressionLevel needs compression, got compressionLevel ${show(compressionLevel)} without it`);
    if (!(Number.isSafeInteger(compressionLevel) && compressionLevel >= low && compressionLevel <= high)) {
      throw new ConfigError(`${WHAT}: compressionLevel must be an integer from ${low} to ${high} for ${compression}, got ${show(compressionLevel)}`);
    }
  }
  const only = (option: keyof FileSinkOptions, formats: readonly FileSinkFormat[]): void => {
    if (options[option] !== undefined && !formats.includes(format)) {
      throw new ConfigError(`${WHAT}: ${option} applies to format ${formats.map((f) => `'${f}'`).join(' or ')} only, got format ${show(format)} with ${option} ${show(options[option])}`);
    }
  };
  for (const option of ['delimiter', 'quote', 'header', 'columns'] as const) only(option, ['csv']);
  only('schema', ['parquet', 'avro', 'arrow']);
  only('rowGroupSize', ['parquet']);
  const delimiter = oneChar('delimiter', options.delimiter ?? ',');
  const quote = oneChar('quote', options.quote ?? '"');
  if (delimiter === quote) throw new ConfigError(`${WHAT}: delimiter and quote must differ, got ${show(delimiter)} for both`);
  const header = options.header ?? true;
  if (typeof header !== 'boolean') throw new ConfigError(`${WHAT}: header must be a boolean, got ${show(header)}`);
  const columns = options.columns;
  if (columns !== undefined && !(Array.isArray(columns) && columns.length > 0 && columns.every((c) => typeof c === 'string'))) {
    throw new ConfigError(`${WHAT}: columns must be a non-empty array of strings, got ${show(columns)}`);
  }
  const schema = options.schema;
  if (schema !== undefined && (schema === null || typeof schema !== 'object')) throw new ConfigError(`${WHAT}: schema must be an object, got ${show(schema)}`);
  const rowGroupSize = options.rowGroupSize ?? 16384;
  if (!(Number.isSafeInteger(rowGroupSize) && rowGroupSize > 0)) throw new ConfigError(`${WHAT}: rowGroupSize must be a positive integer, got ${show(options.rowGroupSize)}`);
  const name = options.name ?? 'file';
  if (typeof name !== 'string' || name.length === 0) throw new ConfigError(`${WHAT}: name must be a non-empty string, got ${show(name)}`);
  const columnList = columns === undefined ? undefined : [...columns];
  const makeFormat = async (): Promise<PartFormat<T>> => {
    switch (format) {
      case 'jsonl':
        return jsonlFormat<T>();
      case 'csv':
        return csvFormat<T>({ delimiter, quote, header, columns: columnList });
      case 'parquet':
        return parquetFormat<T>({ schema, rowGroupSize });
      case 'avro':
        return avroFormat<T>({ schema });
      default:
        return arrowFormat<T>({ schema });
    }
  };
  const settings: FileSettings = { dir, prefix, rollRecords, rollBytes, rollIntervalMs, compression, compressionLevel };
  return {
    name,
    async open(ctx: SinkContext) {
      let partFormat: PartFormat<T>;
      try {
        partFormat = await makeFormat();
      } catch (err) {
        throw new ConfigError(`sink "${ctx.name}": ${describe(err)}`, { cause: err, step: ctx.name });
      }
      const compressor = compression === undefined ? undefined : await Compressor.create(compression, compressionLevel);
      const writer = new FileSinkWriter<T>(settings, ctx, partFormat, compressor);
      await writer.start(ctx.restored);
      return writer;
    },
  };
}

function oneChar(option: string, value: unknown): string {
  if (typeof value !== 'string' || value.length !== 1 || value === '\n' || value === '\r') {
    throw new ConfigError(`${WHAT}: ${option} must be one character other than a line end, got ${show(value)}`);
  }
  return value;
}

interface FileSettings {
  readonly dir: string;
  readonly prefix: string;
  readonly rollRecords: number | undefined;
  readonly rollBytes: number | undefined;
  readonly rollIntervalMs: number | undefined;
  readonly compression: SinkCompression | undefined;
  readonly compressionLevel: number | undefined;
}

/** The open in-progress part. */
interface Part {
  readonly name: string;
  readonly handle: FileHandle;
  readonly encoder: PartEncoder<unknown>;
  /** Processing time the part was opened at. */
  readonly openedAt: number;
  records: number;
  /** Bytes written to the file (after compression). */
  bytes: number;
}

/** The live writer of a {@link fileSink}. */
class FileSinkWriter<T> implements TransactionalWriter<T, FileSinkTxn> {
  readonly #settings: FileSettings;
  readonly #step: string;
  readonly #ctx: SinkContext;
  readonly #format: PartFormat<T>;
  readonly #compressor: Compressor | undefined;
  readonly #names: PartFileNames;
  #prepared = false;
  /** The part being written, opened lazily on the first record after a seal. */
  #part: Part | undefined;
  /** In-progress parts closed since the last barrier, in write order. */
  #sealed: string[] = [];
  #seq = 0;
  /** Id of the last checkpoint pre-committed (or restored, or flushed): the end flush uses the next. */
  #lastCheckpointId = 0;
  #closed = false;

  constructor(settings: FileSettings, ctx: SinkContext, format: PartFormat<T>, compressor: Compressor | undefined) {
    this.#settings = settings;
    this.#step = ctx.name;
    this.#ctx = ctx;
    this.#format = format;
    this.#compressor = compressor;
    const suffix = settings.compression === 'gzip' ? '.gz' : settings.compression === 'zstd' ? '.zst' : '';
    this.#names = partFileNames(settings.prefix, ctx.name, format.extension + suffix);
  }
  /** Create the directory and remove what earlier attempts left that no checkpoint references. */
  async start(restored: unknown): Promise<void> {
    const txns = restoredTxns(restored, this.#step);
    const kept = new Set<string>();
    let restoredId = -1;
    for (const txn of txns) {
      if (txn.checkpointId > restoredId) restoredId = txn.checkpointId;
      for (const file of txn.files) kept.add(file.pending);
    }
    if (restoredId > this.#lastCheckpointId) this.#lastCheckpointId = restoredId;
    const dir = this.#settings.dir;
    try {
      await mkdir(dir, { recursive: true });
      for (const entry of await readdir(dir)) {
        let stale = this.#names.isInProgress(entry);
        if (!stale && !kept.has(entry)) {
          const pending = this.#names.parsePending(entry);
          // End parts are committed right after they are sealed, so no checkpoint ever refers to one.
          stale = pending !== undefined && (restored === undefined || pending.end || pending.checkpointId > restoredId);
        }
        if (stale) await unlinkIfPresent(join(dir, entry));
      }
    } catch (err) {
      throw this.#external(`cannot prepare directory ${show(dir)}`, err);
    }
  }

  write(b: Batch<T>): void | Promise<void> {
    if (b.records.length === 0) return;
    return this.#write(b.records);
  }

  async preCommit(checkpointId: number): Promise<FileSinkTxn> {
    const txn = await this.#seal(checkpointId, false);
    this.#lastCheckpointId = checkpointId;
    return txn;
  }

  async commit(txn: FileSinkTxn): Promise<void> {
    const { checkpointId, files } = checkTxn(txn, this.#step);
    const dir = this.#settings.dir;
    for (const file of files) {
      const final = join(dir, file.final);
      try {
        await rename(join(dir, file.pending), final);
      } catch (err) {
        if (errorCode(err) !== 'ENOENT') throw this.#external(`commit of checkpoint ${checkpointId}: cannot rename ${show(file.pending)}`, err);
        // Renamed by an earlier commit of the same transaction (before a crash, or a repeat).
        if (!(await exists(final))) {
          throw new ConnectorError(
            this.#step,
            `commit of checkpoint ${checkpointId}: neither ${show(file.pending)} nor ${show(file.final)} exists in ${show(dir)}`,
            { cause: err, retryable: false },
          );
        }
      }
    }
    if (files.length > 0) await syncDir(dir);
  }

  async abort(txn: FileSinkTxn): Promise<void> {
    const { checkpointId, files } = checkTxn(txn, this.#step);
    try {
      for (const file of files) await unlinkIfPresent(join(this.#settings.dir, file.pending));
    } catch (err) {
      throw this.#external(`abort of checkpoint ${checkpointId} failed`, err);
    }
  }

  async flush(): Promise<void> {
    if (this.#part === undefined && this.#sealed.length === 0) return;
    const checkpointId = this.#lastCheckpointId + 1;
    const txn = await this.#seal(checkpointId, true);
    this.#lastCheckpointId = checkpointId;
    await this.commit(txn);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const part = this.#part;
    this.#part = undefined;
    // Not synced nor renamed: an in-progress part belongs to no checkpoint; the next open removes it.
    if (part !== undefined) await part.handle.close();
  }

  /** Write a batch's records, splitting them where a roll limit is reached: one write per part. */
  async #write(records: readonly T[]): Promise<void> {
    const { rollRecords, rollBytes, rollIntervalMs } = this.#settings;
    if (!this.#prepared) {
      this.#encoding(() => this.#format.prepare(records));
      this.#prepared = true;
    }
    // Exact cuts at rollBytes need each record's size on disk: only without compression.
    const exactBytes = rollBytes !== undefined && this.#compressor === undefined;
    const n = records.length;
    let start = 0;
    while (start < n) {
      if (rollIntervalMs !== undefined && this.#part !== undefined && this.#ctx.now() - this.#part.openedAt >= rollIntervalMs) await this.#closePart();
      const part = this.#part ?? (await this.#openPart());
      let end = n;
      if (rollRecords !== undefined && end - start > rollRecords - part.records) end = start + rollRecords - part.records;
      const line = part.encoder.line;
      let chunks: Uint8Array[];
      if (line !== undefined) {
        let text = '';
        if (!exactBytes) {
          for (let i = start; i < end; i++) text += this.#encoding(() => line(records[i]));
        } else {
          let bytes = part.bytes;
          for (let i = start; i < end; i++) {
            const one = this.#encoding(() => line(records[i]));
            text += one;
            bytes += Buffer.byteLength(one);
            if (bytes >= rollBytes) {
              end = i + 1;
              break;
            }
          }
        }
        chunks = [Buffer.from(text, 'utf8')];
      } else {
        const from = start;
        const to = end;
        chunks = await this.#encoding(() => part.encoder.encode(records, from, to));
      }
      await this.#append(part, chunks, false);
      part.records += end - start;
      if ((rollRecords !== undefined && part.records >= rollRecords) || (rollBytes !== undefined && part.bytes >= rollBytes)) {
        await this.#closePart();
      }
      start = end;
    }
  }

  /** Run an encoder call; a record the format cannot hold becomes a RecordError naming the step. */
  #encoding<R>(fn: () => R): R {
    let result: R;
    try {
      result = fn();
    } catch (err) {
      throw this.#badRecord(err);
    }
    if (result instanceof Promise) return result.catch((err: unknown) => Promise.reject(this.#badRecord(err))) as R;
    return result;
  }

  #badRecord(err: unknown): WeirError {
    if (err instanceof WeirError) return err;
    return new RecordError(this.#step, describe(err), err);
  }

  async #openPart(): Promise<Part> {
    const name = this.#names.inProgress(this.#seq++);
    let handle: FileHandle;
    try {
      handle = await open(join(this.#settings.dir, name), 'w');
    } catch (err) {
      throw this.#external(`cannot create ${show(name)}`, err);
    }
    const part: Part = { name, handle, encoder: this.#format.part() as PartEncoder<unknown>, openedAt: this.#ctx.now(), records: 0, bytes: 0 };
    this.#part = part;
    await this.#append(part, this.#encoding(() => part.encoder.start()), false);
    return part;
  }

  /** Append encoded bytes to the part, through the compressor (flushed too when `last`). */
  async #append(part: Part, chunks: readonly Uint8Array[], last: boolean): Promise<void> {
    const compressor = this.#compressor;
    let out: readonly Uint8Array[] = chunks;
    if (compressor !== undefined) {
      out = compressor.push(chunks);
      if (last) out = [...out, ...compressor.end()];
    }
    if (out.length === 0) return;
    const buffer = out.length === 1 ? out[0] : Buffer.concat(out);
    if (buffer.length === 0) return;
    try {
      // Positional writes, looping on short writes so a batch always lands whole.
      let offset = 0;
      while (offset < buffer.length) {
        const { bytesWritten } = await part.handle.write(buffer, offset, buffer.length - offset, part.bytes + offset);
        offset += bytesWritten;
      }
    } catch (err) {
      throw this.#external(`cannot write ${show(part.name)}`, err);
    }
    part.bytes += buffer.length;
  }

  /** Finish the open part (footer, last compressed frame), fsync and close it: its data must be durable before a rename can publish it. */
  async #closePart(): Promise<void> {
    const part = this.#part;
    if (part === undefined) return;
    await this.#append(part, await this.#encoding(() => part.encoder.finish()), true);
    try {
      await part.handle.sync();
      this.#part = undefined;
      await part.handle.close();
    } catch (err) {
      throw this.#external(`cannot close ${show(part.name)}`, err);
    }
    this.#sealed.push(part.name);
  }

  /** Close the open part and move every part since the last barrier to its pending name. */
  async #seal(checkpointId: number, end: boolean): Promise<FileSinkTxn> {
    if (!(Number.isSafeInteger(checkpointId) && checkpointId >= 0)) {
      throw new CheckpointError(`sink "${this.#step}": checkpoint id must be a non-negative integer, got ${show(checkpointId)}`, {
        step: this.#step,
      });
    }
    await this.#closePart();
    const dir = this.#settings.dir;
    const files: FileSinkTxnFile[] = [];
    for (let n = 0; n < this.#sealed.length; n++) {
      const final = this.#names.final(checkpointId, n, end);
      const pending = this.#names.pending(final);
      try {
        await rename(join(dir, this.#sealed[n]), join(dir, pending));
      } catch (err) {
        throw this.#external(`pre-commit of checkpoint ${checkpointId}: cannot rename ${show(this.#sealed[n])}`, err);
      }
      files.push({ pending, final });
    }
    this.#sealed = [];
    if (files.length > 0) await syncDir(dir);
    return { checkpointId, files };
  }

  #external(message: string, cause: unknown): WeirError {
    if (cause instanceof WeirError) return cause;
    return new ConnectorError(this.#step, `${message}: ${describe(cause)}`, { cause });
  }
}

/** The transactions handed in on restore: one (what `preCommit` returned), a list, or none. */
function restoredTxns(restored: unknown, step: string): FileSinkTxn[] {
  if (restored === undefined || restored === null) return [];
  if (Array.isArray(restored)) return restored.map((txn) => checkTxn(txn, step));
  return [checkTxn(restored, step)];
}

/** A transaction read back from a checkpoint: check its shape, and that it names only files inside the directory. */
function checkTxn(value: unknown, step: string): FileSinkTxn {
  const txn = value as FileSinkTxn;
  const ok =
    txn !== null &&
    typeof txn === 'object' &&
    Number.isSafeInteger(txn.checkpointId) &&
    Array.isArray(txn.files) &&
    txn.files.every((f) => f !== null && typeof f === 'object' && isBareName(f.pending) && isBareName(f.final));
  if (!ok) throw new CheckpointError(`sink "${step}": not a file sink transaction: ${show(value)}`, { step });
  return txn;
}

function isBareName(name: unknown): boolean {
  return typeof name === 'string' && name.length > 0 && name !== '.' && name !== '..' && basename(name) === name && !name.includes('\\');
}

function errorCode(err: unknown): unknown {
  return (err as { code?: unknown } | null)?.code;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return false;
    throw err;
  }
}

async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if (errorCode(err) !== 'ENOENT') throw err;
  }
}

/** fsync a directory so renames in it survive a power loss. */
async function syncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Some platforms (Windows) cannot open or fsync a directory; the renames are still atomic there.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
