/**
 * An aggregation folds values into an accumulator; `merge` makes sessions and panes work.
 *
 * Semantics every implementation keeps:
 * - `add` is called once per record, in arrival order, and returns the accumulator to keep (the same
 *   object mutated in place, or a new primitive). Callers must always use the returned value.
 * - `merge(a, b)` combines two accumulators as if every record of `a` had arrived before every record
 *   of `b`. It may mutate and return `a`; it never mutates `b`, and the result shares no mutable part
 *   with `b`, so `b` may be changed or dropped afterwards.
 * - `result` may be called any number of times (early firings) and more records may be added after
 *   it; it never changes what a later `result` returns. Returned arrays and objects are fresh.
 * - Accumulators are plain data (numbers, plain objects, arrays, Maps, Sets, typed arrays): they
 *   survive `v8.serialize` / `v8.deserialize`, because checkpoints store them that way.
 *
 * @typeParam T - the record type `add` receives.
 * @typeParam Acc - the accumulator type.
 * @typeParam R - the result type.
 *
 * @example
 * ```ts
 * const longest: Aggregation<string, number, number> = {
 *   create: () => 0,
 *   add: (acc, word) => Math.max(acc, word.length),
 *   merge: (a, b) => Math.max(a, b),
 *   result: (acc) => acc,
 * };
 * ```
 */
export interface Aggregation<T, Acc, R> {
  /** A fresh, empty accumulator. */
  create(): Acc;
  /** Fold one record in; returns the accumulator to keep (possibly `acc` itself, mutated). */
  add(acc: Acc, value: T): Acc;
  /** Combine `a` (earlier records) with `b` (later records); may mutate and return `a`, never mutates `b`. */
  merge(a: Acc, b: Acc): Acc;
  /** The value the accumulator stands for; never changes the outcome of later calls. */
  result(acc: Acc): R;
}

/**
 * The record type an aggregation reads.
 *
 * @example
 * ```ts
 * type In = AggregationInput<Aggregation<{ ms: number }, number, number>>; // { ms: number }
 * ```
 */
export type AggregationInput<A> = A extends Aggregation<infer T, any, any> ? T : never;

/**
 * The result type of an aggregation.
 *
 * @example
 * ```ts
 * type Out = AggregationResult<Aggregation<{ ms: number }, number, number>>; // number
 * ```
 */
export type AggregationResult<A> = A extends Aggregation<any, any, infer R> ? R : never;
