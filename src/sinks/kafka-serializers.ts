import { createRequire } from 'node:module';
import type * as Avsc from 'avsc';
import { ConfigError, describe, show } from '../runtime/errors.js';

type AvscModule = typeof Avsc;

/**
 * Turns a record (or what `value` selects from it) into the bytes of a Kafka message value, for
 * {@link kafkaSink}. Called once per record on the sink's write path; a throw is a bad record
 * (the write fails with a RecordError naming the step). Returning `null` writes a tombstone.
 *
 * @example
 * ```ts
 * const csv: KafkaSerializer<{ a: number; b: number }> = { name: 'csv', serialize: (r) => `${r.a},${r.b}` };
 * ```
 */
export interface KafkaSerializer<T = unknown> {
  /** Shown in messages. */
  readonly name: string;
  /** Load what encoding needs (a codec library). Called once when the sink opens. Default: nothing. */
  prepare?(): Promise<void>;
  serialize(value: T): Buffer | string | null;
}

/** A serializer by name, or one of your own. */
export type KafkaValueFormat<T = unknown> = 'json' | 'string' | 'raw' | KafkaSerializer<T>;

/** Options of {@link avroSerializer}. */
export interface AvroSerializerOptions {
  /** The Avro schema of the values. */
  readonly schema: object | string;
  /**
   * Write the Confluent wire format (byte 0, this schema id as a 4-byte big-endian integer, then
   * Avro binary), as schema-registry-aware consumers expect. Default: plain Avro binary.
   */
  readonly schemaId?: number;
}

const WHAT = 'sinks.kafka';

/** JSON text (UTF-8). `undefined` is written as `null`. */
export function jsonSerializer(): KafkaSerializer {
  return { name: 'json', serialize: (value) => JSON.stringify(value) ?? 'null' };
}

/** The value's string form (UTF-8); `null` and `undefined` write a tombstone. */
export function stringSerializer(): KafkaSerializer {
  return { name: 'string', serialize: (value) => (value == null ? null : String(value)) };
}

/** A Buffer (or string) as it is; `null` and `undefined` write a tombstone. */
export function rawSerializer(): KafkaSerializer {
  return {
    name: 'raw',
    serialize(value) {
      if (value == null) return null;
      if (Buffer.isBuffer(value) || typeof value === 'string') return value;
      if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      throw new TypeError(`raw values must be Buffers or strings, got ${show(value)}`);
    },
  };
}

/**
 * Avro through avsc (loaded when the sink opens): plain Avro binary, or the Confluent wire format
 * with `schemaId`. A value that does not match the schema is a bad record.
 *
 * @example
 * ```ts
 * const schema = { type: 'record', name: 'Total', fields: [{ name: 'user', type: 'string' }, { name: 'n', type: 'long' }] };
 * sinks.kafka({ brokers, topic: 'totals', value: avroSerializer({ schema, schemaId: 12 }) });
 * ```
 */
export function avroSerializer<T = unknown>(options: AvroSerializerOptions): KafkaSerializer<T> {
  if (options === null || typeof options !== 'object') throw new ConfigError(`${WHAT}: avro options must be an object, got ${show(options)}`);
  const { schema, schemaId } = options;
  if (!((typeof schema === 'string' && schema.length > 0) || (schema !== null && typeof schema === 'object'))) {
    throw new ConfigError(`${WHAT}: avro schema must be an Avro schema (object or string), got ${show(schema)}`);
  }
  if (schemaId !== undefined && !(Number.isInteger(schemaId) && schemaId >= 0 && schemaId <= 0x7fffffff)) {
    throw new ConfigError(`${WHAT}: avro schemaId must be a non-negative 32-bit integer, got ${show(schemaId)}`);
  }
  let type: Avsc.Type | undefined;
  const prefix = schemaId === undefined ? undefined : Buffer.from([0, (schemaId >>> 24) & 0xff, (schemaId >>> 16) & 0xff, (schemaId >>> 8) & 0xff, schemaId & 0xff]);
  return {
    name: 'avro',
    async prepare() {
      const avsc = createRequire(import.meta.url)('avsc') as AvscModule;
      try {
        type = avsc.Type.forSchema((typeof schema === 'string' && schema.trim().startsWith('{') ? JSON.parse(schema) : schema) as Avsc.Schema);
      } catch (err) {
        throw new ConfigError(`${WHAT}: avro schema is not a usable Avro schema: ${describe(err)}`, { cause: err });
      }
    },
    serialize(value) {
      const body = type!.toBuffer(value);
      return prefix === undefined ? body : Buffer.concat([prefix, body]);
    },
  };
}

/** The serializer a format option names. */
export function toSerializer(format: unknown, option: string): KafkaSerializer {
  if (format === 'json') return jsonSerializer();
  if (format === 'string') return stringSerializer();
  if (format === 'raw') return rawSerializer();
  if (format !== null && typeof format === 'object' && typeof (format as KafkaSerializer).serialize === 'function') return format as KafkaSerializer;
  throw new ConfigError(`${WHAT}: ${option} must be 'json', 'string', 'raw' or a serializer such as avroSerializer({ schema }), got ${show(format)}`);
}
