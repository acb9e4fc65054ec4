import type * as Arrow from 'apache-arrow';
import { makeColumnRowBuilder, type ColumnRowBuilder } from './row-builder.js';

type ArrowModule = typeof Arrow;

/**
 * Turns Arrow record batches into plain row objects, column by column: each column is converted
 * once per batch into an array of JS values (numeric columns without nulls are used as their typed
 * arrays, without a copy), then rows are assembled by a compiled builder. Nothing goes through JSON.
 *
 * Values: numbers for 8–32-bit ints and floats, `bigint` for 64-bit ints, strings, booleans,
 * `Uint8Array` for binary, `Date` for Arrow Date and Timestamp (millisecond precision), plain
 * objects for Struct, arrays for List and FixedSizeList, dictionary values decoded, `null` for nulls.
 * Other types give what apache-arrow's `Vector#get` gives.
 *
 * @example
 * ```ts
 * const rows = new ArrowRows(await import('apache-arrow'));
 * const objects = rows.rows(batch, 0, batch.numRows);
 * ```
 */
export class ArrowRows {
  readonly #arrow: ArrowModule;
  #schema: Arrow.Schema | undefined;
  #build: ColumnRowBuilder | undefined;

  constructor(arrow: ArrowModule) {
    this.#arrow = arrow;
  }

  #batch: Arrow.RecordBatch | undefined;
  #columns: Array<ArrayLike<unknown>> = [];

  /**
   * Rows `from` … `to - 1` of `batch`. The batch's columns are converted on the first call for a
   * batch and reused while the following calls ask for the same batch.
   */
  rows(batch: Arrow.RecordBatch, from: number, to: number): Array<Record<string, unknown>> {
    if (batch.schema !== this.#schema) {
      this.#schema = batch.schema;
      this.#build = makeColumnRowBuilder(batch.schema.fields.map((f) => f.name));
    }
    if (batch !== this.#batch) {
      this.#batch = batch;
      this.#columns = batch.data.children.map((child) => this.#values(child));
    }
    const build = this.#build!;
    const columns = this.#columns;
    const out = new Array<Record<string, unknown>>(to - from);
    for (let i = from, k = 0; i < to; i++, k++) out[k] = build(columns, i);
    return out;
  }

  /** Forget the converted batch (its memory can go). */
  release(): void {
    this.#batch = undefined;
    this.#columns = [];
  }

  /** The JS values of one column's data. */
  #values(data: Arrow.Data): ArrayLike<unknown> {
    const { Type, makeVector } = this.#arrow;
    const n = data.length;
    const type = data.type as Arrow.DataType;
    const vector = makeVector(data);
    switch (type.typeId) {
      case Type.Int:
      case Type.Float: {
        const precise = type.typeId === Type.Int || (type as Arrow.Float).precision !== this.#arrow.Precision.HALF;
        if (data.nullCount === 0 && precise) return vector.toArray() as ArrayLike<unknown>;
        return this.#get(vector, n);
      }
      case Type.Date:
      case Type.Timestamp: {
        const out = new Array<unknown>(n);
        for (let i = 0; i < n; i++) {
          const ms = vector.get(i) as number | bigint | null;
          out[i] = ms === null ? null : new Date(Number(ms));
        }
        return out;
      }
      case Type.Struct: {
        const fields = (type as Arrow.Struct).children;
        const build = makeColumnRowBuilder(fields.map((f) => f.name));
        const children = data.children.map((child) => this.#values(child));
        const out = new Array<unknown>(n);
        for (let i = 0; i < n; i++) out[i] = data.getValid(i) ? build(children, i) : null;
        return out;
      }
      case Type.List: {
        const offsets = data.valueOffsets;
        const items = this.#values(data.children[0]);
        const out = new Array<unknown>(n);
        for (let i = 0; i < n; i++) out[i] = data.getValid(i) ? Array.prototype.slice.call(items, offsets[i], offsets[i + 1]) : null;
        return out;
      }
      case Type.FixedSizeList: {
        const size = (type as Arrow.FixedSizeList).listSize;
        const items = this.#values(data.children[0]);
        const out = new Array<unknown>(n);
        for (let i = 0; i < n; i++) out[i] = data.getValid(i) ? Array.prototype.slice.call(items, i * size, (i + 1) * size) : null;
        return out;
      }
      default:
        return this.#get(vector, n);
    }
  }

  #get(vector: Arrow.Vector, n: number): unknown[] {
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) {
      const value = vector.get(i) as unknown;
      // Map values and other row views: make them plain.
      out[i] = value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function' && !(value instanceof Uint8Array)
        ? (value as { toJSON(): unknown }).toJSON()
        : value;
    }
    return out;
  }
}
