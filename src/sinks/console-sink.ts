import { once } from 'node:events';
import { ConfigError, show } from '../runtime/errors.js';
import type { Batch } from '../runtime/elements.js';
import type { Sink, SinkContext } from '../runtime/sink.js';

/** Options of {@link consoleSink}. */
export interface ConsoleSinkOptions {
  /** `'jsonl'`: one JSON line per record (default). `'table'`: an aligned table per batch. */
  format?: 'jsonl' | 'table';
  /** Where to write. Default `process.stdout`. The sink never ends or closes it. */
  stream?: NodeJS.WritableStream;
  /** Step name. Default `'console'`. */
  name?: string;
}

const WHAT = 'sinks.console';

/** Table cells longer than this are cut and end with '…'. */
const MAX_CELL = 32;

/** Column of records that are not plain objects (numbers, strings, arrays). */
const VALUE_COLUMN = 'value';

/**
 * A sink that prints records, for demos and debugging (at-least-once, not transactional).
 *
 * `jsonl` prints one JSON line per record (values JSON cannot hold, such as bigint, are printed
 * with `String`). `table` prints each batch as a table whose columns are the union of the
 * records' keys in order of appearance (non-objects go in a `value` column), cells cut to 32
 * characters, numbers right-aligned, followed by a blank line.
 *
 * Each batch is one `write` to the stream; when the stream asks to wait (write returns false) the
 * sink waits for `'drain'`, so a slow terminal or pipe slows the job down instead of buffering
 * without bound.
 *
 * @example
 * ```ts
 * pipeline('demo').source(generatorSource({ count: 20 })).sink(consoleSink({ format: 'table' }));
 * ```
 */
export function consoleSink<T = unknown>(options: ConsoleSinkOptions = {}): Sink<T> {
  if (options === null || typeof options !== 'object') throw new ConfigError(`${WHAT}: options must be an object, got ${show(options)}`);
  const format = options.format ?? 'jsonl';
  if (format !== 'jsonl' && format !== 'table') {
    throw new ConfigError(`${WHAT}: format must be 'jsonl' or 'table', got ${show(format)}`);
  }
  const given = options.stream;
  if (given !== undefined && (given === null || typeof (given as { write?: unknown }).write !== 'function')) {
    throw new ConfigError(`${WHAT}: stream must be a writable stream, got ${show(given)}`);
  }
  const name = options.name ?? 'console';
  if (typeof name !== 'string' || name.length === 0) throw new ConfigError(`${WHAT}: name must be a non-empty string, got ${show(name)}`);
  const render = format === 'jsonl' ? renderJsonl : renderTable;
  return {
    name,
    open(ctx: SinkContext) {
      // Resolved at open, not at build, so a job built before stdout is redirected still follows it.
      const stream = given ?? process.stdout;
      return {
        write(b: Batch<T>): void | Promise<void> {
          if (b.records.length === 0) return;
          if (stream.write(render(b.records))) return;
          return once(stream as NodeJS.EventEmitter, 'drain', { signal: ctx.signal }).then(() => undefined);
        },
      };
    },
  };
}

function renderJsonl(records: readonly unknown[]): string {
  let text = '';
  for (let i = 0; i < records.length; i++) text += jsonOf(records[i]) + '\n';
  return text;
}

function jsonOf(value: unknown): string {
  try {
    const json = JSON.stringify(value);
    return json === undefined ? String(value) : json;
  } catch {
    return String(value);
  }
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function renderTable(records: readonly unknown[]): string {
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const record of records) {
    const keys = isPlainRecord(record) ? Object.keys(record) : [VALUE_COLUMN];
    for (const key of keys) {
      if (!seen.has(key)) {
        seen.add(key);
        columns.push(key);
      }
    }
  }
  const widths = columns.map((c) => cut(c).length);
  const numeric = columns.map(() => true);
  const cells: string[][] = new Array(records.length);
  for (let r = 0; r < records.length; r++) {
    const record = records[r];
    const row = new Array<string>(columns.length);
    for (let c = 0; c < columns.length; c++) {
      const value = isPlainRecord(record) ? record[columns[c]] : columns[c] === VALUE_COLUMN ? record : undefined;
      if (value !== undefined && typeof value !== 'number' && typeof value !== 'bigint') numeric[c] = false;
      const text = cut(cellText(value));
      row[c] = text;
      if (text.length > widths[c]) widths[c] = text.length;
    }
    cells[r] = row;
  }
  const line = (row: readonly string[], alignRight: readonly boolean[]): string => {
    let text = '';
    for (let c = 0; c < row.length; c++) {
      const cell = alignRight[c] ? row[c].padStart(widths[c]) : row[c].padEnd(widths[c]);
      text += c === 0 ? cell : '  ' + cell;
    }
    return text.trimEnd() + '\n';
  };
  const left = columns.map(() => false);
  let out = line(columns.map(cut), left);
  out += line(widths.map((w) => '-'.repeat(w)), left);
  for (const row of cells) out += line(row, numeric);
  return out + '\n';
}

function cellText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value.replace(/[\r\n\t]/g, ' ');
  if (typeof value === 'object') return jsonOf(value);
  return String(value);
}

function cut(text: string): string {
  return text.length > MAX_CELL ? text.slice(0, MAX_CELL - 1) + '…' : text;
}
