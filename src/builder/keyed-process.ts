import { DEAD_LETTER_TAG } from '../runtime/error-policy.js';
import { ConfigError, show } from '../runtime/errors.js';
import { resolveStateBackend, type StateBackendName } from '../runtime/run-options.js';
import type { Sink } from '../runtime/sink.js';
import { keyedProcessOperator, toKeyedProcessFunction, type KeyedProcessFn } from '../processors/keyed-process.js';
import type { KeyedStream } from './keyed-stream.js';
import type { StepOptions, Stream } from './stream.js';

/** Options of `keyBy(...).process(fn, options)`. */
export interface KeyedProcessOptions extends StepOptions {
  /**
   * Side outputs the function may write with `ctx.side(tag, record)`, each to its sink. The sink
   * steps are named `<step>.<tag>`. Tags are checked here; a tag used but not declared fails the
   * job at its first use.
   */
  sideOutputs?: Readonly<Record<string, Sink<unknown>>>;
  /**
   * Where the step's keyed state lives: `'heap'` (in memory, copied into every checkpoint) or
   * `'leveldb'` (in the checkpoint database, with a bounded cache; for state larger than memory;
   * no TTLs; resumes only from the latest checkpoint). Default: the run's `stateBackend`, `'heap'`.
   */
  stateBackend?: StateBackendName;
  /** With `stateBackend: 'leveldb'`: clean entries kept in memory (least recently used evicted). Default 100 000. */
  cacheEntries?: number;
}

/**
 * `keyBy(...).process(fn, options)`: run a keyed process function with keyed state
 * (value / list / map, with optional TTL), event-time and processing-time timers, and side
 * outputs. `fn` is `processElement` alone or an object with `processElement`, `onTimer`, `open`.
 * Returns the stream of what `ctx.emit` sends. Throws a {@link ConfigError} at build time for a
 * bad function, option or side-output declaration.
 *
 * @example
 * ```ts
 * // Alert when a user has no event for 30 s of event time.
 * const alerts = processKeyed<Click, string, string>(clicks.keyBy('user'), {
 *   processElement(e, ctx) {
 *     const deadline = ctx.state.value<number>('deadline');
 *     const prev = deadline.get();
 *     if (prev !== undefined) ctx.timers.deleteEventTime(prev);
 *     deadline.set(ctx.timestamp + 30_000);
 *     ctx.timers.registerEventTime(ctx.timestamp + 30_000);
 *   },
 *   onTimer(t, ctx) {
 *     ctx.state.value<number>('deadline').clear();
 *     ctx.emit(`${String(ctx.key)} idle since ${t - 30_000}`);
 *   },
 * }, { name: 'idle-users' });
 * ```
 */
export function processKeyed<T, K, O>(keyed: KeyedStream<T, K>, fn: KeyedProcessFn<T, K, O>, options: KeyedProcessOptions = {}): Stream<O> {
  if (options === null || typeof options !== 'object') throw new ConfigError(`process: options must be an object, got ${show(options)}`);
  const what = options.name === undefined ? 'process' : `process "${options.name}"`;
  const fnObject = toKeyedProcessFunction(fn, what);
  const sides = checkSideOutputs(options.sideOutputs, what);
  const stateBackend = options.stateBackend === undefined ? undefined : resolveStateBackend(options.stateBackend, `${what}: stateBackend`);
  const cacheEntries = options.cacheEntries;
  if (cacheEntries !== undefined && !(Number.isInteger(cacheEntries) && cacheEntries > 0)) {
    throw new ConfigError(`${what}: cacheEntries must be a positive integer, got ${show(cacheEntries)}`);
  }
  const stream = keyed.stream;
  const out = stream.addOperator<O>('process', { name: options.name, onError: options.onError }, (name) =>
    keyedProcessOperator(name, keyed.key, fnObject, sides.map(([tag]) => tag), { stateBackend, cacheEntries }),
  );
  const graph = stream.pipeline.graph;
  const node = out.port.node;
  const step = graph.node(node).name;
  for (const [tag, sink] of sides) {
    graph.add({ type: 'sink', name: graph.uniqueName(`${step}.${tag}`), sink, input: { node, tag } });
  }
  return out;
}

function checkSideOutputs(sideOutputs: KeyedProcessOptions['sideOutputs'], what: string): Array<[string, Sink<unknown>]> {
  if (sideOutputs === undefined) return [];
  if (sideOutputs === null || typeof sideOutputs !== 'object' || Array.isArray(sideOutputs)) {
    throw new ConfigError(`${what}: sideOutputs must be an object of tag → sink, got ${show(sideOutputs)}`);
  }
  const entries = Object.entries(sideOutputs);
  for (const [tag, sink] of entries) {
    if (tag.length === 0 || tag === DEAD_LETTER_TAG) {
      throw new ConfigError(`${what}: sideOutputs tag ${show(tag)} is reserved or empty; pick another name`);
    }
    if (sink === null || typeof sink !== 'object' || typeof (sink as Sink<unknown>).open !== 'function') {
      throw new ConfigError(`${what}: sideOutputs.${tag} must be a sink such as sinks.collect(array), got ${show(sink)}`);
    }
  }
  return entries;
}
