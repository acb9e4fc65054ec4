import { ConfigError, show } from '../runtime/errors.js';
import { DEAD_LETTER_TAG, type DeadLetterPolicy, type ErrorPolicy } from '../runtime/error-policy.js';
import type { NodeId, Port } from '../runtime/graph.js';
import type { JobHandle } from '../runtime/job.js';
import type { JobResult } from '../runtime/job-runner.js';
import type { OperatorSpec } from '../runtime/operator.js';
import type { RunOptions } from '../runtime/run-options.js';
import type { Sink } from '../runtime/sink.js';
import { filterOperator } from '../processors/filter.js';
import { flatMapOperator } from '../processors/flat-map.js';
import { mapOperator } from '../processors/map.js';
import { transformOperator } from '../processors/transform.js';
import type { TransformSpec } from '../processors/transform-spec.js';
import type { Pipeline } from './pipeline.js';
import { KeyedStream, repartitionBy, type KeyByOptions, type KeySelector } from './keyed-stream.js';

/** Options every operator step takes. */
export interface StepOptions {
  /** Step name, unique in the job. Default: the operator kind (`map`, `map-2`…). */
  name?: string;
  /** What to do when the user function throws for a record. Default `'fail'`. */
  onError?: ErrorPolicy;
}

/** Options of `.sink(...)`. */
export interface SinkOptions {
  /** Step name, unique in the job (default: the sink's own name). Keys its transactions. */
  name?: string;
}

function checkFunction(fn: unknown, step: string): void {
  if (typeof fn !== 'function') throw new ConfigError(`${step}: expected a function, got ${show(fn)}`);
}

function checkPolicy(policy: unknown, step: string): ErrorPolicy {
  if (policy === undefined) return 'fail';
  if (policy === 'fail' || policy === 'skip') return policy;
  if (typeof policy === 'object' && policy !== null && (policy as DeadLetterPolicy).kind === 'dead-letter') return policy as DeadLetterPolicy;
  throw new ConfigError(`step "${step}": onError must be 'fail', 'skip' or deadLetter(sink), got ${show(policy)}`);
}

/**
 * A stream of records of type `T` in a pipeline under construction. Every method adds a step and
 * returns the stream after it; `sink` returns the same stream, so one stream can feed several
 * sinks (fan-out).
 */
export class Stream<T> {
  /** @internal */
  readonly pipeline: Pipeline;
  /** @internal */
  readonly port: Port;

  /** @internal */
  constructor(pipeline: Pipeline, port: Port) {
    this.pipeline = pipeline;
    this.port = port;
  }

  /** @internal Add an operator step after this stream. */
  addOperator<O>(kind: string, options: StepOptions, make: (name: string) => OperatorSpec<T, O>): Stream<O> {
    const graph = this.pipeline.graph;
    const name = options.name ?? graph.uniqueName(kind);
    const onError = checkPolicy(options.onError, name);
    const spec = make(name);
    const id = graph.add({ type: 'operator', name, spec: spec as OperatorSpec, input: this.port, onError });
    if (typeof onError === 'object') this.attachDeadLetters(id, onError);
    return new Stream<O>(this.pipeline, { node: id });
  }

  /** @internal Send a step's dead letters to the policy's sink. */
  attachDeadLetters(id: NodeId, policy: DeadLetterPolicy): void {
    const graph = this.pipeline.graph;
    const name = graph.uniqueName(`${graph.node(id).name}.dead-letters`);
    graph.add({ type: 'sink', name, sink: policy.sink as Sink<unknown>, input: { node: id, tag: DEAD_LETTER_TAG } });
  }

  /**
   * Keep records for which `predicate` is true.
   * @example
   * ```ts
   * stream.filter((e) => e.price > 10);
   * ```
   */
  filter(predicate: (record: T) => boolean, options: StepOptions = {}): Stream<T> {
    checkFunction(predicate, 'filter');
    return this.addOperator('filter', options, (name) => filterOperator(name, predicate));
  }

  /**
   * Replace each record with `fn(record)`.
   * @example
   * ```ts
   * stream.map((e) => ({ ...e, eur: e.price * 0.9 }));
   * ```
   */
  map<O>(fn: (record: T) => O, options: StepOptions = {}): Stream<O> {
    checkFunction(fn, 'map');
    return this.addOperator('map', options, (name) => mapOperator(name, fn));
  }

  /**
   * Replace each record with zero or more records.
   * @example
   * ```ts
   * stream.flatMap((order) => order.items);
   * ```
   */
  flatMap<O>(fn: (record: T) => Iterable<O>, options: StepOptions = {}): Stream<O> {
    checkFunction(fn, 'flatMap');
    return this.addOperator('flatMap', options, (name) => flatMapOperator(name, fn));
  }

  /**
   * A declarative transformation (set / rename / remove / copy fields by path, regex extract and
   * match, templates, conditions). The spec is validated now; see the README for the steps.
   * @example
   * ```ts
   * stream.transform([{ set: 'meta.seen', value: '${timestamp:iso}' }, { remove: 'secret' }]);
   * ```
   */
  transform<O = Record<string, unknown>>(spec: TransformSpec, options: StepOptions = {}): Stream<O> {
    return this.addOperator('transform', options, (name) => transformOperator(name, spec) as unknown as OperatorSpec<T, O>);
  }

  /**
   * Partition the stream by key, for windows and keyed state: a function or a field name. In a
   * scaled-out job, a keyBy whose key is not the Kafka message key must repartition
   * (`{ repartition: true }`, see {@link KeyByOptions}).
   * @example
   * ```ts
   * stream.keyBy('user');
   * stream.keyBy('user', { repartition: true });
   * ```
   */
  keyBy<K extends keyof T & string>(field: K, options?: KeyByOptions): KeyedStream<T, T[K]>;
  keyBy<K>(selector: (record: T) => K, options?: KeyByOptions): KeyedStream<T, K>;
  keyBy<K>(selector: KeySelector<T, K> | string, options?: KeyByOptions): KeyedStream<T, K> {
    if (options === undefined) return new KeyedStream<T, K>(this, selector as KeySelector<T, K>);
    return repartitionBy<T, K>(this, selector as KeySelector<T, K>, options);
  }

  /** @internal The stream of another port of the same pipeline. */
  derive<O>(port: Port): Stream<O> {
    return new Stream<O>(this.pipeline, port);
  }

  /**
   * Merge this stream with others of the same type. The merged watermark is the minimum of the
   * inputs'; checkpoint barriers are aligned.
   * @example
   * ```ts
   * a.union(b, c).sink(sinks.console());
   * ```
   */
  union(...others: Stream<T>[]): Stream<T> {
    const graph = this.pipeline.graph;
    for (const other of others) {
      if (!(other instanceof Stream) || other.pipeline !== this.pipeline) {
        throw new ConfigError(`union: every input must be a stream of the same pipeline, got ${show(other)}`);
      }
    }
    if (others.length === 0) return this;
    const id = graph.add({ type: 'union', name: graph.uniqueName('union'), inputs: [this.port, ...others.map((o) => o.port)] });
    return new Stream<T>(this.pipeline, { node: id });
  }

  /**
   * Write the stream into a sink. Returns this same stream: call `.sink` again to fan out.
   * @example
   * ```ts
   * stream.sink(sinks.collect(out)).sink(sinks.console());
   * ```
   */
  sink(sink: Sink<T>, options: SinkOptions = {}): Stream<T> {
    if (sink === null || typeof sink !== 'object' || typeof sink.open !== 'function') {
      throw new ConfigError(`.sink() expects a sink such as sinks.collect(array), got ${show(sink)}`);
    }
    const graph = this.pipeline.graph;
    graph.add({ type: 'sink', name: options.name ?? graph.uniqueName(sink.name), sink: sink as Sink<unknown>, input: this.port });
    return this;
  }

  /** Run the whole pipeline this stream belongs to (same as `pipeline.run`). */
  run(options?: RunOptions): Promise<JobResult> {
    return this.pipeline.run(options);
  }

  /** Start the whole pipeline this stream belongs to (same as `pipeline.start`). */
  start(options?: RunOptions): JobHandle {
    return this.pipeline.start(options);
  }
}
