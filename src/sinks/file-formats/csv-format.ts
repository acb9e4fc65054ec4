import type { PartEncoder, PartFormat } from './part-format.js';

/** Options of {@link csvFormat} (validated by the sink's factory). */
export interface CsvFormatOptions {
  /** Field separator, one character. */
  readonly delimiter: string;
  /** Quote character, one character (doubled inside quoted fields). */
  readonly quote: string;
  /** Write a header line (the column names) at the top of every part. */
  readonly header: boolean;
  /** Columns, in order. Default: the keys of the first batch's records, in order of appearance. */
  readonly columns: readonly string[] | undefined;
}

/**
 * CSV (RFC 4180): records are objects written as the configured columns (a missing key is an
 * empty field, keys outside the columns are not written), or arrays written as they are when there
 * are no columns. Every part file starts with the header line when `header` is on.
 *
 * Values: `null`/`undefined` → empty field; strings as they are, quoted when they hold the
 * delimiter, the quote, a line end, or are empty (`""`, so an empty string differs from a null in
 * the file); numbers, bigints, booleans with `String`; `Date` → ISO 8601; other objects and arrays
 * → JSON (read them back with the file source's `types: { col: 'json' }`).
 *
 * @example
 * ```ts
 * const csv = csvFormat({ delimiter: ',', quote: '"', header: true, columns: undefined });
 * csv.prepare([{ id: 1, name: 'a, b' }]);
 * csv.part().start(); // header 'id,name\n'
 * csv.part().line!({ id: 1, name: 'a, b' }); // '1,"a, b"\n'
 * ```
 */
export function csvFormat<T>(options: CsvFormatOptions): PartFormat<T> {
  const { delimiter, quote } = options;
  const doubled = quote + quote;
  const special = new RegExp(`[${escapeClass(delimiter)}${escapeClass(quote)}\\r\\n]`);
  const quoteAll = new RegExp(escapeRegExp(quote), 'g');
  let columns = options.columns;

  const field = (value: unknown): string => {
    let text: string;
    if (value === null || value === undefined) return '';
    if (typeof value === 'string') {
      if (value === '') return doubled;
      text = value;
    } else if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') {
      return String(value);
    } else if (value instanceof Date) {
      return value.toISOString();
    } else {
      text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    }
    return special.test(text) ? quote + text.replace(quoteAll, doubled) + quote : text;
  };

  const line = (record: T): string => {
    if (columns === undefined) {
      if (!Array.isArray(record)) throw new TypeError(`record must be an array when the CSV has no columns, got ${typeof record}`);
      return record.map(field).join(delimiter) + '\n';
    }
    if (record === null || typeof record !== 'object') throw new TypeError(`record must be an object with the CSV columns, got ${String(record)}`);
    const row = record as Record<string, unknown>;
    let text = field(row[columns[0]]);
    for (let i = 1; i < columns.length; i++) text += delimiter + field(row[columns[i]]);
    return text + '\n';
  };

  const encoder: PartEncoder<T> = {
    start: () => (options.header && columns !== undefined ? [Buffer.from(columns.map(field).join(delimiter) + '\n')] : []),
    line,
    encode(records, start, end) {
      let text = '';
      for (let i = start; i < end; i++) text += line(records[i]);
      return [Buffer.from(text)];
    },
    finish: () => [],
  };

  return {
    extension: 'csv',
    prepare(records) {
      if (columns !== undefined || Array.isArray(records[0])) return;
      const seen = new Set<string>();
      for (const record of records) {
        if (record !== null && typeof record === 'object' && !Array.isArray(record)) for (const key of Object.keys(record)) seen.add(key);
      }
      columns = [...seen];
      if (columns.length === 0) throw new TypeError('cannot find CSV columns: the first batch has no object with keys; give the columns option');
    },
    part: () => encoder,
  };
}

function escapeClass(c: string): string {
  return c.replace(/[\]\\^-]/g, '\\$&');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
