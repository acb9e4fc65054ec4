import { describe } from '../../runtime/errors.js';
import { BlockBuffer } from './block-buffer.js';
import { ByteReader, isCorruptData } from './byte-reader.js';
import type { FormatChunk, FormatReader, ReaderEnv, TextPosition } from './format-reader.js';

/** Longest raw text put in the dead letter of an over-long or unreadable record. */
const PREVIEW_BYTES = 1024;

/** Where a text reader starts: decompressed byte offset, lines before it, and whether it is inside an over-long record. */
export interface TextStart {
  readonly offset: number;
  readonly line: number;
  readonly skip: boolean;
}

/**
 * The shared part of the line-based readers (JSON lines, CSV): a {@link BlockBuffer} over the file,
 * refills when no complete record is left, the end of the file (final, or for now when following),
 * records longer than `maxRecordBytes` (dead-lettered, then skipped to the next line end) and
 * undecodable compressed data (the rest of the file is dead-lettered once).
 *
 * Subclasses implement {@link scan}: parse complete records out of the window, consume them.
 * `read` returns synchronously while the window holds complete records and only awaits disk reads
 * otherwise. Position: `{ offset, line }` of the first unconsumed byte, plus `skip` while inside an
 * over-long record, so a restored reader goes on skipping it.
 */
export abstract class TextReader<T> implements FormatReader<T> {
  follow = false;
  protected readonly env: ReaderEnv;
  protected readonly window: BlockBuffer;
  /** Physical lines consumed. */
  protected line: number;
  readonly #format: 'jsonl' | 'csv';
  readonly #maxRecordBytes: number;
  #skip: boolean;
  #finished = false;

  protected constructor(format: 'jsonl' | 'csv', env: ReaderEnv, bytes: ByteReader, start: TextStart, maxRecordBytes: number) {
    this.#format = format;
    this.env = env;
    this.window = new BlockBuffer(bytes, env.blockBytes);
    this.line = start.line;
    this.#skip = start.skip;
    this.#maxRecordBytes = maxRecordBytes;
  }

  get ino(): number {
    return this.window.bytes.ino;
  }

  get growable(): boolean {
    return this.window.bytes.growable;
  }

  get bytesRead(): number {
    return this.window.bytes.offset;
  }

  size(): Promise<number> {
    return this.window.bytes.size();
  }

  /**
   * Parse complete records from the window (`window.start` … `window.end`) into `records`, at most
   * `max - records.length` of them, and advance `window.start` and {@link line} past what was
   * consumed (bad records included). With `atEnd`, the bytes after the last line end are a record
   * too. Returns how many records and bad records were consumed.
   */
  protected abstract scan(records: T[], max: number, atEnd: boolean): number;

  read(max: number): FormatChunk<T> | null | Promise<FormatChunk<T> | null> {
    if (this.#finished) return null;
    const records: T[] = [];
    if (!this.#skip && this.scan(records, max, false) > 0) return { records };
    return this.#more(records, max);
  }

  position(): TextPosition {
    const position = { format: this.#format, offset: this.window.offsetOf(this.window.start), line: this.line };
    return this.#skip ? { ...position, skip: true } as TextPosition : position;
  }

  async close(): Promise<void> {
    await this.window.bytes.close();
  }

  /** The position of byte `index` of the window, as dead letters report it. */
  protected where(index: number, line = this.line): Record<string, unknown> {
    return { file: this.env.file, line: line + 1, byteOffset: this.window.offsetOf(index) };
  }

  async #more(records: T[], max: number): Promise<FormatChunk<T> | null> {
    const window = this.window;
    for (;;) {
      let got: boolean;
      try {
        got = await window.fill();
      } catch (err) {
        if (!isCorruptData(err)) throw err;
        this.#unreadable(err);
        return { records };
      }
      if (this.#skip && !this.#skipLine()) {
        if (!got) return this.#end(records);
        continue;
      }
      const atEnd = !got && !this.follow;
      const found = this.scan(records, max, atEnd);
      if (found > 0) return { records };
      if (!got) return this.#end(records);
      if (window.pending >= this.#maxRecordBytes) this.#tooLong();
    }
  }

  #end(records: T[]): FormatChunk<T> | null {
    if (this.follow) return null;
    this.#finished = true;
    return records.length > 0 ? { records } : null;
  }

  /** Dead-letter the record that outgrew maxRecordBytes, then skip to the next line end. */
  #tooLong(): void {
    const window = this.window;
    const preview = window.buf.toString('utf8', window.start, window.start + PREVIEW_BYTES);
    this.env.bad.add(preview, this.where(window.start), `record longer than maxRecordBytes (${this.#maxRecordBytes} bytes) skipped; it starts with ${JSON.stringify(preview.slice(0, 80))}`);
    this.#skip = true;
    this.#skipLine();
  }

  /** Consume up to and including the next line end. Returns true when one was found. */
  #skipLine(): boolean {
    const window = this.window;
    const nl = window.buf.subarray(0, window.end).indexOf(10, window.start);
    if (nl === -1) {
      window.discard();
      return false;
    }
    window.start = nl + 1;
    this.line++;
    this.#skip = false;
    return true;
  }

  /** Compressed data that cannot be decoded: dead-letter what is left of the file, once, and stop. */
  #unreadable(err: unknown): void {
    const window = this.window;
    const tail = window.buf.toString('utf8', window.start, Math.min(window.end, window.start + PREVIEW_BYTES));
    this.env.bad.add(tail, this.where(window.start), `rest of file unreadable from byte ${window.offsetOf(window.start)}: ${describe(err)}`, err);
    window.start = window.end;
    this.#finished = true;
  }
}
