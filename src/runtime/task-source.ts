import type { Clock } from './clock.js';
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
}

/** A process's membership in the group. */
export interface TaskGroup<T> {
  /**
   * The source of one held task. Its reader resumes at the task's restored position (the
   * checkpoint is authoritative), else where the group's committed offsets say.
   */
  task(id: string): Source<T>;
  /** Leave the group; called once, after every task of this process stopped. */
  close(): Promise<void>;
}

/** True when `source` can run as tasks. */
export function isTaskSource<T>(source: Source<T>): source is TaskSource<T> {
  return typeof (source as Partial<TaskSource<T>>).joinTasks === 'function';
}
