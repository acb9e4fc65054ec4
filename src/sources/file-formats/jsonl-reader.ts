import { describe } from '../../runtime/errors.js';
import { ByteReader } from './byte-reader.js';
import type { FormatReader, ReaderEnv, TextPosition } from './format-reader.js';
import { TextReader, type TextStart } from './text-reader.js';

/** Options of {@link openJsonlReader}. */
export interface JsonlReaderOptions {
  /** A line longer than this is dead-lettered and skipped. */
  readonly maxRecordBytes: number;
}

/**
 * Open a JSON-lines reader on `env.file` at `position` (or the start): one JSON value per
 * `\n`-terminated line (`\r\n` works too). Blank lines are skipped; a line that is not valid JSON
 * goes to `env.bad` with `{ file, line, byteOffset }` (line 1-based, offset of the line's first
 * byte in the decompressed stream) and the raw line; the reader goes on with the next line.
 *
 * Lines are cut out of 64 KiB+ blocks with `Buffer#indexOf`, so a read parses many lines per disk
 * read, and byte offsets come for free. A UTF-8 byte-order mark at the start of the file is ignored.
 *
 * @example
 * ```ts
 * const reader = await openJsonlReader({ file: 'a.jsonl', bad, blockBytes: 1 << 20 }, undefined, { maxRecordBytes: 64 << 20 });
 * const chunk = await reader.read(1000);
 * ```
 */
export async function openJsonlReader(env: ReaderEnv, position: TextPosition | undefined, options: JsonlReaderOptions): Promise<FormatReader<unknown>> {
  const start = textStart(position);
  const bytes = await ByteReader.open(env.file, start.offset);
  return new JsonlReader(env, bytes, start, options.maxRecordBytes);
}

/** Where a text position says to start (the file's start when there is none). */
export function textStart(position: TextPosition | undefined): TextStart {
  if (position === undefined) return { offset: 0, line: 0, skip: false };
  return { offset: position.offset, line: position.line, skip: (position as { skip?: boolean }).skip === true };
}

const BLANK = /^\s*$/;

class JsonlReader extends TextReader<unknown> {
  constructor(env: ReaderEnv, bytes: ByteReader, start: TextStart, maxRecordBytes: number) {
    super('jsonl', env, bytes, start, maxRecordBytes);
  }

  protected scan(records: unknown[], max: number, atEnd: boolean): number {
    const window = this.window;
    const buf = window.buf;
    const end = window.end;
    // A view ending at `end`, so indexOf never looks at stale bytes past the data.
    const view = end === buf.length ? buf : buf.subarray(0, end);
    let s = window.start;
    let line = this.line;
    let found = 0;
    while (records.length < max && s < end) {
      let nl = view.indexOf(10, s);
      let next: number;
      if (nl === -1) {
        if (!atEnd) break;
        nl = end;
        next = end;
      } else {
        next = nl + 1;
      }
      if (nl > s) {
        const text = buf.toString('utf8', s, nl);
        try {
          records.push(JSON.parse(text));
          found++;
        } catch (err) {
          if (!BLANK.test(text)) {
            if (window.offsetOf(s) === 0 && text.charCodeAt(0) === 0xfeff && this.#parseAfterBom(text, records)) {
              found++;
            } else {
              // Consume the line before reporting, so strict mode's throw leaves a consistent reader.
              window.start = next;
              this.line = line + 1;
              this.env.bad.add(text, this.where(s, line), `invalid JSON: ${describe(err)}`, err);
              found++;
            }
          }
        }
      }
      s = next;
      line++;
    }
    window.start = s;
    this.line = line;
    return found;
  }

  #parseAfterBom(text: string, records: unknown[]): boolean {
    try {
      records.push(JSON.parse(text.slice(1)));
      return true;
    } catch {
      return false;
    }
  }
}
