import { ConfigError, show } from '../runtime/errors.js';
import { fieldGetter } from '../runtime/field-getter.js';
import type { WindowAssigner } from '../windows/window-assigner.js';
import type { OperatorSpec } from '../runtime/operator.js';
import type { Stream } from './stream.js';
import { WindowedStream, type WindowOptions } from './windowed-stream.js';
import type { KeyedProcessFn } from '../processors/keyed-process.js';
import type { IntervalBounds } from '../processors/interval-join.js';
import type { JoinWindow, JoinWindowSpec } from '../processors/join-window.js';
import type { StepOptions } from './stream.js';
import { processKeyed, type KeyedProcessOptions } from './keyed-process.js';
import { intervalJoin, windowJoin } from './joins.js';

/** Picks the key of a record: a function, or a field name. */
export type KeySelector<T, K> = ((record: T) => K) | (keyof T & string);

/** Options of `keyBy(key, options)`. */
export interface KeyByOptions {
  /**
   * In a scaled-out job (`scaleOut`), send the records through a repartition channel keyed by
   * this key (for Kafka the topic `<job>.<step>.repartition`, with as many partitions as the
   * source topic), so each key's state lives in one task. Needed when the key is not the Kafka
   * message key. In one process the step passes records through. Default false.
   */
  repartition?: boolean;
  /** Name of the repartition step (it names the topic). Default `keyBy`, made unique. */
  name?: string;
}

/**
 * `stream.keyBy(key, { repartition: true })`: an identity step marked as an exchange (see
 * {@link KeyByOptions.repartition}), then the keyed stream after it.
 */
export function repartitionBy<T, K>(stream: Stream<T>, selector: KeySelector<T, K>, options: KeyByOptions): KeyedStream<T, K> {
  if (options === null || typeof options !== 'object') throw new ConfigError(`keyBy: options must be an object, got ${show(options)}`);
  if (options.repartition !== undefined && typeof options.repartition !== 'boolean') {
    throw new ConfigError(`keyBy: repartition must be a boolean, got ${show(options.repartition)}`);
  }
  if (options.name !== undefined && (typeof options.name !== 'string' || !/^[A-Za-z0-9._-]+$/.test(options.name))) {
    throw new ConfigError(`keyBy: name must be a step name of letters, digits, '.', '_', '-' (it names the repartition topic), got ${show(options.name)}`);
  }
  if (options.repartition !== true) return new KeyedStream<T, K>(stream, selector);
  const key = compileKeySelector(selector);
  const graph = stream.pipeline.graph;
  const name = options.name ?? graph.uniqueName('keyBy');
  const spec: OperatorSpec<T, T> = {
    name,
    stateless: true,
    create: () => ({ processBatch: (batch, out) => out.emit(batch.records, batch.timestamps) }),
  };
  const id = graph.add({ type: 'operator', name, spec: spec as OperatorSpec, input: stream.port, onError: 'fail', exchange: { key: key as (record: unknown) => unknown } });
  return new KeyedStream<T, K>(stream.derive<T>({ node: id }), selector);
}

/** Turn a key selector into a function. */
export function compileKeySelector<T, K>(selector: KeySelector<T, K>): (record: T) => K {
  if (typeof selector === 'function') return selector;
  if (typeof selector === 'string' && selector.length > 0) return fieldGetter<T, K>(selector);
  throw new ConfigError(`keyBy: expected a function or a field name, got ${show(selector)}`);
}

/**
 * A stream partitioned by key. Keyed steps (windows, `process`) keep state per key. In one
 * process no data moves: the key only scopes state and timers.
 */
export class KeyedStream<T, K> {
  /** @internal */
  readonly stream: Stream<T>;
  /** @internal */
  readonly key: (record: T) => K;
  /** @internal The selector as given (a field name names output rows' key column the same). */
  readonly selector: KeySelector<T, K>;

  /** @internal */
  constructor(stream: Stream<T>, selector: KeySelector<T, K>) {
    this.stream = stream;
    this.selector = selector;
    this.key = compileKeySelector(selector);
  }

  /**
   * Cut the keyed stream into windows; then say what to compute with `.aggregate`, `.reduce` or
   * `.process`. Time windows fire when the watermark reaches `end − 1` (the source needs a
   * `timestamp` option); records later than `allowedLateness` go to `lateOutput`, or are dropped
   * and counted.
   *
   * @example
   * ```ts
   * const late: Bid[] = [];
   * bids
   *   .keyBy('auction')
   *   .window(windows.tumbling(10_000), { allowedLateness: 1000, lateOutput: sinks.collect(late) })
   *   .aggregate({ n: agg.count(), total: agg.sum('price') });
   * ```
   */
  window(assigner: WindowAssigner, options: WindowOptions<T> = {}): WindowedStream<T, K> {
    return new WindowedStream<T, K>(this, assigner, options);
  }

  /**
   * A keyed function with state and timers (Flink's KeyedProcessFunction): `fn(record, ctx)` or
   * `{ processElement, onTimer, open }`. `ctx` gives the key, the record's time, the watermark,
   * `ctx.state.value/list/map(name, { ttlMs })`, `ctx.timers.registerEventTime(t)` and friends,
   * `ctx.emit(record)` and `ctx.side(tag, record)` (tags declared in `sideOutputs`).
   *
   * @example
   * ```ts
   * clicks.keyBy('user').process((click, ctx) => {
   *   const seen = ctx.state.value<boolean>('seen', { ttlMs: 3_600_000 });
   *   if (!seen.get()) { seen.set(true); ctx.emit(click); }   // first click per user and hour
   * });
   * ```
   */
  process<O>(fn: KeyedProcessFn<T, K, O>, options: KeyedProcessOptions = {}): Stream<O> {
    return processKeyed(this, fn, options);
  }

  /**
   * Join with another keyed stream: every pair with the same key and
   * `left.t + lowerMs ≤ right.t ≤ left.t + upperMs`. State is dropped as the watermark passes.
   *
   * @example
   * ```ts
   * orders.keyBy('id').intervalJoin(payments.keyBy('orderId'), { lowerMs: 0, upperMs: 60_000 }, (o, p) => ({ ...o, paidAt: p.t }));
   * ```
   */
  intervalJoin<R, O>(other: KeyedStream<R, K>, bounds: IntervalBounds, fn: (left: T, right: R) => O, options?: StepOptions): Stream<O> {
    return intervalJoin(this, other, bounds, fn, options);
  }

  /**
   * Join with another keyed stream within windows: every pair with the same key in the same
   * window (tumbling or sliding), emitted when the watermark reaches the window's end − 1.
   *
   * @example
   * ```ts
   * persons.keyBy('id').windowJoin(auctions.keyBy('seller'), windows.tumbling(10_000), (p, a, w) => ({ id: p.id, start: w.start }));
   * ```
   */
  windowJoin<R, O>(other: KeyedStream<R, K>, windowSpec: JoinWindowSpec, fn: (left: T, right: R, window: JoinWindow) => O, options?: StepOptions): Stream<O> {
    return windowJoin(this, other, windowSpec, fn, options);
  }
}
