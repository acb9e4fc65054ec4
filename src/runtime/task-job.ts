import { join } from 'node:path';
import { CheckpointCoordinator } from './checkpoint-coordinator.js';
import type { CheckpointStorage } from './checkpoint-storage.js';
import { AbortedError, ConfigError, StateDirInUseError } from './errors.js';
import { JobGraph, type GraphNode, type NewNode, type OperatorNode, type SourceNode } from './graph.js';
import type { JobEnvironment } from './job.js';
import { JobRun, type JobResult, type StepStats } from './job-runner.js';
import type { JobObserver, ObservedRun } from './observability/job-observer.js';
import { restoreCheckpoint } from './recovery.js';
import type { ResolvedRunOptions } from './run-options.js';
import type { Sink } from './sink.js';
import type { StepCounters } from './step-counters.js';
import { isTaskSource, type TaskGroup, type TaskSource } from './task-source.js';

/** How often a task whose state directory another process still holds tries again. */
const LOCK_RETRY_MS = 200;

/** One task this process holds: a copy of the job's dataflow over one source partition. */
interface Task {
  readonly id: string;
  /** Aborted when the task is given up (or the job stops) before or while it opens. */
  readonly cancel: AbortController;
  run: JobRun | undefined;
  coordinator: CheckpointCoordinator | undefined;
  /** Its run finished and its state directory is released. Never rejects. */
  ended: Promise<void>;
  stopping: boolean;
  /** Its input ended (a bounded source), as opposed to being stopped. */
  finished: boolean;
}

/**
 * A scaled-out job (`scaleOut`, DESIGN.md Scaling out): this process joins the source's group
 * and runs one {@link JobRun} per task (source partition) it is assigned, each with its own
 * checkpoint storage in `<stateDir>/tasks/<task>`, its own coordinator and its own sink writers
 * (named `<step>-p<task>`). The processes of a job share `stateDir`, so a partition moves between
 * them with everything its output depends on:
 *
 * - a task given up in a rebalance takes a savepoint (its output so far committed, its position,
 *   keyed state and timers stored), then releases its state directory;
 * - the process receiving it opens that directory, waiting while the previous owner still holds
 *   its LevelDB lock (the lock is what keeps two processes from running one task), and resumes from
 *   the latest complete checkpoint exactly like a restarted job: re-committing that checkpoint's
 *   sink transactions (idempotent), restoring state and seeking the partition to the checkpointed
 *   offset. A process killed outright released its locks by dying, so a survivor resumes its tasks
 *   from their last completed checkpoints: nothing lost, nothing repeated.
 *
 * Keyed state is thus partitioned by source partition: records with the same key must arrive on
 * the same partition (Kafka's default partitioner keys them so), unless a repartitioning `keyBy`
 * (an operator node with `exchange`) comes first: in each task it becomes a sink writing to the
 * group's repartition channel ({@link TaskGroup.exchange}) and a source, at the same node id,
 * reading this task's share of it; both are checkpointed with the task. Event time is per task.
 */
export class TaskJob {
  readonly done: Promise<JobResult>;
  readonly #graph: JobGraph;
  readonly #source: TaskSource<unknown>;
  readonly #sourceName: string;
  readonly #sourceTime: SourceNode['time'];
  /** Repartitioning steps (`keyBy(key, { repartition: true })`) and the name of each one's writing sink step. */
  readonly #exchanges: Array<{ node: OperatorNode; sinkName: string }>;
  readonly #resolved: ResolvedRunOptions;
  readonly #cp: NonNullable<ResolvedRunOptions['checkpoints']>;
  readonly #env: JobEnvironment;
  readonly #observer: JobObserver;
  readonly #tasks = new Map<string, Task>();
  /** Tasks given up and still stopping. */
  readonly #leaving = new Set<Promise<void>>();
  /** Counters of task runs that ended, summed per step. */
  readonly #past = new Map<string, StepStats>();
  readonly #abort = new AbortController();
  readonly #started = Date.now();
  #group: TaskGroup<unknown> | undefined;
  #checkpoints = 0;
  #stopping: Promise<JobResult> | undefined;
  #failure: unknown;
  #settled = false;
  #resolve!: (result: JobResult) => void;
  #reject!: (err: unknown) => void;

  constructor(graph: JobGraph, resolved: ResolvedRunOptions, env: JobEnvironment, observer: JobObserver) {
    const sources = graph.nodes.filter((n) => n.type === 'source');
    const source = sources[0]?.source;
    if (sources.length !== 1 || source === undefined || !isTaskSource(source)) {
      throw new ConfigError(
        `job "${graph.job}": scaleOut needs a job with exactly one source, a partitioned one (sources.kafka with a groupId); ` +
          `this job's sources are ${sources.map((s) => `"${s.name}"`).join(', ')}`,
      );
    }
    const cp = resolved.checkpoints;
    if (cp === undefined) throw new ConfigError(`job "${graph.job}": scaleOut needs checkpoints: give stateDir, shared by every process of the job`);
    if (cp.fresh || cp.from !== undefined) {
      throw new ConfigError(
        `job "${graph.job}": fresh and from do not apply to a scaled-out job (its tasks' checkpoints are shared with its other processes); ` +
          `to start over, stop every process of the job and remove ${cp.stateDir}`,
      );
    }
    const exchanges = graph.nodes.filter((n): n is OperatorNode => n.type === 'operator' && n.exchange !== undefined);
    if (exchanges.length > 0 && source.bounded) {
      throw new ConfigError(
        `job "${graph.job}": a bounded scaled-out job cannot repartition (step ${exchanges.map((n) => `"${n.name}"`).join(', ')}): ` +
          `a task cannot tell when the other tasks finished writing to it; run it unbounded, or without scaleOut`,
      );
    }
    this.#graph = graph;
    this.#source = source;
    this.#sourceName = sources[0].name;
    this.#sourceTime = sources[0].time;
    this.#exchanges = exchanges.map((node) => ({ node, sinkName: graph.uniqueName(`${node.name}.write`) }));
    this.#resolved = resolved;
    this.#cp = cp;
    this.#env = env;
    this.#observer = observer;
    this.done = new Promise<JobResult>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // Observed here so a failure before anyone awaits `done` is not an unhandled rejection.
    this.done.catch(() => undefined);
    const external = resolved.signal;
    external?.addEventListener('abort', () => this.abort(external.reason), { once: true });
  }

  /** Join the group; tasks start as partitions are assigned. */
  async start(): Promise<void> {
    const clock = this.#resolved.clock;
    this.#group = await this.#source.joinTasks({
      job: this.#graph.job,
      name: this.#sourceName,
      signal: this.#abort.signal,
      now: () => clock.now(),
      clock,
      assigned: (tasks) => this.#assigned(tasks),
      exchanges: this.#exchanges.map((e) => e.node.name),
    });
    if (this.#exchanges.length > 0 && this.#group.exchange === undefined) {
      await this.#group.close();
      throw new ConfigError(`job "${this.#graph.job}": source "${this.#sourceName}" cannot repartition (step "${this.#exchanges[0].node.name}"); use sources.kafka`);
    }
    this.#observer.attach(this.#observed(), { stateDir: this.#cp.stateDir, intervalMs: this.#cp.intervalMs });
    if (this.#abort.signal.aborted || this.#stopping !== undefined) await this.#group.close();
  }

  /** Graceful stop: every task takes a savepoint and stops, then the process leaves the group. */
  stop(): Promise<JobResult> {
    return (this.#stopping ??= this.#stopAll());
  }

  /** Cancel at once: every task aborts; `done` rejects. */
  abort(reason?: unknown): void {
    this.#fail(new AbortedError('job aborted', { cause: reason }));
  }

  /** Live counters per step, summed over the tasks this process ran. */
  stats(): Record<string, StepStats> {
    const out = new Map(this.#past);
    for (const task of this.#tasks.values()) if (task.run !== undefined) addStats(out, task.run.stats());
    return Object.fromEntries(out);
  }

  /** Tasks this process holds now. */
  get tasks(): string[] {
    return [...this.#tasks.keys()];
  }

  /** The live tasks together, for metrics, readiness and progress (counters keyed per task). */
  #observed(): ObservedRun {
    const runs = (): JobRun[] => [...this.#tasks.values()].flatMap((t) => (t.run === undefined ? [] : [t.run]));
    return {
      get counters() {
        const out = new Map<string, StepCounters>();
        runs().forEach((run, i) => {
          for (const [step, c] of run.counters) out.set(`${step}\u0000${i}`, c);
        });
        return out;
      },
      get sources() {
        return runs().flatMap((run) => run.sources);
      },
      get sinks() {
        return runs().flatMap((run) => run.sinks);
      },
    };
  }

  #assigned(ids: readonly string[]): void {
    if (this.#stopping !== undefined || this.#settled) return;
    const held = new Set(ids);
    for (const id of [...this.#tasks.keys()]) if (!held.has(id)) this.#release(id);
    for (const id of ids) if (!this.#tasks.has(id)) this.#open(id);
    this.#observer.log.info('tasks.assigned', `holding tasks ${ids.join(', ') || '(none)'}`, { tasks: [...ids] });
  }

  #open(id: string): void {
    const task: Task = { id, cancel: new AbortController(), run: undefined, coordinator: undefined, ended: Promise.resolve(), stopping: false, finished: false };
    this.#tasks.set(id, task);
    task.ended = this.#runTask(task).catch((err: unknown) => this.#fail(err));
  }

  /** A task went to another process: savepoint, stop, release its state directory. */
  #release(id: string): void {
    const task = this.#tasks.get(id)!;
    this.#tasks.delete(id);
    this.#observer.log.info('task.released', `task ${id} was assigned to another process: taking a savepoint and handing it over`, { task: id });
    const leaving = this.#stopTask(task)
      .then(() => task.ended)
      .catch((err: unknown) => this.#fail(err));
    this.#leaving.add(leaving);
    void leaving.finally(() => this.#leaving.delete(leaving));
  }

  async #stopTask(task: Task): Promise<void> {
    task.cancel.abort();
    const { run, coordinator } = task;
    if (run === undefined || coordinator === undefined || task.stopping) return;
    task.stopping = true;
    const id = await coordinator.reserveSavepoint();
    await run.stop(id).catch(() => undefined);
  }

  async #runTask(task: Task): Promise<void> {
    const dir = join(this.#cp.stateDir, 'tasks', task.id);
    const storage = await this.#openStorage(dir, task);
    if (storage === undefined) return;
    let coordinator: CheckpointCoordinator | undefined;
    try {
      const graph = this.#taskGraph(task.id);
      const restore = await restoreCheckpoint(storage, graph, { ...this.#cp, stateDir: dir }, this.#observer);
      if (task.cancel.signal.aborted) return;
      this.#observer.restored(restore.meta, dir);
      const restoredTxns = new Map<string, unknown>();
      for (const node of graph.nodes) if (node.type === 'sink' && restore.states.get(node.name) !== undefined) restoredTxns.set(node.name, restore.states.get(node.name));
      let run: JobRun | undefined;
      coordinator = new CheckpointCoordinator({
        job: this.#graph.job,
        storage,
        intervalMs: this.#cp.intervalMs,
        keep: this.#cp.keep,
        clock: this.#resolved.clock,
        nextId: restore.nextId,
        restoredTxns,
        onEvent: (event) => {
          this.#observer.onCheckpoint(event);
          this.#env.onCheckpoint?.(event);
        },
        onFailure: (err) => run?.fail(err),
      });
      run = new JobRun(graph, {
        stateBackend: this.#resolved.stateBackend,
        stateKv: storage.stateKv?.(),
        batchSize: this.#resolved.batchSize,
        bufferBatches: this.#resolved.bufferBatches,
        clock: this.#resolved.clock,
        signal: this.#abort.signal,
        chaining: this.#resolved.chaining,
        restored: restore.states,
        checkpoints: coordinator,
      });
      task.run = run;
      task.coordinator = coordinator;
      const every = this.#resolved.traceBatches;
      if (every > 0) for (const counters of run.counters.values()) counters.traceEvery = every;
      coordinator.attach(run);
      this.#observer.log.info('task.started', `task ${task.id} started${restore.meta === undefined ? '' : ` from checkpoint ${restore.meta.id}`}`, {
        task: task.id,
        checkpoint: restore.meta?.id,
      });
      // Given up while it was opening: hand it over at once.
      if (task.cancel.signal.aborted) void this.#stopTask(task);
      const result = await run.done;
      await coordinator.settled();
      task.finished = !result.stopped;
      this.#checkpoints += coordinator.completed;
      addStats(this.#past, result.steps);
      task.run = undefined;
    } finally {
      await coordinator?.settled();
      await storage.close();
    }
    if (task.finished) this.#checkFinished();
  }

  /** Open a task's checkpoint storage, waiting while another process still holds it. */
  async #openStorage(dir: string, task: Task): Promise<CheckpointStorage | undefined> {
    let waiting = false;
    for (;;) {
      if (task.cancel.signal.aborted || this.#abort.signal.aborted) return undefined;
      try {
        return await this.#env.openCheckpointStorage(dir);
      } catch (err) {
        if (!(err instanceof StateDirInUseError)) throw err;
      }
      if (!waiting) {
        waiting = true;
        this.#observer.log.info('task.waiting', `task ${task.id}: its state is still held by its previous process; waiting for the handover`, { task: task.id, stateDir: dir });
      }
      await new Promise((resolve) => setTimeout(resolve, LOCK_RETRY_MS));
    }
  }

  /**
   * The job's graph for one task: its partition of the source, and sinks named after it. A
   * repartitioning step becomes a source at the same node id (its consumers keep their input)
   * reading this task's share of the channel, and a sink, fed by the step's input, writing to it.
   */
  #taskGraph(task: string): JobGraph {
    const graph = new JobGraph(this.#graph.job);
    const group = this.#group!;
    const writes: NewNode[] = [];
    for (const node of this.#graph.nodes) {
      const exchange = node.type === 'operator' ? this.#exchanges.find((e) => e.node === node) : undefined;
      if (exchange === undefined) {
        graph.add(taskNode(node, task, group));
        continue;
      }
      const channel = group.exchange!(exchange.node.name, task, exchange.node.exchange!.key);
      // Event time comes with the records (their timestamps); the watermark follows the source's strategy.
      graph.add({ type: 'source', name: exchange.node.name, time: { watermark: this.#sourceTime.watermark }, source: channel.source });
      writes.push({ type: 'sink', name: exchange.sinkName, input: exchange.node.input, sink: channel.sink });
    }
    for (const node of writes) graph.add(node);
    return graph;
  }

  /** A bounded job ends when every task it holds has read its input. */
  #checkFinished(): void {
    if (!this.#source.bounded || this.#stopping !== undefined || this.#tasks.size === 0) return;
    for (const task of this.#tasks.values()) if (!task.finished) return;
    this.#stopping = this.#stopAll(false);
  }

  async #stopAll(stopped = true): Promise<JobResult> {
    const tasks = [...this.#tasks.values()];
    this.#tasks.clear();
    try {
      await Promise.all([...tasks.map((t) => this.#stopTask(t).then(() => t.ended)), ...this.#leaving]);
      await this.#group?.close();
    } catch (err) {
      this.#fail(err);
    }
    if (this.#failure !== undefined) throw this.#failure;
    const result: JobResult = {
      job: this.#graph.job,
      durationMs: Date.now() - this.#started,
      stopped,
      checkpoints: this.#checkpoints,
      steps: Object.fromEntries(this.#past),
    };
    this.#settled = true;
    this.#resolve(result);
    return result;
  }

  #fail(err: unknown): void {
    if (this.#failure !== undefined || this.#settled) return;
    this.#failure = err;
    this.#settled = true;
    this.#abort.abort(err);
    const ended = [...this.#tasks.values()].map((t) => {
      t.cancel.abort();
      t.run?.abort(err);
      return t.ended;
    });
    void Promise.allSettled([...ended, ...this.#leaving])
      .then(() => this.#group?.close())
      .catch(() => undefined)
      .finally(() => this.#reject(err));
  }
}

function taskNode(node: GraphNode, task: string, group: TaskGroup<unknown>): NewNode {
  switch (node.type) {
    case 'source':
      return { type: 'source', name: node.name, time: node.time, source: group.task(task) };
    case 'sink':
      return { type: 'sink', name: node.name, input: node.input, sink: taskSink(node.sink, task) };
    case 'operator':
      return { type: 'operator', name: node.name, spec: node.spec, input: node.input, onError: node.onError };
    case 'union':
      return { type: 'union', name: node.name, inputs: node.inputs };
  }
}

/** A sink whose writers carry the task, and a name of their own (`<step>-p<task>`). */
function taskSink<T>(sink: Sink<T>, task: string): Sink<T> {
  return { name: sink.name, open: (ctx) => sink.open({ ...ctx, name: `${ctx.name}-p${task}`, task }) };
}

function addStats(into: Map<string, StepStats>, steps: Readonly<Record<string, StepStats>>): void {
  for (const [step, s] of Object.entries(steps)) {
    const had = into.get(step);
    into.set(
      step,
      had === undefined
        ? s
        : {
            kind: s.kind,
            recordsIn: had.recordsIn + s.recordsIn,
            recordsOut: had.recordsOut + s.recordsOut,
            skipped: had.skipped + s.skipped,
            deadLettered: had.deadLettered + s.deadLettered,
            lateDropped: had.lateDropped + s.lateDropped,
            watermark: Math.min(had.watermark, s.watermark),
          },
    );
  }
}
