/** The inferred type of a value, independent of any file format. Every shape may also be null. */
export type Shape =
  | { readonly kind: 'null' }
  | { readonly kind: 'number' }
  | { readonly kind: 'bigint' }
  | { readonly kind: 'string' }
  | { readonly kind: 'boolean' }
  | { readonly kind: 'date' }
  | { readonly kind: 'bytes' }
  | { readonly kind: 'list'; readonly items: Shape }
  | { readonly kind: 'struct'; readonly fields: ReadonlyMap<string, Shape> };

/**
 * The shape common to `values` (the records of a batch, or one field's values across it), for
 * schema inference by the Parquet, Avro and Arrow writers. `null`/`undefined` fit every shape
 * (everything is nullable); objects merge field by field (a field missing in some records is
 * null there); arrays merge their items. Numbers are one shape (written as doubles: a JS number is
 * one). Throws a `TypeError` naming the field path when two values do not fit one shape
 * (`a.b is a number in one record and a string in another`).
 *
 * @example
 * ```ts
 * inferShape([{ a: 1, b: null }, { a: 2, b: 'x', c: [true] }]);
 * // struct { a: number, b: string, c: list<boolean> }
 * ```
 */
export function inferShape(values: readonly unknown[], path = 'record'): Shape {
  let shape: Shape = NULL;
  for (const value of values) shape = merge(shape, shapeOf(value, path), path);
  return shape;
}

const NULL: Shape = { kind: 'null' };

function shapeOf(value: unknown, path: string): Shape {
  if (value === null || value === undefined) return NULL;
  switch (typeof value) {
    case 'number':
      return { kind: 'number' };
    case 'bigint':
      return { kind: 'bigint' };
    case 'string':
      return { kind: 'string' };
    case 'boolean':
      return { kind: 'boolean' };
    case 'object':
      if (value instanceof Date) return { kind: 'date' };
      if (value instanceof Uint8Array) return { kind: 'bytes' };
      if (Array.isArray(value)) return { kind: 'list', items: inferShape(value, `${path}[]`) };
      return {
        kind: 'struct',
        fields: new Map(Object.entries(value as Record<string, unknown>).map(([key, v]) => [key, shapeOf(v, `${path}.${key}`)])),
      };
    default:
      throw new TypeError(`${path} is a ${typeof value}, which no file format can hold`);
  }
}

function merge(a: Shape, b: Shape, path: string): Shape {
  if (a.kind === 'null') return b;
  if (b.kind === 'null') return a;
  if (a.kind !== b.kind) throw new TypeError(`${path} is a ${describeKind(a)} in one record and a ${describeKind(b)} in another; give the schema option`);
  if (a.kind === 'list' && b.kind === 'list') return { kind: 'list', items: merge(a.items, b.items, `${path}[]`) };
  if (a.kind === 'struct' && b.kind === 'struct') {
    const fields = new Map(a.fields);
    for (const [key, shape] of b.fields) fields.set(key, merge(fields.get(key) ?? NULL, shape, `${path}.${key}`));
    return { kind: 'struct', fields };
  }
  return a;
}

function describeKind(shape: Shape): string {
  return shape.kind === 'struct' ? 'object' : shape.kind === 'list' ? 'array' : shape.kind;
}
