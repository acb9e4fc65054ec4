import type { Clock } from './clock.js';
import type { Sink } from './sink.js';
import type { Source } from './source.js';

/**
 * A source whose input divides into numbered tasks that the processes of a job share and hand
 * over to each other (DESIGN.md, Scaling out): the partitions of a Kafka consumer group, task
 * `"<n>"` being partition n of every subscribed topic. With `scaleOut` the runtime joins the
 * group once per process and runs one copy of the job's dataflow per task the process holds,
 * each with its own keyed state, timers, checkpoints and sink transactions.
 */
export interface TaskSource<T> extends Source<T> {
  /** Join the group of processes. Assignments arrive through `ctx.assigned`. */
  joinTasks(ctx: TaskGroupContext): Promise<TaskGroup<T>>;
}

/** What the runtime hands a {@link TaskSource} when it joins the group. */
export interface TaskGroupContext {
  readonly job: string;
  /** The source step's name. */
  readonly name: string;
  /** Aborted when the job fails or is cancelled. */
  readonly signal: AbortSignal;
  now(): number;
  readonly clock?: Clock;
  /**
   * This process now holds exactly `tasks` (called on every assignment, also when nothing
   * changed). Tasks missing from the list were given to another process: stop them.
   */
  assigned(tasks: readonly string[]): void;
  /**
   * Steps of the job that repartition (`keyBy(key, { repartition: true })`): the group must
   * provide a channel for each ({@link TaskGroup.exchange}) and fail the join with a
   * ConfigError when it cannot (for Kafka: the repartition topic is missing or has another
   * partition count than the source).
   */
  readonly exchanges?: readonly string[];
}

/**
 * The two ends of a repartition channel for one task: `sink` writes the task's records, each to
 * the task that owns its key; `source` reads what every task wrote for this task. Exactly-once:
 * the sink's pre-committed state and the source's position are checkpointed with the task, and a
 * task that replays after a failure sends records the source recognises and drops.
 */
export interface ExchangeChannel {
  readonly source: Source<unknown>;
  readonly sink: Sink<unknown>;
}

/** A process's membership in the group. */
export interface TaskGroup<T> {
  /**
   * The source of one held task. Its reader resumes at the task's restored position (the
   * checkpoint is authoritative), else where the group's committed offsets say.
   */
  task(id: string): Source<T>;
  /**
   * The repartition channel of exchange step `step` for task `task`, partitioned by `key`.
   * Absent: the group cannot repartition (a job with such a step then fails to start).
   */
  exchange?(step: string, task: string, key: (record: unknown) => unknown): ExchangeChannel;
  /** Leave the group; called once, after every task of this process stopped. */
  close(): Promise<void>;
}

/** True when `source` can run as tasks. */
export function isTaskSource<T>(source: Source<T>): source is TaskSource<T> {
  return typeof (source as Partial<TaskSource<T>>).joinTasks === 'function';
}
