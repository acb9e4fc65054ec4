import type { ByteReader } from './byte-reader.js';

/**
 * A window of a file's bytes for the line-based readers (JSON lines, CSV): bytes `start … end`
 * of `buf` are read but not consumed yet, and `buf[0]` is at decompressed file offset `base`.
 *
 * Reads come in blocks of `blockBytes` (64 KiB or more) so the readers split many records out of
 * one read. `fill` keeps the unconsumed tail (a record cut by the block boundary) and appends the
 * next block after it, growing the buffer when one record is longer than the buffer.
 *
 * @example
 * ```ts
 * const window = new BlockBuffer(await ByteReader.open('a.jsonl', 0), 1 << 20);
 * while (await window.fill()) { const nl = window.buf.indexOf(10, window.start); ... }
 * ```
 */
export class BlockBuffer {
  readonly bytes: ByteReader;
  buf: Buffer;
  /** Index of the first unconsumed byte. */
  start = 0;
  /** Index after the last byte read. */
  end = 0;
  /** File offset of `buf[0]`. */
  base: number;

  constructor(bytes: ByteReader, blockBytes: number) {
    this.bytes = bytes;
    this.buf = Buffer.allocUnsafe(blockBytes);
    this.base = bytes.offset;
  }

  /** File offset of index `i` of `buf`. */
  offsetOf(i: number): number {
    return this.base + i;
  }

  /** Unconsumed bytes. */
  get pending(): number {
    return this.end - this.start;
  }

  /**
   * Read the next block after the unconsumed bytes. Resolves to false when nothing more is there
   * (the end of the file, for now).
   */
  async fill(): Promise<boolean> {
    if (this.start > 0) {
      // Move the unconsumed tail to the front rather than allocating: one copy of a partial record.
      this.buf.copy(this.buf, 0, this.start, this.end);
      this.base += this.start;
      this.end -= this.start;
      this.start = 0;
    }
    if (this.end === this.buf.length) {
      const bigger = Buffer.allocUnsafe(this.buf.length * 2);
      this.buf.copy(bigger, 0, 0, this.end);
      this.buf = bigger;
    }
    const n = await this.bytes.readInto(this.buf, this.end);
    this.end += n;
    return n > 0;
  }

  /** Drop everything unconsumed (after skipping an over-long record). */
  discard(): void {
    this.base += this.end;
    this.start = 0;
    this.end = 0;
  }
}
