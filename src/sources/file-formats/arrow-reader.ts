import { open, type FileHandle } from 'node:fs/promises';
import type * as Arrow from 'apache-arrow';
import { describe } from '../../runtime/errors.js';
import { ByteReader, isFileSystemError } from './byte-reader.js';
import { ArrowRows } from './arrow-rows.js';
import type { ArrowPosition, FormatChunk, FormatReader, ReaderEnv } from './format-reader.js';

type ArrowModule = typeof Arrow;

/** Options of {@link openArrowReader}. */
export interface ArrowReaderOptions {
  /** True: each record is an Arrow `RecordBatch` (zero copy); false: plain row objects. */
  readonly batches: boolean;
}

/** Bytes per read when feeding a decompressed stream to apache-arrow. */
const FEED_BYTES = 1024 * 1024;

/**
 * Open an Arrow IPC reader (apache-arrow) on `env.file` at `position` (or the start). Both IPC
 * formats are read: the file format (`ARROW1` magic and footer; read with random access when
 * the file is not compressed) and the stream format. Record batches are decoded by
 * apache-arrow; rows are built per batch by {@link ArrowRows}, or, with `batches`, the records are
 * the `RecordBatch` objects themselves (a restored reader then starts with the rest of its batch,
 * as a slice).
 *
 * Position `{ batch, row }`: batch index and next row in it. A restored file-format reader reads
 * that batch directly; a stream-format (or compressed) one reads and drops the batches before it.
 * IPC body compression ZSTD is supported (a zstd codec is registered with apache-arrow's
 * `compressionRegistry` when none is), LZ4 is not.
 *
 * Bad input: a file that is not Arrow IPC is one dead letter `{ file }`; a record batch that cannot
 * be decoded is one dead letter `{ file, batch }` (the file format goes on with the next batch; a
 * stream cannot, and the rest of the file is skipped).
 *
 * @example
 * ```ts
 * const reader = await openArrowReader(env, { format: 'arrow', batch: 3, row: 0 }, { batches: false });
 * ```
 */
export async function openArrowReader(env: ReaderEnv, position: ArrowPosition | undefined, options: ArrowReaderOptions): Promise<FormatReader<unknown>> {
  const arrow = await import('apache-arrow');
  await registerZstd(arrow);
  const bytes = await ByteReader.open(env.file, 0);
  let handle: FileHandle | undefined;
  let batches: BatchSource | undefined;
  try {
    if (bytes.compression === 'none') handle = await open(env.file, 'r');
    try {
      const reader = await (handle !== undefined ? arrow.RecordBatchReader.from(handle) : arrow.RecordBatchReader.from(feed(bytes)));
      await reader.open();
      batches = reader.isFile() ? new RandomBatches(reader as Arrow.AsyncRecordBatchFileReader) : new SequentialBatches(reader);
    } catch (err) {
      if (isFileSystemError(err)) throw err;
      env.bad.add(null, { file: env.file }, `not a readable Arrow IPC file: ${describe(err)}`, err);
    }
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await bytes.close();
    throw err;
  }
  const reader = new ArrowFileReader(env, bytes, handle, batches, new ArrowRows(arrow), options);
  if (position !== undefined) await reader.seek(position);
  return reader;
}

/** Where record batches come from: random access (file format) or in order (stream). */
interface BatchSource {
  /** Batch `index`, `null` past the end. Sequential sources only go forward. */
  get(index: number): Promise<Arrow.RecordBatch | null>;
  /** True when a failed batch can be skipped (random access). */
  readonly canSkip: boolean;
  close(): Promise<void>;
}

class RandomBatches implements BatchSource {
  readonly canSkip = true;
  readonly #reader: Arrow.AsyncRecordBatchFileReader;

  constructor(reader: Arrow.AsyncRecordBatchFileReader) {
    this.#reader = reader;
  }

  get(index: number): Promise<Arrow.RecordBatch | null> {
    return index < this.#reader.numRecordBatches ? this.#reader.readRecordBatch(index) : Promise.resolve(null);
  }

  async close(): Promise<void> {
    await this.#reader.cancel();
  }
}

class SequentialBatches implements BatchSource {
  readonly canSkip = false;
  readonly #reader: Arrow.RecordBatchReader;
  #next = 0;

  constructor(reader: Arrow.RecordBatchReader) {
    this.#reader = reader;
  }

  async get(index: number): Promise<Arrow.RecordBatch | null> {
    for (;;) {
      const result = await this.#reader.next();
      if (result.done === true) return null;
      if (this.#next++ === index) return result.value;
    }
  }

  async close(): Promise<void> {
    await this.#reader.cancel();
  }
}

class ArrowFileReader implements FormatReader<unknown> {
  follow = false;
  readonly growable = false;
  readonly bytesRead = 0;
  readonly #env: ReaderEnv;
  readonly #bytes: ByteReader;
  readonly #handle: FileHandle | undefined;
  readonly #batches: BatchSource | undefined;
  readonly #rows: ArrowRows;
  readonly #asBatches: boolean;
  #index = 0;
  #batch: Arrow.RecordBatch | undefined;
  #at = 0;
  #finished: boolean;
  #closed = false;

  constructor(env: ReaderEnv, bytes: ByteReader, handle: FileHandle | undefined, batches: BatchSource | undefined, rows: ArrowRows, options: ArrowReaderOptions) {
    this.#env = env;
    this.#bytes = bytes;
    this.#handle = handle;
    this.#batches = batches;
    this.#rows = rows;
    this.#asBatches = options.batches;
    this.#finished = batches === undefined;
  }

  get ino(): number {
    return this.#bytes.ino;
  }

  /** Go to a restored position. */
  async seek(position: ArrowPosition): Promise<void> {
    this.#index = position.batch;
    if (position.row > 0 && !this.#finished) {
      const batch = await this.#load();
      if (batch !== undefined) this.#at = Math.min(position.row, batch.numRows);
    }
  }

  read(max: number): FormatChunk<unknown> | null | Promise<FormatChunk<unknown> | null> {
    const batch = this.#batch;
    if (batch !== undefined && this.#at < batch.numRows) return { records: this.#take(batch, max) };
    if (this.#finished) return null;
    return this.#next(max);
  }

  position(): ArrowPosition {
    const batch = this.#batch;
    if (batch !== undefined && this.#at >= batch.numRows) return { format: 'arrow', batch: this.#index + 1, row: 0 };
    return { format: 'arrow', batch: this.#index, row: this.#at };
  }

  size(): Promise<number> {
    return Promise.resolve(0);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#rows.release();
    await this.#batches?.close().catch(() => undefined);
    await this.#handle?.close().catch(() => undefined);
    await this.#bytes.close();
  }

  #take(batch: Arrow.RecordBatch, max: number): unknown[] {
    if (this.#asBatches) {
      const from = this.#at;
      this.#at = batch.numRows;
      return [from === 0 ? batch : batch.slice(from)];
    }
    const end = Math.min(batch.numRows, this.#at + max);
    const rows = this.#rows.rows(batch, this.#at, end);
    this.#at = end;
    return rows;
  }

  async #next(max: number): Promise<FormatChunk<unknown> | null> {
    for (;;) {
      if (this.#batch !== undefined) {
        this.#batch = undefined;
        this.#index++;
        this.#at = 0;
        this.#rows.release();
      }
      const batch = await this.#load();
      if (batch === undefined) return this.#finished ? null : { records: [] };
      if (batch.numRows > 0) return { records: this.#take(batch, max) };
    }
  }

  /** Load batch `#index`; `undefined` at the end or after dead-lettering a bad batch. */
  async #load(): Promise<Arrow.RecordBatch | undefined> {
    const source = this.#batches!;
    let batch: Arrow.RecordBatch | null;
    try {
      batch = await source.get(this.#index);
    } catch (err) {
      if (isFileSystemError(err)) throw err;
      const index = this.#index++;
      if (!source.canSkip) this.#finished = true;
      const rest = source.canSkip ? 'skipped' : 'the rest of the stream is skipped';
      this.#env.bad.add(null, { file: this.#env.file, batch: index }, `record batch ${index} unreadable (${rest}): ${describe(err)}`, err);
      return undefined;
    }
    if (batch === null) {
      this.#finished = true;
      return undefined;
    }
    this.#batch = batch;
    return batch;
  }
}

/** The decompressed bytes of a file as an async iterable, for apache-arrow's stream reader. */
async function* feed(bytes: ByteReader): AsyncIterable<Uint8Array> {
  for (;;) {
    const block = Buffer.allocUnsafe(FEED_BYTES);
    const n = await bytes.readInto(block, 0);
    if (n === 0) return;
    yield n === block.length ? block : block.subarray(0, n);
  }
}

/** Let apache-arrow decode ZSTD-compressed IPC bodies (pyarrow writes them), unless a codec is registered already. */
async function registerZstd(arrow: ArrowModule): Promise<void> {
  const { compressionRegistry, CompressionType } = arrow;
  if (compressionRegistry.get(CompressionType.ZSTD) !== null) return;
  const zstd = await import('zstd-napi');
  compressionRegistry.set(CompressionType.ZSTD, {
    encode: (data: Uint8Array) => zstd.compress(data),
    decode: (data: Uint8Array) => zstd.decompress(data),
  });
}
