import { ConfigError, show } from '../runtime/errors.js';
import type { ErrorPolicy } from '../runtime/error-policy.js';
import { JobGraph } from '../runtime/graph.js';
import { startJob, type JobHandle } from '../runtime/job.js';
import type { JobResult } from '../runtime/job-runner.js';
import type { RunOptions } from '../runtime/run-options.js';
import type { Source } from '../runtime/source.js';
import type { WatermarkStrategy } from '../runtime/watermark-strategy.js';
import { boundedOutOfOrderness } from '../runtime/watermark-strategy.js';
import { LevelCheckpointStorage } from '../state/leveldb-checkpoint-storage.js';
import { Stream } from './stream.js';

/** Options of `.source(...)`. */
export interface SourceOptions<T> {
  /** Step name, unique in the job (default: the source's own name). Keys its checkpointed position. */
  name?: string;
  /** Event time of a record in ms: an extractor or the name of a numeric field. */
  timestamp?: ((record: T) => number) | (keyof T & string);
  /**
   * How watermarks follow event time. Default with `timestamp`: `boundedOutOfOrderness(0)`;
   * without a timestamp: none (only end of input, for bounded sources). Given without
   * `timestamp`, it follows the event times the connector supplies (e.g. Kafka record time).
   */
  watermark?: WatermarkStrategy;
  /** What to do with a record whose timestamp cannot be extracted. Default `'fail'`. */
  onError?: ErrorPolicy;
}

/**
 * A job under construction. Add sources, chain operators on the streams they return, end
 * branches in sinks, then `run()` (or `start()` for a handle).
 *
 * @example
 * ```ts
 * const out: number[] = [];
 * await pipeline('double').source(sources.array([1, 2, 3])).map((n) => n * 2).sink(sinks.collect(out)).run();
 * ```
 */
export class Pipeline {
  /** @internal */
  readonly graph: JobGraph;

  constructor(job: string) {
    this.graph = new JobGraph(job);
  }

  /** Add a source; returns its stream. */
  source<T>(source: Source<T>, options: SourceOptions<T> = {}): Stream<T> {
    if (source === null || typeof source !== 'object' || typeof source.open !== 'function') {
      throw new ConfigError(`job "${this.graph.job}": .source() expects a source such as sources.array([...]), got ${show(source)}`);
    }
    const name = options.name ?? this.graph.uniqueName(source.name);
    const watermark = options.watermark ?? (options.timestamp === undefined ? undefined : boundedOutOfOrderness(0));
    const id = this.graph.add({
      type: 'source',
      name,
      source: source as Source<unknown>,
      time: {
        timestamp: options.timestamp as ((record: unknown) => number) | string | undefined,
        watermark,
        onError: options.onError,
      },
    });
    const stream = new Stream<T>(this, { node: id });
    if (options.onError !== undefined && typeof options.onError === 'object') {
      stream.attachDeadLetters(id, options.onError);
    }
    return stream;
  }

  /** Run to completion: resolves when a bounded job has processed all input (or was stopped). */
  run(options?: RunOptions): Promise<JobResult> {
    return this.start(options).done;
  }

  /** Start and return a handle with `stop()`, `done` and live counters. */
  start(options?: RunOptions): JobHandle {
    return startJob(this.graph, options ?? {}, { openCheckpointStorage: (dir) => LevelCheckpointStorage.open(dir) });
  }
}

/**
 * Begin a job named `job`. The name keys the job's state directory and metrics.
 *
 * @example
 * ```ts
 * const p = pipeline('clicks');
 * ```
 */
export function pipeline(job: string): Pipeline {
  if (typeof job !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(job)) {
    throw new ConfigError(`pipeline: job name must be letters, digits, '.', '_' or '-' (it names a directory), got ${show(job)}`);
  }
  return new Pipeline(job);
}
