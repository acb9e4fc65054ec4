import { ConfigError, show } from '../runtime/errors.js';
import type { WindowAssigner } from '../windows/window-assigner.js';
import type { Stream } from './stream.js';
import { WindowedStream, type WindowOptions } from './windowed-stream.js';

/** Picks the key of a record: a function, or a field name. */
export type KeySelector<T, K> = ((record: T) => K) | (keyof T & string);

/** Turn a key selector into a function. */
export function compileKeySelector<T, K>(selector: KeySelector<T, K>): (record: T) => K {
  if (typeof selector === 'function') return selector;
  if (typeof selector === 'string' && selector.length > 0) {
    const field = selector;
    return (record: T) => (record as Record<string, K>)[field];
  }
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
}
