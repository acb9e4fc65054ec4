import type * as Arrow from 'apache-arrow';
import { describe } from '../../runtime/errors.js';
import { inferShape, type Shape } from './infer-shape.js';
import type { PartEncoder, PartFormat } from './part-format.js';

type ArrowModule = typeof Arrow;

/** Options of {@link arrowFormat} (validated by the sink's factory). */
export interface ArrowFormatOptions {
  /** An apache-arrow `Schema`. Default: inferred from the first batch. */
  readonly schema: object | undefined;
}

/**
 * Arrow IPC files (the file format: `ARROW1` magic, record batches, footer) through apache-arrow,
 * loaded when the sink opens. Each write becomes one record batch, built with `vectorFromArray`
 * after checking every value against the schema (apache-arrow's builders would silently coerce a
 * string into a NaN); the footer is written when the part is sealed.
 *
 * Without `schema`, the schema is inferred from the first batch, every field nullable: number →
 * Float64, bigint → Int64, string → Utf8, boolean → Bool, Date → Timestamp(ms) (read back as Date),
 * Uint8Array → Binary, object → Struct, array → List, a field null in the whole batch → Null.
 *
 * @example
 * ```ts
 * const arrow = await arrowFormat({ schema: undefined });
 * arrow.prepare([{ id: 1, tags: ['a'] }]);
 * ```
 */
export async function arrowFormat<T>(options: ArrowFormatOptions): Promise<PartFormat<T>> {
  const arrow = await import('apache-arrow');
  if (options.schema !== undefined && !(options.schema instanceof arrow.Schema)) {
    throw new TypeError('schema must be an apache-arrow Schema for format arrow');
  }
  let schema = options.schema as Arrow.Schema | undefined;
  return {
    extension: 'arrow',
    prepare(records) {
      if (schema !== undefined) return;
      const shape = inferShape(records);
      if (shape.kind !== 'struct') throw new TypeError(`records must be objects to infer an Arrow schema, got ${shape.kind}`);
      schema = new arrow.Schema([...shape.fields].map(([name, field]) => new arrow.Field(name, arrowType(arrow, field), true)));
    },
    part: () => new ArrowPart<T>(arrow, schema!),
  };
}

class ArrowPart<T> implements PartEncoder<T> {
  readonly #arrow: ArrowModule;
  readonly #schema: Arrow.Schema;
  readonly #struct: Arrow.Struct;
  readonly #writer: Arrow.RecordBatchFileWriter;
  readonly #chunks: Uint8Array[] = [];
  readonly #pump: Promise<void>;

  constructor(arrow: ArrowModule, schema: Arrow.Schema) {
    this.#arrow = arrow;
    this.#schema = schema;
    this.#struct = new arrow.Struct(schema.fields);
    const writer = new arrow.RecordBatchFileWriter();
    const chunks = this.#chunks;
    this.#writer = writer;
    // The writer's output is an async iterable; collect it as it comes (microtasks after each write).
    this.#pump = (async () => {
      for await (const chunk of writer) chunks.push(chunk);
    })();
  }

  start(): Uint8Array[] {
    return [];
  }

  encode(records: readonly T[], start: number, end: number): Uint8Array[] {
    const slice = start === 0 && end === records.length ? records : records.slice(start, end);
    const fields = this.#schema.fields;
    for (let i = 0; i < slice.length; i++) {
      const record = slice[i];
      if (record === null || typeof record !== 'object') throw new TypeError(`record must be an object, got ${describe(record)}`);
      for (const field of fields) check(this.#arrow, (record as Record<string, unknown>)[field.name], field.type as Arrow.DataType, field.name);
    }
    let batch: Arrow.RecordBatch;
    try {
      const vector = this.#arrow.vectorFromArray(slice as unknown[], this.#struct);
      batch = new this.#arrow.RecordBatch(this.#schema, vector.data[0] as Arrow.Data<Arrow.Struct>);
    } catch (err) {
      throw new TypeError(`records do not fit the Arrow schema: ${describe(err)}`, { cause: err });
    }
    this.#writer.write(batch);
    return this.#drain();
  }

  async finish(): Promise<Uint8Array[]> {
    this.#writer.finish();
    await this.#pump;
    return this.#drain();
  }

  #drain(): Uint8Array[] {
    return this.#chunks.splice(0, this.#chunks.length);
  }
}

function arrowType(arrow: ArrowModule, shape: Shape): Arrow.DataType {
  switch (shape.kind) {
    case 'null':
      return new arrow.Null();
    case 'number':
      return new arrow.Float64();
    case 'bigint':
      return new arrow.Int64();
    case 'string':
      return new arrow.Utf8();
    case 'boolean':
      return new arrow.Bool();
    case 'date':
      return new arrow.TimestampMillisecond();
    case 'bytes':
      return new arrow.Binary();
    case 'list':
      return new arrow.List(new arrow.Field('item', arrowType(arrow, shape.items), true));
    default:
      return new arrow.Struct([...shape.fields].map(([name, field]) => new arrow.Field(name, arrowType(arrow, field), true)));
  }
}

/** Throw a TypeError naming `path` when `value` does not fit `type` (null fits everything). */
function check(arrow: ArrowModule, value: unknown, type: Arrow.DataType, path: string): void {
  if (value === null || value === undefined) return;
  const { Type } = arrow;
  let ok = false;
  switch (type.typeId) {
    case Type.Float:
      ok = typeof value === 'number';
      break;
    case Type.Int:
      ok = (type as Arrow.Int).bitWidth === 64 ? typeof value === 'bigint' || Number.isSafeInteger(value) : Number.isInteger(value);
      break;
    case Type.Utf8:
    case Type.LargeUtf8:
      ok = typeof value === 'string';
      break;
    case Type.Bool:
      ok = typeof value === 'boolean';
      break;
    case Type.Timestamp:
    case Type.Date:
      ok = value instanceof Date || typeof value === 'number';
      break;
    case Type.Binary:
    case Type.LargeBinary:
      ok = value instanceof Uint8Array;
      break;
    case Type.Null:
      break;
    case Type.List: {
      if (!Array.isArray(value)) break;
      const items = (type as Arrow.List).children[0].type as Arrow.DataType;
      for (let i = 0; i < value.length; i++) check(arrow, value[i], items, `${path}[${i}]`);
      return;
    }
    case Type.Struct: {
      if (typeof value !== 'object' || Array.isArray(value)) break;
      for (const field of (type as Arrow.Struct).children) check(arrow, (value as Record<string, unknown>)[field.name], field.type as Arrow.DataType, `${path}.${field.name}`);
      return;
    }
    default:
      return;
  }
  if (!ok) throw new TypeError(`${path}: ${describe(value)} does not fit Arrow type ${String(type)}`);
}
