/** A parquetjs-lite schema field (the library ships no types). */
export interface ParquetSchemaField {
  readonly name: string;
  readonly path: readonly string[];
  readonly primitiveType?: string;
  readonly originalType?: string;
  readonly repetitionType: 'REQUIRED' | 'OPTIONAL' | 'REPEATED';
  readonly rLevelMax: number;
  readonly dLevelMax: number;
  readonly isNested?: boolean;
  readonly statistics?: boolean;
  readonly fields?: Readonly<Record<string, ParquetSchemaField>>;
}

/** One column of parquetjs-lite's row buffer (the format its `shredRecord` documents). */
export interface ShreddedColumn {
  dlevels: number[];
  rlevels: number[];
  values: unknown[];
  distinct_values: Set<unknown>;
  count: number;
}

/** Shreds one record into the columns of a row buffer; `columns[i]` is leaf column `i` of {@link RecordShredder.keys}. */
export interface RecordShredder {
  /** Row-buffer keys of the leaf columns, in schema order (parquetjs-lite keys `columnData` by `String(field.path)`). */
  readonly keys: readonly string[];
  shred(record: unknown, columns: readonly ShreddedColumn[]): void;
}

type ToPrimitive = (type: string, value: unknown) => unknown;
type Shred = (record: Record<string, unknown> | null, columns: readonly ShreddedColumn[], rlvl: number, dlvl: number) => void;

/**
 * A Dremel shredder for a parquetjs-lite schema that writes straight into the row buffer's column
 * arrays. It produces exactly what the library's `shredRecord` produces (same levels, values and
 * distinct values, same errors for a missing required field or several values in a non-repeated
 * one), without the per-record scratch objects, `Set`s and copies that make the library's
 * version the bottleneck of writing Parquet (about 20 µs a row). Unlike the library's it is not
 * atomic: a record that throws may leave part of itself in the buffer, so the caller must discard
 * the part (the file sink fails the job on such a record).
 *
 * @example
 * ```ts
 * const shredder = compileShredder(schema.fields, types.toPrimitive);
 * shredder.shred({ id: 1 }, shredder.keys.map((k) => rowBuffer.columnData[k]));
 * ```
 */
export function compileShredder(fields: Readonly<Record<string, ParquetSchemaField>>, toPrimitive: ToPrimitive): RecordShredder {
  const keys: string[] = [];
  const shred = compileFields(fields, keys, toPrimitive);
  return {
    keys,
    shred(record, columns) {
      if (record === null || typeof record !== 'object') throw new Error(`record must be an object, got ${String(record)}`);
      shred(record as Record<string, unknown>, columns, 0, 0);
    },
  };
}

function compileFields(fields: Readonly<Record<string, ParquetSchemaField>>, keys: string[], toPrimitive: ToPrimitive): Shred {
  const parts = Object.keys(fields).map((name) => compileField(name, fields[name], keys, toPrimitive));
  return (record, columns, rlvl, dlvl) => {
    for (let i = 0; i < parts.length; i++) parts[i](record, columns, rlvl, dlvl);
  };
}

function compileField(name: string, field: ParquetSchemaField, keys: string[], toPrimitive: ToPrimitive): Shred {
  const required = field.repetitionType === 'REQUIRED';
  const repeated = field.repetitionType === 'REPEATED';
  const { rLevelMax, dLevelMax } = field;
  let missing: Shred;
  let one: (value: unknown, columns: readonly ShreddedColumn[], rlvl: number) => void;
  if (field.isNested === true && field.fields !== undefined) {
    const inner = compileFields(field.fields, keys, toPrimitive);
    missing = (_record, columns, rlvl, dlvl) => inner(null, columns, rlvl, dlvl);
    one = (value, columns, rlvl) => {
      if (typeof value !== 'object') throw new Error(`invalid value for group ${name}: ${String(value)}`);
      inner(value as Record<string, unknown>, columns, rlvl, dLevelMax);
    };
  } else {
    const index = keys.length;
    keys.push(String(field.path));
    const type = field.originalType ?? field.primitiveType!;
    const statistics = field.statistics !== false;
    missing = (_record, columns, rlvl, dlvl) => {
      const column = columns[index];
      column.rlevels.push(rlvl);
      column.dlevels.push(dlvl);
      column.count += 1;
    };
    one = (value, columns, rlvl) => {
      const column = columns[index];
      if (statistics) column.distinct_values.add(value);
      column.values.push(toPrimitive(type, value));
      column.rlevels.push(rlvl);
      column.dlevels.push(dLevelMax);
      column.count += 1;
    };
  }
  return (record, columns, rlvl, dlvl) => {
    const value = record === null || record === undefined ? undefined : record[name];
    // As the library: an empty array counts as no value, an array in a non-repeated field as its items.
    if (value === undefined || value === null || (Array.isArray(value) && value.constructor === Array && value.length === 0)) {
      if (record !== null && record !== undefined && required) throw new Error(`missing required field: ${name}`);
      missing(record, columns, rlvl, dlvl);
      return;
    }
    if ((value as object).constructor !== Array) {
      one(value, columns, rlvl);
      return;
    }
    const values = value as unknown[];
    if (values.length > 1 && !repeated) throw new Error(`too many values for field: ${name}`);
    for (let i = 0; i < values.length; i++) one(values[i], columns, i === 0 ? rlvl : rLevelMax);
  };
}
