import { createRequire } from 'node:module';
import type * as Avsc from 'avsc';
import { ConfigError, describe, show } from '../runtime/errors.js';

type AvscModule = typeof Avsc;

/**
 * Turns the bytes of a Kafka record's key or value into a JS value, for {@link kafkaSource}.
 *
 * `deserialize` is called once per record on the source's fetch path; it throws for input it
 * cannot decode, and the source then routes that record to its dead-letter output (with topic,
 * partition and offset) instead of failing the job. A `null` payload (a tombstone, or a record
 * without key) never reaches `deserialize`: the record field is `null`.
 *
 * @example
 * ```ts
 * const upper: KafkaDeserializer<string> = { name: 'upper', deserialize: (b) => b.toString('utf8').toUpperCase() };
 * ```
 */
export interface KafkaDeserializer<T = unknown> {
  /** Shown in messages. */
  readonly name: string;
  /**
   * Load what decoding needs (a codec library, schemas). Called once when the source opens,
   * before any `deserialize`. Default: nothing.
   */
  prepare?(): Promise<void>;
  /** Decode one payload; throw when it cannot be decoded. */
  deserialize(data: Buffer): T;
  /**
   * Called when `deserialize` threw a {@link MissingSchemaError}: fetch that schema (e.g. from a
   * registry), after which the source decodes the record again. Default: none (the record is bad).
   */
  resolve?(schemaId: number): Promise<void>;
}

/** Thrown by a deserializer that needs a schema it has not loaded yet (see {@link KafkaDeserializer.resolve}). */
export class MissingSchemaError extends Error {
  readonly schemaId: number;
  constructor(schemaId: number) {
    super(`no schema for id ${schemaId}`);
    this.name = 'MissingSchemaError';
    this.schemaId = schemaId;
  }
}

/** A deserializer by name, or one of your own. */
export type KafkaFormat = 'json' | 'string' | 'raw' | KafkaDeserializer;

/** Options of {@link avroDeserializer}: a plain schema, or Confluent framing with schemas by id. */
export type AvroDeserializerOptions =
  | {
      /** Schema of payloads that are plain Avro binary (no framing). */
      readonly schema: object | string;
      readonly schemas?: undefined;
      readonly readerSchema?: object | string;
    }
  | {
      readonly schema?: undefined;
      /**
       * Confluent wire format (byte 0, then the schema id as a 4-byte big-endian integer, then Avro
       * binary): the writer schema of each id, as a map or a lookup (e.g. a schema registry call,
       * made once per id).
       */
      readonly schemas: Readonly<Record<number, object | string>> | ((id: number) => object | string | Promise<object | string>);
      /** Decode every writer schema into this one (Avro schema resolution). Default: the writer schema. */
      readonly readerSchema?: object | string;
    };

const WHAT = 'sources.kafka';

/** UTF-8 JSON. */
export function jsonDeserializer(): KafkaDeserializer {
  return { name: 'json', deserialize: (data) => JSON.parse(data.toString('utf8')) as unknown };
}

/** UTF-8 text. */
export function stringDeserializer(): KafkaDeserializer<string> {
  return { name: 'string', deserialize: (data) => data.toString('utf8') };
}

/** The bytes as they are (a `Buffer`). */
export function rawDeserializer(): KafkaDeserializer<Buffer> {
  return { name: 'raw', deserialize: (data) => data };
}

/**
 * Avro through avsc (loaded when the source opens, so jobs without Avro never load it): plain
 * binary with `schema`, or the Confluent wire format (magic byte 0, 4-byte schema id) with
 * `schemas`. Longs decode to numbers (avsc's default: beyond 2^53 decoding fails and the record
 * goes to dead letters).
 *
 * @example
 * ```ts
 * const schema = { type: 'record', name: 'Click', fields: [{ name: 'user', type: 'string' }] };
 * sources.kafka({ brokers, topic: 'clicks', groupId: 'g', value: avroDeserializer({ schema }) });
 * sources.kafka({ brokers, topic: 'clicks', groupId: 'g', value: avroDeserializer({ schemas: { 7: schema } }) });
 * ```
 */
export function avroDeserializer<T = unknown>(options: AvroDeserializerOptions): KafkaDeserializer<T> {
  if (options === null || typeof options !== 'object') throw new ConfigError(`${WHAT}: avro options must be an object, got ${show(options)}`);
  const { schema, schemas, readerSchema } = options as { schema?: unknown; schemas?: unknown; readerSchema?: unknown };
  if ((schema === undefined) === (schemas === undefined)) {
    throw new ConfigError(`${WHAT}: avro needs exactly one of schema (plain Avro binary) or schemas (Confluent framing), got ${show(options)}`);
  }
  for (const [field, value] of [['schema', schema], ['readerSchema', readerSchema]] as const) {
    if (value !== undefined && !isSchema(value)) throw new ConfigError(`${WHAT}: avro ${field} must be an Avro schema (object or string), got ${show(value)}`);
  }
  if (schemas !== undefined && typeof schemas !== 'function' && (schemas === null || typeof schemas !== 'object')) {
    throw new ConfigError(`${WHAT}: avro schemas must be a map { id: schema } or a function (id) => schema, got ${show(schemas)}`);
  }
  let avsc: AvscModule | undefined;
  let reader: Avsc.Type | undefined;
  let plain: Avsc.Type | undefined;
  /** Per schema id: the writer type and, with a reader schema, the resolver. */
  const byId = new Map<number, { type: Avsc.Type; resolver: Avsc.Resolver | undefined }>();

  const forSchema = (s: unknown, what: string): Avsc.Type => {
    try {
      return avsc!.Type.forSchema((typeof s === 'string' && s.trim().startsWith('{') ? JSON.parse(s) : s) as Avsc.Schema);
    } catch (err) {
      throw new ConfigError(`${WHAT}: ${what} is not a usable Avro schema: ${describe(err)}`, { cause: err });
    }
  };
  const addId = (id: number, s: unknown): void => {
    const type = forSchema(s, `schema ${id}`);
    byId.set(id, { type, resolver: reader === undefined ? undefined : reader.createResolver(type) });
  };

  return {
    name: 'avro',
    async prepare() {
      avsc ??= createRequire(import.meta.url)('avsc') as AvscModule;
      if (readerSchema !== undefined) reader = forSchema(readerSchema, 'readerSchema');
      if (schema !== undefined) plain = forSchema(schema, 'schema');
      if (schemas !== undefined && typeof schemas === 'object') {
        for (const [id, s] of Object.entries(schemas as Record<string, unknown>)) addId(Number(id), s);
      }
    },
    deserialize(data) {
      if (plain !== undefined) {
        if (reader === undefined) return plain.fromBuffer(data) as T;
        return reader.fromBuffer(data, reader.createResolver(plain)) as T;
      }
      if (data.length < 5 || data[0] !== 0) throw new Error(`not Confluent-framed Avro (expected magic byte 0 and a 4-byte schema id, got ${data.length} bytes starting ${data.subarray(0, 5).toString('hex')})`);
      const id = data.readInt32BE(1);
      const entry = byId.get(id);
      if (entry === undefined) throw new MissingSchemaError(id);
      const body = data.subarray(5);
      return (entry.resolver === undefined ? entry.type.fromBuffer(body) : reader!.fromBuffer(body, entry.resolver)) as T;
    },
    async resolve(id) {
      if (typeof schemas !== 'function' || byId.has(id)) return;
      addId(id, await (schemas as (id: number) => unknown)(id));
    },
  };
}

/** The deserializer a format option names. */
export function toDeserializer(format: unknown, option: string): KafkaDeserializer {
  if (format === 'json') return jsonDeserializer();
  if (format === 'string') return stringDeserializer();
  if (format === 'raw') return rawDeserializer();
  if (format !== null && typeof format === 'object' && typeof (format as KafkaDeserializer).deserialize === 'function') return format as KafkaDeserializer;
  throw new ConfigError(`${WHAT}: ${option} must be 'json', 'string', 'raw' or a deserializer such as avroDeserializer({ schema }), got ${show(format)}`);
}

function isSchema(value: unknown): boolean {
  return (typeof value === 'string' && value.length > 0) || (value !== null && typeof value === 'object');
}
