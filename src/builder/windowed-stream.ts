import type { Aggregation, AggregationResult } from '../aggregations/aggregation.js';
import { ConfigError, show } from '../runtime/errors.js';
import type { ErrorPolicy } from '../runtime/error-policy.js';
import type { Sink } from '../runtime/sink.js';
import { eventTimeTrigger } from '../windows/event-time-trigger.js';
import { LATE_TAG } from '../windows/late-records.js';
import { isTrigger, type Trigger } from '../windows/trigger.js';
import { isEventTimeAssigner, isWindowAssigner, type WindowAssigner } from '../windows/window-assigner.js';
import {
  aggregateFunction,
  processFunction,
  reduceFunction,
  type ProcessWindowFunction,
  type WindowFunction,
} from '../windows/window-function.js';
import { windowOperator } from '../windows/window-operator.js';
import type { KeyedStream } from './keyed-stream.js';
import type { Stream } from './stream.js';

/** Options of `keyed.window(assigner, options)`. */
export interface WindowOptions<T> {
  /** Step name, unique in the job; keys the window state in checkpoints. Default `window`, `window-2`… */
  name?: string;
  /**
   * How long (ms of event time) after a window fired it still takes late records; each such
   * record re-fires the window with the updated result. Default 0. Event-time windows only.
   */
  allowedLateness?: number;
  /**
   * Where records later than the allowed lateness go. Without it they are dropped and counted
   * (`lateDropped` in the step's stats). Event-time windows only.
   */
  lateOutput?: Sink<T>;
  /**
   * When windows emit. Default `triggers.eventTime()`: once the watermark reaches `end − 1`.
   * Required for `windows.global()`; not taken by count windows (they fire by count).
   */
  trigger?: Trigger<T>;
}

/** Options of `.aggregate` / `.reduce` / `.process`. */
export interface WindowStepOptions {
  /** Step name; overrides the name given to `.window(...)`. */
  name?: string;
  /**
   * What to do when the key selector or the aggregation throws for a record (e.g. `agg.sum` on
   * a non-number). Default `'fail'`. Errors of triggers and `.process` functions fail the job.
   */
  onError?: ErrorPolicy;
}

/** The columns every window row starts with. */
export interface WindowRow<K> {
  readonly key: K;
  /** Window start (count and global windows: the smallest event time of its records). */
  readonly start: number;
  /** Window end, exclusive (count and global windows: the largest event time + 1). */
  readonly end: number;
}

/** Rows of `.aggregate(named)`: the window columns plus each aggregation's result under its name. */
export type NamedWindowRow<K, M> = WindowRow<K> & { [N in keyof M]: AggregationResult<M[N]> };

function checkOptions<T>(assigner: WindowAssigner, options: WindowOptions<T>): void {
  if (options === null || typeof options !== 'object') throw new ConfigError(`.window(): options must be an object, got ${show(options)}`);
  const where = typeof options.name === 'string' ? `window "${options.name}"` : `.window(${assigner.kind})`;
  const { allowedLateness, lateOutput, trigger } = options;
  if (allowedLateness !== undefined && !(typeof allowedLateness === 'number' && allowedLateness >= 0 && allowedLateness < Infinity)) {
    throw new ConfigError(`${where}: allowedLateness must be a non-negative number of milliseconds, got ${show(allowedLateness)}`);
  }
  if (lateOutput !== undefined && (lateOutput === null || typeof lateOutput !== 'object' || typeof lateOutput.open !== 'function')) {
    throw new ConfigError(`${where}: lateOutput must be a sink such as sinks.collect(array), got ${show(lateOutput)}`);
  }
  if (trigger !== undefined && !isTrigger(trigger)) {
    throw new ConfigError(`${where}: trigger must be a trigger such as triggers.countEarly(100) (an object with a name and optional hooks), got ${show(trigger)}`);
  }
  if (!isEventTimeAssigner(assigner)) {
    if ((allowedLateness ?? 0) > 0 || lateOutput !== undefined) {
      throw new ConfigError(`${where}: allowedLateness and lateOutput apply to event-time windows (tumbling, sliding, session); ${assigner.kind} windows have no late records`);
    }
  }
  if ((assigner.kind === 'count' || assigner.kind === 'sliding-count') && trigger !== undefined) {
    throw new ConfigError(`${where}: count windows fire by count and take no trigger; use windows.global() with a trigger for custom firing`);
  }
  if (assigner.kind === 'global' && trigger === undefined) {
    throw new ConfigError(`${where}: windows.global() never fires on its own; give a trigger, e.g. { trigger: triggers.count(100) }`);
  }
}

/**
 * A keyed stream cut into windows, waiting for what to compute per (key, window). Made by
 * `keyed.window(assigner, options)`; each method adds the window step and returns its output.
 *
 * Output rows have the timestamp `end − 1` of their window. Keys: primitives are used as they are;
 * objects and arrays are keyed by `JSON.stringify` (so `{ a: 1, b: 2 }` and `{ b: 2, a: 1 }` are
 * different keys), and rows carry the key object of the window's first record.
 *
 * @example
 * ```ts
 * bids.keyBy('auction').window(windows.tumbling(10_000)).aggregate({ n: agg.count(), total: agg.sum('price') });
 * ```
 */
export class WindowedStream<T, K> {
  readonly #keyed: KeyedStream<T, K>;
  readonly #assigner: WindowAssigner;
  readonly #options: WindowOptions<T>;

  /** @internal Use `keyed.window(...)`. */
  constructor(keyed: KeyedStream<T, K>, assigner: WindowAssigner, options: WindowOptions<T> = {}) {
    if (!isWindowAssigner(assigner)) {
      throw new ConfigError(`.window(): expected a window assigner such as windows.tumbling(60_000), got ${show(assigner)}`);
    }
    checkOptions(assigner, options);
    this.#keyed = keyed;
    this.#assigner = assigner;
    this.#options = options;
  }

  /**
   * Aggregate each (key, window). One aggregation gives rows `{ key, start, end, value }`; an
   * object of named aggregations is computed in one pass and gives `{ key, start, end, ...named }`.
   *
   * @example
   * ```ts
   * keyed.window(windows.sliding(10_000, 2_000)).aggregate({ n: agg.count(), total: agg.sum('price') });
   * // rows like { key: 7, start: 0, end: 10_000, n: 12, total: 3400 }
   * ```
   */
  aggregate<A extends Aggregation<T, any, any>>(aggregation: A, options?: WindowStepOptions): Stream<WindowRow<K> & { value: AggregationResult<A> }>;
  aggregate<M extends Record<string, Aggregation<T, any, any>>>(named: M, options?: WindowStepOptions): Stream<NamedWindowRow<K, M>>;
  aggregate(spec: unknown, options: WindowStepOptions = {}): Stream<any> {
    return this.#add(options, (name) => aggregateFunction<T>(spec, name));
  }

  /**
   * Fold each (key, window)'s records with `fn` (it must be associative: panes and sessions are
   * merged with it). Rows `{ key, start, end, value }`.
   *
   * @example
   * ```ts
   * keyed.window(windows.tumbling(60_000)).reduce((a, b) => (b.price > a.price ? b : a));
   * ```
   */
  reduce(fn: (a: T, b: T) => T, options: WindowStepOptions = {}): Stream<WindowRow<K> & { value: T }> {
    return this.#add(options, (name) => reduceFunction(fn, name)) as Stream<WindowRow<K> & { value: T }>;
  }

  /**
   * Call `fn(key, window, records, emit)` with the full contents of each fired window; every
   * emitted row gets the window's timestamp `end − 1`. Keeps every record of open windows in
   * memory: prefer `aggregate` when a fold will do.
   *
   * @example
   * ```ts
   * keyed.window(windows.session(60_000)).process((key, w, records, emit) => emit({ key, pages: records.map((r) => r.page) }));
   * ```
   */
  process<O>(fn: ProcessWindowFunction<T, K, O>, options: WindowStepOptions = {}): Stream<O> {
    return this.#add(options, (name) => processFunction(fn, name)) as Stream<O>;
  }

  #add(options: WindowStepOptions, makeFn: (name: string) => WindowFunction<T>): Stream<unknown> {
    if (options === null || typeof options !== 'object') throw new ConfigError(`window step: options must be an object, got ${show(options)}`);
    const stream = this.#keyed.stream;
    const windowOptions = this.#options;
    const name = options.name ?? windowOptions.name;
    const out = stream.addOperator<unknown>('window', { name, onError: options.onError }, (step) =>
      windowOperator<T>(step, {
        assigner: this.#assigner,
        key: this.#keyed.key,
        fn: makeFn(step),
        trigger: windowOptions.trigger ?? eventTimeTrigger(),
        allowedLatenessMs: windowOptions.allowedLateness ?? 0,
        lateOutput: windowOptions.lateOutput !== undefined,
      }),
    );
    const lateOutput = windowOptions.lateOutput;
    if (lateOutput !== undefined) {
      const graph = stream.pipeline.graph;
      const id = out.port.node;
      graph.add({
        type: 'sink',
        name: graph.uniqueName(`${graph.node(id).name}.late`),
        sink: lateOutput as Sink<unknown>,
        input: { node: id, tag: LATE_TAG },
      });
    }
    return out;
  }
}
