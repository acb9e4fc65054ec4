import { open, type FileHandle } from 'node:fs/promises';
import { pipeline, type Readable } from 'node:stream';
import { compressionFromMagic, compressionFromName, decompressor, type Compression } from './compression.js';

/** Bytes the file stream reads at a time under a decompressor. */
const READ_BYTES = 1024 * 1024;

/**
 * Sequential reads of a file's (decompressed) bytes, starting at a byte offset.
 *
 * - Plain files are read with positional reads: the start offset is a seek, and a read that found
 *   the end returns 0 but may find more bytes later if the file grows (this is what following a log
 *   file relies on). The file handle stays open, so a file renamed away (rotated) is still read
 *   through its own inode.
 * - gzip and zstd files go through a streaming decompressor; the start offset counts decompressed
 *   bytes, which are read and dropped (a compressed stream cannot seek). Their end is final.
 *
 * Errors: file-system errors carry their `code` (`ENOENT`, `EACCES`…); a decompressor error is
 * marked {@link isCorruptData} (the data is bad, not the disk).
 *
 * @example
 * ```ts
 * const bytes = await ByteReader.open('logs/app.jsonl.gz', 0);
 * const n = await bytes.readInto(Buffer.alloc(65536), 0);
 * ```
 */
export class ByteReader {
  /** Path the reader was opened with. */
  readonly path: string;
  /** Inode of the open file (stable across renames). */
  readonly ino: number;
  /** Compression found from the name, else from the magic bytes. */
  readonly compression: Compression;
  readonly #handle: FileHandle;
  /** Next byte to read: a file position for plain files, a decompressed offset otherwise. */
  #position: number;
  #stream: AsyncIterator<Buffer> | undefined;
  #streamSource: Readable | undefined;
  #chunk: Buffer | undefined;
  #chunkAt = 0;
  #ended = false;
  #closed = false;

  private constructor(path: string, handle: FileHandle, ino: number, compression: Compression, position: number) {
    this.path = path;
    this.#handle = handle;
    this.ino = ino;
    this.compression = compression;
    this.#position = position;
  }

  /**
   * Open `path` and position it at decompressed byte `offset`. `compression` overrides detection.
   * Rejects with the file-system error when the file cannot be opened.
   */
  static async open(path: string, offset: number, compression?: Compression): Promise<ByteReader> {
    const handle = await open(path, 'r');
    try {
      const info = await handle.stat();
      let kind = compression ?? compressionFromName(path);
      if (kind === undefined) {
        const head = Buffer.alloc(4);
        const { bytesRead } = await handle.read(head, 0, 4, 0);
        kind = compressionFromMagic(head.subarray(0, bytesRead));
      }
      const reader = new ByteReader(path, handle, info.ino, kind, kind === 'none' ? offset : 0);
      if (kind !== 'none' && offset > 0) await reader.#skip(offset);
      return reader;
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
  }

  /** Decompressed offset of the next byte {@link readInto} returns. */
  get offset(): number {
    return this.#position;
  }

  /** True for a plain file: its end is not final, more bytes may be appended. */
  get growable(): boolean {
    return this.compression === 'none';
  }

  /** Size of the file on disk now (compressed size for compressed files). */
  async size(): Promise<number> {
    return (await this.#handle.stat()).size;
  }

  /**
   * Copy the next bytes into `target` from index `at` on; resolves to the number of bytes copied,
   * 0 at the end (for now, for a plain file).
   */
  async readInto(target: Buffer, at: number): Promise<number> {
    const room = target.length - at;
    if (room <= 0) return 0;
    if (this.compression === 'none') {
      const { bytesRead } = await this.#handle.read(target, at, room, this.#position);
      this.#position += bytesRead;
      return bytesRead;
    }
    let copied = 0;
    while (copied < room) {
      const chunk = this.#chunk ?? (await this.#nextChunk());
      if (chunk === undefined) break;
      const n = Math.min(room - copied, chunk.length - this.#chunkAt);
      chunk.copy(target, at + copied, this.#chunkAt, this.#chunkAt + n);
      copied += n;
      this.#chunkAt += n;
      if (this.#chunkAt >= chunk.length) this.#chunk = undefined;
      // Return what one decompressed chunk gave rather than waiting to fill the whole target.
      if (copied > 0 && this.#chunk === undefined) break;
    }
    this.#position += copied;
    return copied;
  }

  /** Everything from the current offset to the end, as one buffer (for formats that need random access). */
  async readAll(): Promise<Buffer> {
    const parts: Buffer[] = [];
    for (;;) {
      const block = Buffer.allocUnsafe(READ_BYTES);
      const n = await this.readInto(block, 0);
      if (n === 0) break;
      parts.push(n === block.length ? block : block.subarray(0, n));
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }

  /** Close the file (and the decompressor). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#streamSource?.destroy();
    await this.#handle.close().catch(() => undefined);
  }

  async #skip(bytes: number): Promise<void> {
    let left = bytes;
    while (left > 0) {
      const chunk = this.#chunk ?? (await this.#nextChunk());
      if (chunk === undefined) return;
      const n = Math.min(left, chunk.length - this.#chunkAt);
      this.#chunkAt += n;
      left -= n;
      this.#position += n;
      if (this.#chunkAt >= chunk.length) this.#chunk = undefined;
    }
  }

  async #nextChunk(): Promise<Buffer | undefined> {
    if (this.#ended) return undefined;
    if (this.#stream === undefined) {
      const unzip = await decompressor(this.compression as Exclude<Compression, 'none'>);
      const file = this.#handle.createReadStream({ start: 0, highWaterMark: READ_BYTES, autoClose: false });
      // pipeline forwards a read error of the file into the decompressor, so one iterator sees both.
      const tail = pipeline(file, unzip, () => undefined) as Readable;
      this.#streamSource = tail;
      this.#stream = tail[Symbol.asyncIterator]();
    }
    let next: IteratorResult<Buffer>;
    try {
      next = await this.#stream.next();
    } catch (err) {
      this.#ended = true;
      throw markCorrupt(err);
    }
    if (next.done) {
      this.#ended = true;
      return undefined;
    }
    this.#chunk = next.value;
    this.#chunkAt = 0;
    return next.value.length === 0 ? this.#nextChunk() : next.value;
  }
}

const CORRUPT = Symbol('weir.corrupt');

/** True when `err` came from decoding the data (a decompressor or format error), not from the disk. */
export function isCorruptData(err: unknown): boolean {
  return err !== null && typeof err === 'object' && (err as Record<symbol, unknown>)[CORRUPT] === true;
}

/** A file-system error (it has a syscall), as opposed to bad data. */
export function isFileSystemError(err: unknown): boolean {
  return err !== null && typeof err === 'object' && typeof (err as { syscall?: unknown }).syscall === 'string';
}

/** Mark a decompressor error as bad data; file-system errors (with a syscall) stay as they are. */
function markCorrupt(err: unknown): unknown {
  if (err !== null && typeof err === 'object' && (err as { syscall?: unknown }).syscall === undefined) {
    (err as Record<symbol, unknown>)[CORRUPT] = true;
  }
  return err;
}
