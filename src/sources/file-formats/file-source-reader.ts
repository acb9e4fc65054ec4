import { readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { DeadLetter } from '../../runtime/error-policy.js';
import { CheckpointError, ConfigError, ConnectorError, WeirError, describe, show } from '../../runtime/errors.js';
import type { SourceChunk, SourceContext, SourceProgress, SourceReader } from '../../runtime/source.js';
import { openArrowReader } from './arrow-reader.js';
import { openAvroReader } from './avro-reader.js';
import { BadRecords } from './bad-records.js';
import { stripCompressionExtension } from './compression.js';
import { openCsvReader, type CsvReaderOptions } from './csv-reader.js';
import { comparePaths, listFiles } from './file-listing.js';
import { FileWatcher } from './file-watcher.js';
import type { FileFormat, FormatChunk, FormatPosition, FormatReader, ReaderEnv } from './format-reader.js';
import { hasGlob, splitGlob, type GlobParts } from './glob.js';
import { openJsonlReader } from './jsonl-reader.js';
import { openParquetReader } from './parquet-reader.js';

/** A chunk of the file source: records plus the bad records found while reading them. */
export interface FileSourceChunk<T> extends SourceChunk<T> {
  /**
   * Records that could not be read, as dead letters (`error.code` `'WEIR_BAD_RECORD'`,
   * `source.position` e.g. `{ file, line, byteOffset }`). The runtime routes them to the source's
   * dead-letter output and counts them. They precede the chunk's `position()`.
   */
  readonly deadLetters?: DeadLetter[];
}

/** Position inside the file being read: the file, its inode, and the format's own position. */
export type FileCursor = FormatPosition & { readonly file: string; readonly ino: number };

/** What a file source's `position()` returns and a restored reader resumes from. */
export interface FileSourcePosition {
  /** Files read to the end, in the order they were finished (directory and glob mode; the file itself in single-file mode). */
  readonly done: readonly string[];
  /** The file being read and where, or `null` between files. */
  readonly current: FileCursor | null;
}

/** The file source's options once validated (by `fileSource`). */
export interface FileSettings {
  readonly name: string;
  readonly path: string;
  readonly format: FileFormat | undefined;
  readonly watch: boolean;
  readonly pollMs: number;
  readonly strict: boolean;
  readonly blockBytes: number;
  readonly maxRecordBytes: number;
  readonly csv: CsvReaderOptions;
  readonly avroSchema: object | undefined;
  readonly arrowBatches: boolean;
}

/** The format a file name announces, or `undefined`. */
function formatOf(path: string): FileFormat | undefined {
  const name = stripCompressionExtension(path).toLowerCase();
  const dot = name.lastIndexOf('.');
  switch (dot === -1 ? '' : name.slice(dot + 1)) {
    case 'jsonl':
    case 'ndjson':
    case 'json':
      return 'jsonl';
    case 'csv':
      return 'csv';
    case 'parquet':
    case 'pq':
      return 'parquet';
    case 'avro':
      return 'avro';
    case 'arrow':
    case 'arrows':
    case 'feather':
    case 'ipc':
      return 'arrow';
    default:
      return undefined;
  }
}

/** The file being read. */
interface Current {
  readonly file: string;
  readonly reader: FormatReader<unknown>;
  /** Single-file follow mode: this inode was renamed away; after it, the path is read from the top. */
  rotated: boolean;
}

type Mode = 'file' | 'dir' | 'glob';

/**
 * The live reader of a `fileSource`: lists the files, opens a format reader per file in order,
 * follows files in watch mode, and keeps the position `{ done, current }` (see
 * {@link FileSourcePosition}). Bad records collected by the format readers are attached to the
 * chunk returned by the same `read` call.
 */
export class FileSourceReader<T> implements SourceReader<T> {
  readonly #settings: FileSettings;
  readonly #ctx: SourceContext;
  readonly #bad: BadRecords;
  #mode: Mode = 'file';
  #glob: GlobParts | undefined;
  /** Directory listed (directory and glob mode) or watched. */
  #dir = '.';
  readonly #done: string[] = [];
  readonly #doneSet = new Set<string>();
  /** Files listed but not read yet, in order. */
  #queue: string[] = [];
  #current: Current | undefined;
  #watcher: FileWatcher | undefined;
  #records = 0;
  #closed = false;

  constructor(settings: FileSettings, ctx: SourceContext) {
    this.#settings = settings;
    this.#ctx = ctx;
    this.#bad = new BadRecords(ctx.name, settings.strict);
  }

  /** Find out what `path` is, and go to the restored position. */
  async start(): Promise<void> {
    const path = this.#settings.path;
    const restored = checkPosition(this.#ctx.restored, this.#ctx.name);
    try {
      if (hasGlob(path)) {
        this.#mode = 'glob';
        this.#glob = splitGlob(path);
        this.#dir = this.#glob.base;
      } else {
        const info = await stat(path).catch((err: unknown) => {
          if (errorCode(err) === 'ENOENT' && this.#settings.watch) return undefined;
          throw err;
        });
        this.#mode = info?.isDirectory() === true ? 'dir' : 'file';
        this.#dir = this.#mode === 'dir' ? path : dirname(path);
      }
      if (restored === undefined) return;
      for (const file of restored.done) this.#markDone(file);
      if (restored.current !== null) await this.#restore(restored.current);
    } catch (err) {
      throw this.#wrap(err, path);
    }
  }

  read(max: number): FileSourceChunk<T> | null | Promise<FileSourceChunk<T> | null> {
    const current = this.#current;
    if (current === undefined) return this.#slow(max, null);
    let result: FormatChunk<unknown> | null | Promise<FormatChunk<unknown> | null>;
    try {
      result = current.reader.read(max);
    } catch (err) {
      throw this.#wrap(err, current.file);
    }
    if (result !== null && !(result instanceof Promise)) return this.#emit(result);
    return this.#slow(max, result);
  }

  position(): FileSourcePosition {
    const current = this.#current;
    const cursor = current === undefined ? null : ({ file: current.file, ino: current.reader.ino, ...current.reader.position() } as FileCursor);
    return { done: [...this.#done], current: cursor };
  }

  progress(): SourceProgress {
    return { done: this.#records, unit: 'records' };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#watcher?.close();
    const current = this.#current;
    this.#current = undefined;
    await current?.reader.close();
  }

  /** Everything that may wait: the end of a file, the next file, waiting for data. */
  async #slow(max: number, first: FormatChunk<unknown> | null | Promise<FormatChunk<unknown> | null>): Promise<FileSourceChunk<T> | null> {
    let file = this.#current?.file ?? this.#settings.path;
    try {
      let result = await first;
      for (;;) {
        const current = this.#current;
        if (current !== undefined && result !== null) return this.#emit(result);
        if (current !== undefined) {
          if ((await this.#atEnd(current)) === 'wait') return await this.#idle();
        } else if (!(await this.#openNext())) {
          return this.#settings.watch ? await this.#idle() : this.#end();
        }
        const next = this.#current;
        file = next?.file ?? this.#settings.path;
        result = next === undefined ? null : await next.reader.read(max);
      }
    } catch (err) {
      throw this.#wrap(err, file);
    }
  }

  #emit(result: FormatChunk<unknown>): FileSourceChunk<T> {
    this.#records += result.records.length;
    const deadLetters = this.#bad.take();
    const records = result.records as T[];
    return deadLetters === undefined ? { records } : { records, deadLetters };
  }

  /** Bounded end: hand out the last dead letters, then `null`. */
  #end(): FileSourceChunk<T> | null {
    const deadLetters = this.#bad.take();
    return deadLetters === undefined ? null : { records: [], deadLetters };
  }

  /** Nothing to read now (watch mode): wait for a change or the poll interval, then give the runtime an empty chunk. */
  async #idle(): Promise<FileSourceChunk<T>> {
    const deadLetters = this.#bad.take();
    if (deadLetters !== undefined) return { records: [], deadLetters };
    this.#watcher ??= new FileWatcher(this.#dir, this.#settings.pollMs);
    await this.#watcher.wait(this.#ctx.signal);
    return { records: [] };
  }

  /**
   * The current reader found no more records. Returns `'wait'` when it is followed and nothing
   * new is there, else `'again'` (read on: more data, draining a rotated file, or the file is
   * finished and the next one should be opened).
   */
  async #atEnd(current: Current): Promise<'again' | 'wait'> {
    const reader = current.reader;
    if (reader.follow) {
      const next = await this.#follow(current);
      if (next === 'more') return 'again';
      if (next === 'wait') return 'wait';
      if (next === 'finish') {
        // Read to the real end, unterminated last line included, then finish.
        reader.follow = false;
        return 'again';
      }
      // Truncated: start the same file over.
      await reader.close();
      this.#current = undefined;
      await this.#open(current.file, undefined);
      return 'again';
    }
    await reader.close();
    this.#current = undefined;
    // A rotated-away inode is not the path's last word: the path is read again, from the top.
    if (!current.rotated) this.#markDone(current.file);
    return 'again';
  }

  /** What to do at the end of a followed file. */
  async #follow(current: Current): Promise<'more' | 'wait' | 'finish' | 'truncated'> {
    const reader = current.reader;
    if (this.#mode === 'file') {
      const path = this.#settings.path;
      if (current.file !== path) {
        current.rotated = true;
        return 'finish';
      }
      const now = await stat(path).catch((err: unknown) => {
        if (errorCode(err) === 'ENOENT') return undefined;
        throw err;
      });
      if (now !== undefined && now.ino !== reader.ino) {
        current.rotated = true;
        // Data written to the old inode after our last read is still read: the handle is open.
        return 'finish';
      }
      const size = await reader.size();
      if (size > reader.bytesRead) return 'more';
      if (size < reader.bytesRead) return 'truncated';
      return 'wait';
    }
    const size = await reader.size();
    if (size > reader.bytesRead) return 'more';
    const files = await this.#list();
    return files.some((f) => f !== current.file && !this.#doneSet.has(f)) ? 'finish' : 'wait';
  }

  /** Open the next file to read; false when there is none (for now). */
  async #openNext(): Promise<boolean> {
    if (this.#mode === 'file') {
      const path = this.#settings.path;
      if (this.#doneSet.has(path)) return false;
      try {
        return await this.#open(path, undefined);
      } catch (err) {
        if (errorCode(err) === 'ENOENT' && this.#settings.watch) return false;
        throw err;
      }
    }
    for (;;) {
      if (this.#queue.length === 0) {
        this.#queue = (await this.#list()).filter((f) => !this.#doneSet.has(f));
        if (this.#queue.length === 0) return false;
      }
      const file = this.#queue.shift()!;
      if (this.#doneSet.has(file)) continue;
      try {
        if (await this.#open(file, undefined)) return true;
      } catch (err) {
        // Listed, then deleted before we got to it: nothing to read.
        if (errorCode(err) !== 'ENOENT') throw err;
      }
    }
  }

  /** Open `file` at `position`; false when it was skipped (unknown format, dead-lettered). */
  async #open(file: string, position: FileCursor | undefined): Promise<boolean> {
    // In single-file mode the configured name decides (a rotated file may be called app.jsonl.1).
    const format = this.#settings.format ?? formatOf(this.#mode === 'file' ? this.#settings.path : file);
    if (format === undefined) {
      if (this.#mode === 'file') {
        throw new ConfigError(`source "${this.#ctx.name}": cannot tell the format of ${show(file)} from its name; give the format option`);
      }
      this.#markDone(file);
      this.#bad.add(null, { file }, `unknown file format (extension); give the format option to read it`);
      return false;
    }
    if (position !== undefined && position.format !== format) {
      throw new CheckpointError(`source "${this.#ctx.name}": restored position is for format '${position.format}' but ${show(file)} is read as '${format}'`, {
        step: this.#ctx.name,
      });
    }
    const env: ReaderEnv = { file, bad: this.#bad, blockBytes: this.#settings.blockBytes };
    const reader = await this.#openFormat(format, env, position);
    reader.follow = this.#settings.watch && reader.growable;
    this.#current = { file, reader, rotated: false };
    return true;
  }

  #openFormat(format: FileFormat, env: ReaderEnv, position: FormatPosition | undefined): Promise<FormatReader<unknown>> {
    const settings = this.#settings;
    switch (format) {
      case 'jsonl':
        return openJsonlReader(env, position as never, { maxRecordBytes: settings.maxRecordBytes });
      case 'csv':
        return openCsvReader(env, position as never, settings.csv);
      case 'parquet':
        return openParquetReader(env, position as never);
      case 'avro':
        return openAvroReader(env, position as never, { schema: settings.avroSchema });
      default:
        return openArrowReader(env, position as never, { batches: settings.arrowBatches });
    }
  }

  /** Reopen the restored current file at its position (in single-file follow mode, finding its inode again). */
  async #restore(cursor: FileCursor): Promise<void> {
    const { file, ino } = cursor;
    if (this.#mode === 'file' && this.#settings.watch) {
      const path = this.#settings.path;
      const now = await stat(path).catch(() => undefined);
      if (now !== undefined && now.ino === ino) {
        const truncated = cursor.format === 'jsonl' || cursor.format === 'csv' ? now.size < cursor.offset : false;
        await this.#open(path, truncated ? undefined : cursor);
        return;
      }
      // Rotated while the job was down: finish the old inode if it is still around, then the path from the top.
      const moved = await findInode(dirname(path), ino, file);
      if (moved !== undefined) {
        await this.#open(moved, cursor);
        this.#current!.rotated = true;
      }
      return;
    }
    try {
      await this.#open(file, cursor);
    } catch (err) {
      // In a directory the file may have been removed since: it has been read as far as it matters.
      if (errorCode(err) === 'ENOENT' && this.#mode !== 'file') return;
      throw err;
    }
  }

  async #list(): Promise<string[]> {
    return listFiles(this.#dir, this.#mode === 'glob' ? this.#glob : undefined);
  }

  #markDone(file: string): void {
    if (this.#doneSet.has(file)) return;
    this.#doneSet.add(file);
    this.#done.push(file);
  }

  #wrap(err: unknown, file: string): unknown {
    if (err instanceof WeirError) return err;
    if (this.#ctx.signal.aborted && err === this.#ctx.signal.reason) return err;
    const code = errorCode(err);
    const retryable = code === 'EMFILE' || code === 'ENFILE' || code === 'EAGAIN' || code === 'EBUSY' || code === 'EIO';
    return new ConnectorError(this.#ctx.name, `cannot read ${show(file)}: ${describe(err)}`, { cause: err, retryable });
  }
}

/** The restored position, checked; `undefined` on a fresh start. */
function checkPosition(value: unknown, step: string): FileSourcePosition | undefined {
  if (value === undefined) return undefined;
  const position = value as FileSourcePosition;
  const current = position?.current as (FileCursor & Record<string, unknown>) | null | undefined;
  const counts = (...keys: string[]): boolean => keys.every((k) => Number.isSafeInteger(current![k]) && (current![k] as number) >= 0);
  const ok =
    position !== null &&
    typeof position === 'object' &&
    Array.isArray(position.done) &&
    position.done.every((f) => typeof f === 'string') &&
    (current === null ||
      (current !== undefined &&
        typeof current === 'object' &&
        typeof current.file === 'string' &&
        Number.isSafeInteger(current.ino) &&
        ((current.format === 'jsonl' || current.format === 'csv'
          ? counts('offset', 'line')
          : current.format === 'parquet'
            ? counts('rowGroup', 'row')
            : current.format === 'avro'
              ? counts('block', 'record', 'offset')
              : current.format === 'arrow' && counts('batch', 'row')))));
  if (!ok) throw new CheckpointError(`source "${step}": restored position is not a file source position: ${show(value)}`, { step });
  return position;
}

/** A file in `dir` with inode `ino` (trying `hint` first), or `undefined`. */
async function findInode(dir: string, ino: number, hint: string): Promise<string | undefined> {
  const hinted = await stat(hint).catch(() => undefined);
  if (hinted?.ino === ino) return hint;
  let names: string[];
  try {
    names = (await readdir(dir)).sort(comparePaths);
  } catch {
    return undefined;
  }
  for (const name of names) {
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (info?.isFile() === true && info.ino === ino) return path;
  }
  return undefined;
}

function errorCode(err: unknown): unknown {
  return (err as { code?: unknown } | null)?.code;
}

