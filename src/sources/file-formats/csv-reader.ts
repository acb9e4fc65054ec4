import { describe, show } from '../../runtime/errors.js';
import { ByteReader } from './byte-reader.js';
import type { BadRecordSink, FormatReader, ReaderEnv, TextPosition } from './format-reader.js';
import { textStart } from './jsonl-reader.js';
import { makeRowBuilder, type RowBuilder } from './row-builder.js';
import { TextReader, type TextStart } from './text-reader.js';

/** How a CSV column's text becomes a value. An empty field is `null` for every type but `'string'`. */
export type CsvColumnType = 'string' | 'number' | 'integer' | 'boolean' | 'date' | 'json';

/** Options of {@link openCsvReader} (validated by the file source's factory). */
export interface CsvReaderOptions {
  /** Field separator, one ASCII character. */
  readonly delimiter: string;
  /** Quote character, one ASCII character. */
  readonly quote: string;
  /** Escape character inside quoted fields, one ASCII character (the quote itself: `""`). */
  readonly escape: string;
  /** True: the first record of each file names the columns (and is not a record). */
  readonly header: boolean;
  /** Column names; with `header` they replace the header's names. */
  readonly columns: readonly string[] | undefined;
  /** Column types by name; columns not named are strings. */
  readonly types: Readonly<Record<string, CsvColumnType>>;
  /** A field equal to this becomes `null` (in any column). */
  readonly nullValue: string | undefined;
  readonly maxRecordBytes: number;
}

/**
 * Open a CSV reader on `env.file` at `position` (or the start). Records are objects keyed by the
 * column names (from the header or `columns`), or arrays of strings when there are neither.
 *
 * Records are framed here, quote-aware (a quoted field may hold delimiters and line ends, and may
 * span read blocks), so each record's byte offset and line are known. Records without a quote
 * character are split on the delimiter directly; records with quotes are parsed by csv-parse
 * (one call per batch), which gives the same fields for the RFC 4180 subset and reports malformed
 * quoting. Bad records go to `env.bad` with `{ file, line, byteOffset }` and the raw text: a record
 * whose field count differs from the columns', malformed quoting, or a field its column type
 * rejects. Blank lines are skipped.
 *
 * A reader restored past the header reads the header again from the start of the file first.
 *
 * @example
 * ```ts
 * const reader = await openCsvReader(env, undefined, { delimiter: ',', quote: '"', escape: '"', header: true,
 *   columns: undefined, types: { price: 'number' }, nullValue: undefined, maxRecordBytes: 64 << 20 });
 * ```
 */
export async function openCsvReader(env: ReaderEnv, position: TextPosition | undefined, options: CsvReaderOptions): Promise<FormatReader<unknown>> {
  parse ??= (await import('csv-parse/sync')).parse as CsvParse;
  const start = textStart(position);
  let columns = options.columns;
  if (options.header && columns === undefined && start.offset > 0) {
    // The header is not in the checkpoint: read it again from the start of the file.
    const probe = new CsvReader({ ...env, bad: IGNORE }, await ByteReader.open(env.file, 0), textStart(undefined), options, undefined, true);
    try {
      columns = await probe.header();
    } finally {
      await probe.close();
    }
  }
  const headerPending = options.header && start.offset === 0;
  const bytes = await ByteReader.open(env.file, start.offset);
  return new CsvReader(env, bytes, start, options, columns, headerPending);
}

type CsvParse = (input: string, options: Record<string, unknown>) => unknown;

/** csv-parse's sync parser, loaded with the first CSV reader. */
let parse: CsvParse | undefined;

const IGNORE: BadRecordSink = { add: () => undefined };

const LF = 10;
const CR = 13;

/** Framing states. */
const FIELD_START = 0;
const UNQUOTED = 1;
const QUOTED = 2;
const AFTER_QUOTE = 3;

class CsvReader extends TextReader<unknown> {
  readonly #options: CsvReaderOptions;
  readonly #delimiter: number;
  readonly #quote: number;
  readonly #escape: number;
  readonly #parseOptions: Record<string, unknown>;
  #columns: readonly string[] | undefined;
  #build: RowBuilder | undefined;
  #headerPending: boolean;
  /** Per-batch scratch: record bounds and flags (reused between scans). */
  #starts: number[] = [];
  #ends: number[] = [];
  #lines: number[] = [];
  #quoted: boolean[] = [];
  /** Lines spanned by the record the last {@link #recordEnd} found. */
  #spanned = 0;

  constructor(env: ReaderEnv, bytes: ByteReader, start: TextStart, options: CsvReaderOptions, columns: readonly string[] | undefined, headerPending: boolean) {
    super('csv', env, bytes, start, options.maxRecordBytes);
    this.#options = options;
    this.#delimiter = options.delimiter.charCodeAt(0);
    this.#quote = options.quote.charCodeAt(0);
    this.#escape = options.escape.charCodeAt(0);
    this.#parseOptions = {
      delimiter: options.delimiter,
      quote: options.quote,
      escape: options.escape,
      record_delimiter: '\n',
      relax_column_count: true,
      skip_empty_lines: true,
    };
    this.#headerPending = headerPending;
    this.#setColumns(columns);
  }

  /** Read records until the header has been read; resolves to the column names. */
  async header(): Promise<readonly string[]> {
    while (this.#headerPending) {
      const chunk = await this.read(1);
      if (chunk === null) break;
    }
    return this.#columns ?? [];
  }

  protected scan(records: unknown[], max: number, atEnd: boolean): number {
    if (!this.#headerPending) return this.#scanSome(records, max - records.length, atEnd);
    const found = this.#scanSome(records, 1, atEnd);
    return this.#headerPending ? found : found + this.#scanSome(records, max - records.length, atEnd);
  }

  /** Frame up to `want` records and convert them. */
  #scanSome(records: unknown[], want: number, atEnd: boolean): number {
    const window = this.window;
    const buf = window.buf;
    const end = window.end;
    const view = end === buf.length ? buf : buf.subarray(0, end);
    const starts = this.#starts;
    const ends = this.#ends;
    const lines = this.#lines;
    const quoted = this.#quoted;
    let n = 0;
    let s = window.start;
    // A UTF-8 byte-order mark before the first record is not part of it.
    if (window.offsetOf(s) === 0 && end >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) s = 3;
    let line = this.line;
    let nextQuote = view.indexOf(this.#quote, s);
    // Frame: find up to `want` complete records.
    while (n < want && s < end) {
      const nl = view.indexOf(LF, s);
      let stop: number;
      let hasQuote = false;
      this.#spanned = 1;
      if (nextQuote !== -1 && nextQuote < s) nextQuote = view.indexOf(this.#quote, s);
      if (nl !== -1 && (nextQuote === -1 || nextQuote > nl)) {
        stop = nl;
      } else {
        hasQuote = nextQuote !== -1;
        stop = hasQuote ? this.#recordEnd(view, s, end) : -1;
        if (stop === -1) {
          if (!atEnd) break;
          stop = end;
        }
      }
      let e = stop;
      if (e > s && buf[e - 1] === CR) e--;
      if (e > s) {
        starts[n] = s;
        ends[n] = e;
        lines[n] = line;
        quoted[n] = hasQuote;
        n++;
      }
      line += stop < end ? this.#spanned : this.#spanned - 1;
      s = stop < end ? stop + 1 : end;
    }
    window.start = s;
    this.line = line;
    if (n === 0) return 0;
    return this.#convert(records, n);
  }

  /**
   * Index of the line end that ends the record starting at `s` (quote-aware), or -1 when the
   * record is not complete in the window. Sets {@link #spanned} to the lines it covers.
   */
  #recordEnd(buf: Buffer, s: number, end: number): number {
    const D = this.#delimiter;
    const Q = this.#quote;
    const E = this.#escape;
    let state = FIELD_START;
    let spanned = 1;
    for (let i = s; i < end; i++) {
      const c = buf[i];
      switch (state) {
        case FIELD_START:
          if (c === Q) state = QUOTED;
          else if (c === LF) return this.#found(i, spanned);
          else if (c !== D) state = UNQUOTED;
          break;
        case UNQUOTED:
          if (c === D) state = FIELD_START;
          else if (c === LF) return this.#found(i, spanned);
          break;
        case QUOTED:
          if (c === E && E !== Q) {
            if (i + 1 < end && buf[i + 1] === LF) spanned++;
            i++;
          } else if (c === Q) {
            state = AFTER_QUOTE;
          } else if (c === LF) {
            spanned++;
          }
          break;
        default: // AFTER_QUOTE
          if (c === Q && E === Q) state = QUOTED;
          else if (c === D) state = FIELD_START;
          else if (c === LF) return this.#found(i, spanned);
          else state = UNQUOTED;
      }
    }
    this.#spanned = spanned;
    return -1;
  }

  #found(index: number, spanned: number): number {
    this.#spanned = spanned;
    return index;
  }

  /** Turn `n` framed records into values; returns records plus bad records. */
  #convert(records: unknown[], n: number): number {
    const buf = this.window.buf;
    const starts = this.#starts;
    const ends = this.#ends;
    const quoted = this.#quoted;
    const delimiter = this.#options.delimiter;
    let parsed: Array<string[] | Error> | undefined;
    for (let k = 0; k < n; k++) {
      if (quoted[k]) {
        parsed = this.#parseQuoted(n);
        break;
      }
    }
    let q = 0;
    let found = 0;
    for (let k = 0; k < n; k++) {
      let fields: string[] | Error;
      if (quoted[k]) {
        fields = parsed![q++];
      } else {
        fields = buf.toString('utf8', starts[k], ends[k]).split(delimiter);
      }
      if (this.#headerPending) {
        if (fields instanceof Error) {
          this.#bad(k, `header is not valid CSV: ${describe(fields)}`, fields);
          found++;
          continue;
        }
        this.#headerPending = false;
        if (this.#columns === undefined) this.#setColumns(fields);
        continue;
      }
      if (fields instanceof Error) {
        this.#bad(k, `not valid CSV: ${describe(fields)}`, fields);
        found++;
        continue;
      }
      const build = this.#build;
      if (build === undefined) {
        records.push(fields);
        found++;
        continue;
      }
      if (fields.length !== build.width) {
        this.#bad(k, `expected ${build.width} fields, got ${fields.length}`);
        found++;
        continue;
      }
      try {
        records.push(build.make(fields));
      } catch (err) {
        this.#bad(k, describe(err), err);
      }
      found++;
    }
    return found;
  }

  /** Parse the quoted records of the batch with csv-parse: one call for all, one per record after an error. */
  #parseQuoted(n: number): Array<string[] | Error> {
    const buf = this.window.buf;
    const texts: string[] = [];
    for (let k = 0; k < n; k++) if (this.#quoted[k]) texts.push(buf.toString('utf8', this.#starts[k], this.#ends[k]));
    try {
      const all = parse!(texts.join('\n') + '\n', this.#parseOptions) as string[][];
      if (all.length === texts.length) return all;
    } catch {
      // One record is malformed: find which, below.
    }
    return texts.map((text) => {
      try {
        const one = parse!(text + '\n', this.#parseOptions) as string[][];
        return one.length === 1 ? one[0] : new Error(`found ${one.length} records in one line`);
      } catch (err) {
        return err instanceof Error ? err : new Error(describe(err));
      }
    });
  }

  #bad(k: number, reason: string, cause?: unknown): void {
    const text = this.window.buf.toString('utf8', this.#starts[k], this.#ends[k]);
    this.env.bad.add(text, this.where(this.#starts[k], this.#lines[k]), reason, cause);
  }

  #setColumns(columns: readonly string[] | undefined): void {
    this.#columns = columns;
    if (columns === undefined) return;
    const converters = columns.map((name) => converter(name, this.#options.types[name], this.#options.nullValue));
    this.#build = makeRowBuilder(columns, converters);
  }
}

/** The converter of one column, or `undefined` for plain strings without a null value. */
function converter(column: string, type: CsvColumnType | undefined, nullValue: string | undefined): ((text: string) => unknown) | undefined {
  const isNull = (text: string): boolean => text === nullValue;
  switch (type ?? 'string') {
    case 'string':
      return nullValue === undefined ? undefined : (text) => (isNull(text) ? null : text);
    case 'number':
      return (text) => {
        const t = text.trim();
        if (t === '' || isNull(text)) return null;
        const value = Number(t);
        if (Number.isNaN(value) && t !== 'NaN') throw new TypeError(`column ${show(column)}: expected a number, got ${show(text)}`);
        return value;
      };
    case 'integer':
      return (text) => {
        const t = text.trim();
        if (t === '' || isNull(text)) return null;
        const value = Number(t);
        if (!Number.isSafeInteger(value)) throw new TypeError(`column ${show(column)}: expected an integer, got ${show(text)}`);
        return value;
      };
    case 'boolean':
      return (text) => {
        const t = text.trim().toLowerCase();
        if (t === '' || isNull(text)) return null;
        if (t === 'true' || t === '1') return true;
        if (t === 'false' || t === '0') return false;
        throw new TypeError(`column ${show(column)}: expected a boolean, got ${show(text)}`);
      };
    case 'date':
      return (text) => {
        const t = text.trim();
        if (t === '' || isNull(text)) return null;
        const date = /^-?\d+$/.test(t) ? new Date(Number(t)) : new Date(t);
        if (Number.isNaN(date.getTime())) throw new TypeError(`column ${show(column)}: expected a date, got ${show(text)}`);
        return date;
      };
    default: // json
      return (text) => {
        if (text.trim() === '' || isNull(text)) return null;
        try {
          return JSON.parse(text) as unknown;
        } catch (err) {
          throw new TypeError(`column ${show(column)}: expected JSON, got ${show(text)}: ${describe(err)}`);
        }
      };
  }
}
