import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as Avsc from 'avsc';
import { describe } from '../../runtime/errors.js';
import { inferShape, type Shape } from './infer-shape.js';
import type { PartEncoder, PartFormat } from './part-format.js';

type AvscModule = typeof Avsc;

/** Options of {@link avroFormat} (validated by the sink's factory). */
export interface AvroFormatOptions {
  /** The Avro schema of the records. Default: inferred from the first batch. */
  readonly schema: object | undefined;
}

const MAGIC = Buffer.from('Obj\x01', 'latin1');
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Avro object container files through avsc, loaded when the first part opens: a header (schema,
 * codec `null`, a random sync marker), then one block per write (per batch, or per part of a
 * batch cut by a roll limit) holding the batch's records, each followed by the sync marker.
 * Records are checked against the schema as they are encoded (a record that does not fit throws).
 *
 * Without `schema`, the schema is inferred from the first batch: records named `Record`, nested
 * ones `Record_<field>`, every field `["null", T]` with default null; number → double, string →
 * string, boolean → boolean, Date → long/timestamp-millis (read back as Date), Buffer → bytes,
 * array → array of nullable items. Field names must be valid Avro names; bigints are not supported
 * (avsc longs are JS numbers).
 *
 * @example
 * ```ts
 * const avro = avroFormat({ schema: undefined });
 * avro.prepare([{ id: 1, at: new Date() }]);
 * ```
 */
export function avroFormat<T>(options: AvroFormatOptions): PartFormat<T> {
  let avsc: AvscModule | undefined;
  let type: Avsc.Type | undefined;
  let header: Omit<HeaderParts, 'sync'> | undefined;
  return {
    extension: 'avro',
    prepare(records) {
      avsc ??= createRequire(import.meta.url)('avsc') as AvscModule;
      const schema = options.schema ?? toAvro(inferShape(records), 'Record');
      try {
        type = avsc.Type.forSchema(schema as Avsc.Schema, { logicalTypes: { 'timestamp-millis': dateType(avsc) } });
      } catch (err) {
        throw new TypeError(`not a usable Avro schema: ${describe(err)}`, { cause: err });
      }
      header = { avsc, schema: JSON.stringify(schema) };
    },
    part: () => new AvroPart<T>(type!, { ...header!, sync: randomBytes(16) }),
  };
}

interface HeaderParts {
  readonly avsc: AvscModule;
  readonly schema: string;
  readonly sync: Buffer;
}

class AvroPart<T> implements PartEncoder<T> {
  readonly #type: Avsc.Type;
  readonly #header: HeaderParts;
  readonly #long: Avsc.Type;
  #scratch = Buffer.allocUnsafe(64 * 1024);

  constructor(type: Avsc.Type, header: HeaderParts) {
    this.#type = type;
    this.#header = header;
    this.#long = header.avsc.Type.forSchema('long');
  }

  start(): Uint8Array[] {
    const { avsc, schema, sync } = this.#header;
    const headerType = avsc.Type.forSchema({
      type: 'record',
      name: 'org.apache.avro.file.Header',
      fields: [
        { name: 'magic', type: { type: 'fixed', name: 'Magic', size: 4 } },
        { name: 'meta', type: { type: 'map', values: 'bytes' } },
        { name: 'sync', type: { type: 'fixed', name: 'Sync', size: 16 } },
      ],
    });
    return [headerType.toBuffer({ magic: MAGIC, meta: { 'avro.schema': Buffer.from(schema), 'avro.codec': Buffer.from('null') }, sync })];
  }

  encode(records: readonly T[], start: number, end: number): Uint8Array[] {
    const type = this.#type;
    let buf = this.#scratch;
    let pos = 0;
    for (let i = start; i < end; i++) {
      let next: number;
      try {
        next = type.encode(records[i], buf, pos);
        while (next < 0) {
          // Too small: avsc says by how much (-next); grow by at least double.
          const bigger = Buffer.allocUnsafe(Math.max(buf.length * 2, buf.length - next));
          buf.copy(bigger, 0, 0, pos);
          buf = bigger;
          next = type.encode(records[i], buf, pos);
        }
      } catch (err) {
        throw new TypeError(`record does not fit the Avro schema: ${describe(err)}`, { cause: err });
      }
      pos = next;
    }
    this.#scratch = buf;
    // Block: record count, byte size, the records, the sync marker.
    return [this.#long.toBuffer(end - start), this.#long.toBuffer(pos), Buffer.from(buf.subarray(0, pos)), this.#header.sync];
  }

  finish(): Uint8Array[] {
    return [];
  }
}

/** An Avro schema for an inferred shape. */
function toAvro(shape: Shape, name: string): unknown {
  switch (shape.kind) {
    case 'null':
      return 'null';
    case 'number':
      return 'double';
    case 'string':
      return 'string';
    case 'boolean':
      return 'boolean';
    case 'bytes':
      return 'bytes';
    case 'date':
      return { type: 'long', logicalType: 'timestamp-millis' };
    case 'bigint':
      throw new TypeError(`${name}: Avro cannot hold bigints here (avsc longs are numbers); give the schema option`);
    case 'list':
      return { type: 'array', items: nullable(toAvro(shape.items, `${name}_item`)) };
    default: {
      const fields = [...shape.fields].map(([field, inner]) => {
        if (!NAME.test(field)) throw new TypeError(`field ${JSON.stringify(field)} is not a valid Avro name; give the schema option`);
        return { name: field, type: nullable(toAvro(inner, `${name}_${field}`)), default: null };
      });
      return { type: 'record', name, fields };
    }
  }
}

function nullable(schema: unknown): unknown {
  return schema === 'null' ? 'null' : ['null', schema];
}

/** avsc logical type writing Dates as `timestamp-millis` longs (and reading them back as Dates). */
function dateType(avsc: AvscModule): new (schema: Avsc.Schema, opts?: unknown) => Avsc.types.LogicalType {
  return class DateType extends avsc.types.LogicalType {
    protected override _fromValue(value: number): Date {
      return new Date(value);
    }
    protected override _toValue(value: unknown): unknown {
      return value instanceof Date ? value.getTime() : value;
    }
    protected override _resolve(type: Avsc.Type): unknown {
      if (avsc.Type.isType(type, 'long', 'logical:timestamp-millis')) return this._fromValue;
      return undefined;
    }
  };
}
