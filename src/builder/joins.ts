import { ConfigError, show } from '../runtime/errors.js';
import type { OperatorSpec } from '../runtime/operator.js';
import { checkIntervalBounds, intervalJoinOperator, type IntervalBounds } from '../processors/interval-join.js';
import { tagSide, type JoinEnvelope } from '../processors/join-envelope.js';
import { checkJoinWindows, type JoinWindow, type JoinWindowSpec } from '../processors/join-window.js';
import { mapOperator } from '../processors/map.js';
import { windowJoinOperator } from '../processors/window-join.js';
import { KeyedStream } from './keyed-stream.js';
import { Stream, type StepOptions } from './stream.js';

/**
 * `a.keyBy(...).intervalJoin(b.keyBy(...), { lowerMs, upperMs }, fn)`: for every left record `l`
 * and right record `r` with the same key and `l.t + lowerMs ≤ r.t ≤ l.t + upperMs`, emit
 * `fn(l, r)` with event time max(l.t, r.t), as soon as the second of the two arrives. Records are
 * kept until the watermark makes further matches impossible; late records are dropped and counted.
 * Both streams need event time.
 *
 * The graph: each input is tagged (`<name>.left`, `<name>.right`), the two are merged
 * (`<name>.union`: barriers aligned, minimum watermark), and the join step `<name>` keeps the state.
 * Key selectors run in the join step, under its error policy.
 *
 * @example
 * ```ts
 * const paid = intervalJoin(orders.keyBy('id'), payments.keyBy('orderId'), { lowerMs: 0, upperMs: 3_600_000 },
 *   (order, payment) => ({ id: order.id, amount: payment.amount }), { name: 'order-paid' });
 * ```
 */
export function intervalJoin<L, R, K, O>(
  left: KeyedStream<L, K>,
  right: KeyedStream<R, K>,
  bounds: IntervalBounds,
  fn: (left: L, right: R) => O,
  options: StepOptions = {},
): Stream<O> {
  const checked = checkIntervalBounds(bounds, 'intervalJoin');
  if (typeof fn !== 'function') throw new ConfigError(`intervalJoin: expected a function (left, right) => output, got ${show(fn)}`);
  return joinGraph('intervalJoin', left, right, options, (name) => intervalJoinOperator(name, left.key, right.key, checked, fn));
}

/**
 * `a.keyBy(...).windowJoin(b.keyBy(...), windows, fn)`: for every left and right record with the
 * same key in the same window, emit `fn(left, right, window)` with event time window end − 1,
 * when the watermark reaches window end − 1; the window's state is dropped after it fires.
 * `windows` is tumbling (`{ sizeMs }`) or sliding (`{ sizeMs, slideMs }`), with an optional
 * `offsetMs`. Records too late for every window they belong to are dropped and counted.
 * Graph and error policy as for {@link intervalJoin}.
 *
 * @example
 * ```ts
 * const together = windowJoin(clicks.keyBy('user'), views.keyBy('user'), { sizeMs: 60_000 },
 *   (click, view, w) => ({ user: click.user, minute: w.start }));
 * ```
 */
export function windowJoin<L, R, K, O>(
  left: KeyedStream<L, K>,
  right: KeyedStream<R, K>,
  windows: JoinWindowSpec,
  fn: (left: L, right: R, window: JoinWindow) => O,
  options: StepOptions = {},
): Stream<O> {
  const checked = checkJoinWindows(windows, 'windowJoin');
  if (typeof fn !== 'function') throw new ConfigError(`windowJoin: expected a function (left, right, window) => output, got ${show(fn)}`);
  return joinGraph('windowJoin', left, right, options, (name) => windowJoinOperator(name, left.key, right.key, checked, fn));
}

/** Tag both inputs, merge them with a union, and add the keyed join step after it. */
function joinGraph<L, R, K, O>(
  kind: string,
  left: KeyedStream<L, K>,
  right: KeyedStream<R, K>,
  options: StepOptions,
  make: (name: string) => OperatorSpec<JoinEnvelope, O>,
): Stream<O> {
  if (!(left instanceof KeyedStream) || !(right instanceof KeyedStream)) {
    throw new ConfigError(`${kind}: both inputs must be keyed streams (stream.keyBy(...)), got ${show(left instanceof KeyedStream ? right : left)}`);
  }
  if (options === null || typeof options !== 'object') throw new ConfigError(`${kind}: options must be an object, got ${show(options)}`);
  const pipeline = left.stream.pipeline;
  if (right.stream.pipeline !== pipeline) throw new ConfigError(`${kind}: both inputs must belong to the same pipeline`);
  const graph = pipeline.graph;
  const name = options.name ?? graph.uniqueName(kind);
  for (const step of [name, `${name}.left`, `${name}.right`, `${name}.union`]) {
    // Check every name first, so a clash adds no half-built join to the graph.
    if (graph.uniqueName(step) !== step) throw new ConfigError(`${kind}: step name "${step}" is already used in job "${graph.job}"`);
  }
  const tagged = [left.stream, right.stream].map((input, side) =>
    (input as Stream<unknown>).addOperator(`${name}.${side === 0 ? 'left' : 'right'}`, { name: `${name}.${side === 0 ? 'left' : 'right'}` }, (step) =>
      mapOperator(step, tagSide(side === 0 ? 0 : 1)),
    ),
  );
  const union = graph.add({ type: 'union', name: `${name}.union`, inputs: tagged.map((s) => s.port) });
  return new Stream<JoinEnvelope>(pipeline, { node: union }).addOperator(kind, { name, onError: options.onError }, make);
}
