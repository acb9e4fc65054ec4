/** Builds one record object from an array of field values. */
export interface RowBuilder {
  /** Number of fields a row must have. */
  readonly width: number;
  /** The record for `fields` (`fields[i]` is column `i`); throws what a converter throws. */
  make(fields: readonly unknown[]): Record<string, unknown>;
}

/** Converts one field's value; `undefined` entries mean "as is". */
export type FieldConverter = ((value: string) => unknown) | undefined;

/**
 * A builder of objects with the given keys, for readers that produce many rows of one shape (CSV).
 *
 * The builder is compiled once per column list into a function returning an object literal, so
 * every row gets the same hidden class (V8 then keeps property access on rows monomorphic) and a
 * row costs one allocation. Column names are embedded as JSON string literals, never as code. A
 * column named `__proto__` (which an object literal would turn into a prototype) falls back to a
 * plain loop with `Object.defineProperty`. Duplicate names: the last column wins.
 *
 * @example
 * ```ts
 * const row = makeRowBuilder(['id', 'price'], [undefined, Number]);
 * row.make(['a', '2.5']); // { id: 'a', price: 2.5 }
 * ```
 */
export function makeRowBuilder(columns: readonly string[], converters: readonly FieldConverter[]): RowBuilder {
  const width = columns.length;
  if (columns.includes('__proto__')) {
    return {
      width,
      make(fields) {
        const row: Record<string, unknown> = {};
        for (let i = 0; i < width; i++) {
          const convert = converters[i];
          const value = convert === undefined ? fields[i] : convert(fields[i] as string);
          Object.defineProperty(row, columns[i], { value, enumerable: true, writable: true, configurable: true });
        }
        return row;
      },
    };
  }
  const props = columns.map((name, i) => `${JSON.stringify(name)}: ${converters[i] === undefined ? `f[${i}]` : `c[${i}](f[${i}])`}`);
  // Compiled once per column list (see above); the names are JSON string literals, never code.
  const compiled = new Function('c', `return function make(f) { return { ${props.join(', ')} }; };`) as (
    c: readonly FieldConverter[],
  ) => (fields: readonly unknown[]) => Record<string, unknown>;
  return { width, make: compiled(converters) };
}

/** Builds row `i` from columns of values (`columns[j][i]` is field `j` of row `i`). */
export type ColumnRowBuilder = (columns: ReadonlyArray<ArrayLike<unknown>>, i: number) => Record<string, unknown>;

/**
 * A builder of row objects from column arrays, for columnar readers (Arrow): compiled once per
 * schema into an object literal like {@link makeRowBuilder}, so rows share one hidden class and
 * cost one allocation each, with no per-row array of fields in between.
 *
 * @example
 * ```ts
 * const row = makeColumnRowBuilder(['id', 'price']);
 * row([['a', 'b'], Float64Array.of(1, 2)], 1); // { id: 'b', price: 2 }
 * ```
 */
export function makeColumnRowBuilder(names: readonly string[]): ColumnRowBuilder {
  if (names.includes('__proto__')) {
    return (columns, i) => {
      const row: Record<string, unknown> = {};
      for (let j = 0; j < names.length; j++) {
        Object.defineProperty(row, names[j], { value: columns[j][i], enumerable: true, writable: true, configurable: true });
      }
      return row;
    };
  }
  const props = names.map((name, j) => `${JSON.stringify(name)}: c[${j}][i]`);
  // Compiled once per schema, as in makeRowBuilder.
  return new Function('c', 'i', `return { ${props.join(', ')} };`) as ColumnRowBuilder;
}
