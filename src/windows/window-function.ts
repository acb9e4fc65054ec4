import type { Aggregation } from '../aggregations/aggregation.js';
import { composite } from '../aggregations/composite.js';
import { isAggregation } from '../aggregations/is-aggregation.js';
import { reduce } from '../aggregations/reduce.js';
import { ConfigError, show } from '../runtime/errors.js';
import type { TimeWindow } from './time-window.js';

/**
 * What a window computes: an aggregation folded per record (its accumulator is the window state)
 * and how a fired (key, window) becomes output rows.
 *
 * Invariant: `emit` never mutates `acc` (the window may fire again, early or late).
 */
export interface WindowFunction<T, Acc = any> {
  readonly aggregation: Aggregation<T, Acc, unknown>;
  /** Push the rows of one firing of (key, window) onto `rows`, each with the timestamp `time`. */
  emit(key: unknown, start: number, end: number, acc: Acc, time: number, rows: unknown[], times: number[]): void;
}

/** `.process` function: the key, the window, its records (arrival order; pane order for sliding windows), and where to send rows. */
export type ProcessWindowFunction<T, K, O> = (key: K, window: TimeWindow, records: T[], emit: (row: O) => void) => void;

/**
 * One aggregation gives rows `{ key, start, end, value }`; a record of named aggregations is
 * computed in one pass (`composite`) and gives `{ key, start, end, ...results }`.
 *
 * @throws ConfigError when `spec` is neither an aggregation nor an object of aggregations.
 *
 * @example
 * ```ts
 * const fn = aggregateFunction({ n: agg.count(), total: agg.sum('price') });
 * ```
 */
export function aggregateFunction<T>(spec: unknown, step: string): WindowFunction<T> {
  if (isAggregation(spec)) {
    const aggregation = spec as Aggregation<T, unknown, unknown>;
    taggedRowShape();
    return {
      aggregation,
      emit(key, start, end, acc, time, rows, times) {
        rows.push({ key, start, end, value: aggregation.result(acc) });
        times.push(time);
      },
    };
  }
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new ConfigError(`window "${step}": aggregate() expects an aggregation such as agg.count() or an object of them, got ${show(spec)}`);
  }
  for (const name of ['key', 'start', 'end']) {
    if (Object.hasOwn(spec, name)) {
      throw new ConfigError(`window "${step}": aggregate() cannot name an aggregation "${name}" (rows already have key, start and end)`);
    }
  }
  const names = Object.keys(spec);
  const members = names.map((name) => (spec as Record<string, Aggregation<unknown, unknown, unknown>>)[name]);
  let aggregation: Aggregation<T, unknown[], Record<string, unknown>>;
  try {
    aggregation = composite(spec as Record<string, Aggregation<T, unknown, unknown>>) as Aggregation<T, unknown[], Record<string, unknown>>;
  } catch (err) {
    throw new ConfigError(`window "${step}": ${(err as Error).message}`, { cause: err, step });
  }
  // Rows are built straight from the members' results: composite's accumulator is the array of
  // the members' accumulators in key order (documented), so no intermediate result object.
  const makeRow = rowFactory(names, members);
  return {
    aggregation,
    emit(key, start, end, acc, time, rows, times) {
      rows.push(makeRow(key, start, end, acc as unknown[]));
      times.push(time);
    },
  };
}

/**
 * Make the fields of the row shape `{ key, start, end, value }` tagged, by building one such
 * object with `null` fields (object literals with the same keys in the same order share one
 * shape, hence one field representation).
 *
 * Why: a field V8 has only seen numbers in is stored unboxed, so every row would get its own
 * copy of `start` and `end` (epoch milliseconds are not small integers) in a fresh heap number.
 * A tagged field points at the number passed in, which all rows of a firing share. A sliding
 * window emits about two rows per record: this saved a third of its heap and a fifth of its time.
 */
function taggedRowShape(): void {
  void { key: null, start: null, end: null, value: null };
}

type RowFactory = (key: unknown, start: number, end: number, acc: readonly unknown[]) => Record<string, unknown>;

/**
 * A function building `{ key, start, end, [names[i]]: members[i].result(acc[i]) }`. Every row of a
 * step gets the same hidden class from one object literal (compiled once per step), which keeps
 * row creation and the sinks reading rows fast, and each member's `result` gets its own
 * (monomorphic, inlinable) call site. Names that an object literal cannot hold as plain data
 * (`__proto__`) fall back to assignment.
 */
function rowFactory(names: readonly string[], members: readonly Aggregation<unknown, unknown, unknown>[]): RowFactory {
  if (names.includes('__proto__')) {
    return (key, start, end, acc) => {
      const row: Record<string, unknown> = { key, start, end };
      for (let i = 0; i < names.length; i++) {
        Object.defineProperty(row, names[i], { value: members[i].result(acc[i]), enumerable: true, writable: true, configurable: true });
      }
      return row;
    };
  }
  // Names are embedded as JSON string literals, which are valid (and inert) JavaScript.
  const params = members.map((_, i) => `m${i}`);
  const fields = names.map((name, i) => `${JSON.stringify(name)}: m${i}.result(a[${i}])`).join(', ');
  const empty = names.map((name) => `${JSON.stringify(name)}: null`).join(', ');
  // The first statement makes the row shape's fields tagged (see taggedRowShape).
  return new Function(
    ...params,
    `({ key: null, start: null, end: null, ${empty} });
    return function makeRow(k, s, e, a) { return { key: k, start: s, end: e, ${fields} }; };`,
  )(...members) as RowFactory;
}

/**
 * `.reduce(fn)`: rows `{ key, start, end, value }` where `value` folds the window's records with
 * `fn` (associative: panes and sessions are merged with it).
 *
 * @example
 * ```ts
 * const fn = reduceFunction((a: { price: number }, b) => (b.price > a.price ? b : a), 'max-bid');
 * ```
 */
export function reduceFunction<T>(fn: (a: T, b: T) => T, step: string): WindowFunction<T> {
  if (typeof fn !== 'function') throw new ConfigError(`window "${step}": reduce() expects a function (a, b) => value, got ${show(fn)}`);
  return aggregateFunction(reduce(fn), step);
}

/**
 * The window's records in arrival order, for `.process`. Merging appends, so a sliding window's
 * records come pane after pane.
 */
function recordsAggregation<T>(): Aggregation<T, T[], T[]> {
  return {
    create: () => [],
    add: (acc, record) => {
      acc.push(record);
      return acc;
    },
    merge: (a, b) => {
      for (let i = 0; i < b.length; i++) a.push(b[i]);
      return a;
    },
    result: (acc) => acc.slice(),
  };
}

/**
 * `.process(fn)`: `fn(key, window, records, emit)` sees the full contents of each fired window
 * and emits any number of rows, each with the timestamp `end − 1` of the window.
 *
 * @example
 * ```ts
 * const fn = processFunction((key, w, records, emit) => emit({ key, n: records.length }), 'p');
 * ```
 */
export function processFunction<T, K, O>(fn: ProcessWindowFunction<T, K, O>, step: string): WindowFunction<T> {
  if (typeof fn !== 'function') {
    throw new ConfigError(`window "${step}": process() expects a function (key, window, records, emit) => void, got ${show(fn)}`);
  }
  const aggregation = recordsAggregation<T>();
  return {
    aggregation,
    emit(key, start, end, acc, time, rows, times) {
      fn(key as K, { start, end }, (acc as T[]).slice(), (row: O) => {
        rows.push(row);
        times.push(time);
      });
    },
  };
}
