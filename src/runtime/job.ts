import { deserialize } from 'node:v8';
import { CheckpointCoordinator, type CheckpointEvent } from './checkpoint-coordinator.js';
import type { CheckpointMeta, CheckpointStorage, StateKv } from './checkpoint-storage.js';
import { CheckpointError, ConfigError } from './errors.js';
import type { JobGraph } from './graph.js';
import { jobFlagsHelp, parseJobFlags, type JobFlags } from './job-flags.js';
import { JobRun, type JobResult, type StepStats } from './job-runner.js';
import { JobObserver } from './observability/job-observer.js';
import type { MetricsAddress } from './observability/metrics-server.js';
import { restoreCheckpoint } from './recovery.js';
import { TaskJob } from './task-job.js';
import { resolveRunOptions, runningAsScript, type ResolvedRunOptions, type RunOptions } from './run-options.js';

/** A started job. */
export interface JobHandle {
  /** Resolves when the job ends (end of input or stop); rejects with the first error. */
  readonly done: Promise<JobResult>;
  /**
   * Graceful stop: sources stop reading, everything in flight drains, and with checkpoints on a
   * final savepoint is taken and committed before the job ends. Resolves like `done`. Idempotent.
   */
  stop(): Promise<JobResult>;
  /** Cancel at once; `done` rejects with an AbortedError. */
  abort(reason?: unknown): void;
  /** Live counters per step (empty until the job has started). */
  stats(): Record<string, StepStats>;
  /**
   * Where the metrics server (`/metrics`, `/healthz`, `/readyz`) listens, once it does; resolves
   * to undefined when metrics are off, rejects when the server could not start (the job then
   * fails too). With `metrics: { port: 0 }` this is how to learn the port.
   */
  metricsAddress(): Promise<MetricsAddress | undefined>;
}

/** What the runtime needs from outside the core to run a job (the builder provides it). */
export interface JobEnvironment {
  /** Open the checkpoint storage of a state directory. */
  openCheckpointStorage(stateDir: string): Promise<CheckpointStorage>;
  /** Told about checkpoints (logs, metrics, traces). */
  onCheckpoint?(event: CheckpointEvent): void;
}

/**
 * Start a job from its graph: resolve options and command-line flags, restore the latest complete
 * checkpoint (when checkpoints are on), build the stages, and (for scripts) install signal
 * handlers. `--help` prints the flags and exits.
 */
export function startJob(graph: JobGraph, options: RunOptions, env: JobEnvironment): JobHandle {
  const asScript = runningAsScript();
  const flags = parseJobFlags(options.args ?? (asScript ? process.argv.slice(2) : []));
  if (flags.help) {
    process.stdout.write(jobFlagsHelp(graph.job));
    process.exit(0);
  }
  const merged: RunOptions = {
    ...options,
    batchSize: flags.batchSize ?? options.batchSize,
    stateDir: flags.stateDir ?? options.stateDir,
    checkpointInterval: flags.checkpointInterval ?? options.checkpointInterval,
    fresh: flags.fresh ?? options.fresh,
    scaleOut: flags.scaleOut ?? options.scaleOut,
    from: flags.from ?? options.from,
    stateBackend: (flags.stateBackend as RunOptions['stateBackend']) ?? options.stateBackend,
    logLevel: flags.logLevel ?? options.logLevel,
    metrics: metricsFromFlags(flags, options.metrics),
  };
  const resolved = resolveRunOptions(merged, asScript, graph.job, {
    stderrIsTTY: process.stderr.isTTY === true,
    bounded: graph.nodes.every((n) => n.type !== 'source' || n.source.bounded),
  });
  graph.validate();
  const observer = new JobObserver({
    job: graph.job,
    logLevel: resolved.logLevel,
    logSink: resolved.logger,
    metrics: resolved.metrics,
    progress: resolved.progress,
    traceBatches: resolved.traceBatches,
    now: () => resolved.clock.now(),
    stderr: process.stderr,
  });

  if (resolved.scaleOut) return startTaskJob(graph, resolved, env, observer);

  let run: JobRun | undefined;
  let coordinator: CheckpointCoordinator | undefined;
  let storage: CheckpointStorage | undefined;
  let stopRequested = false;
  let stopping: Promise<JobResult> | undefined;
  const abortBeforeStart = new AbortController();

  const started = (async () => {
    await observer.start();
    const cp = resolved.checkpoints;
    if (cp === undefined) {
      run = buildRun(graph, resolved, new Map(), undefined, undefined);
      observer.attach(run, undefined);
      return;
    }
    storage = await env.openCheckpointStorage(cp.stateDir);
    try {
      const restore = await restoreCheckpoint(storage, graph, cp, observer);
      observer.restored(restore.meta, cp.stateDir);
      const restoredTxns = new Map<string, unknown>();
      for (const node of graph.nodes) if (node.type === 'sink' && restore.states.get(node.name) !== undefined) restoredTxns.set(node.name, restore.states.get(node.name));
      coordinator = new CheckpointCoordinator({
        job: graph.job,
        storage,
        intervalMs: cp.intervalMs,
        keep: cp.keep,
        clock: resolved.clock,
        nextId: restore.nextId,
        restoredTxns,
        onEvent: (event) => {
          observer.onCheckpoint(event);
          env.onCheckpoint?.(event);
        },
        onFailure: (err) => run?.fail(err),
      });
      run = buildRun(graph, resolved, restore.states, coordinator, storage.stateKv?.());
      observer.attach(run, cp);
      coordinator.attach(run);
    } catch (err) {
      await storage.close();
      throw err;
    }
  })();

  const done = started
    .then(async () => {
      if (abortBeforeStart.signal.aborted) run!.abort(abortBeforeStart.signal.reason);
      if (stopRequested) void doStop();
      try {
        const result = await run!.done;
        await coordinator?.settled();
        return { ...result, checkpoints: coordinator?.completed ?? 0 };
      } finally {
        // Release the state directory before `done` settles: a restart may follow at once.
        await coordinator?.settled();
        await storage?.close();
      }
    })
    .then(
      async (result) => {
        await observer.finished({ result });
        return result;
      },
      async (error: unknown) => {
        await observer.finished({ error });
        throw error;
      },
    );

  const doStop = async (): Promise<JobResult> => {
    stopRequested = true;
    if (run === undefined) return done;
    if (coordinator !== undefined) {
      const id = await coordinator.reserveSavepoint();
      await run.stop(id);
    } else {
      await run.stop();
    }
    return done;
  };

  const handle: JobHandle = {
    done,
    stop: () => {
      observer.stopping('stop');
      return (stopping ??= started.then(doStop));
    },
    abort: (reason) => {
      observer.stopping('abort');
      if (run === undefined) abortBeforeStart.abort(reason);
      else run.abort(reason);
    },
    stats: () => run?.stats() ?? {},
    metricsAddress: () => observer.address,
  };
  if (resolved.handleSignals) installSignalHandlers(handle);
  return handle;
}

/** A scaled-out job: one task per source partition ({@link TaskJob}). */
function startTaskJob(graph: JobGraph, resolved: ResolvedRunOptions, env: JobEnvironment, observer: JobObserver): JobHandle {
  const job = new TaskJob(graph, resolved, env, observer);
  const started = observer.start().then(() => job.start());
  const done = started
    .then(() => job.done)
    .then(
      async (result) => {
        await observer.finished({ result });
        return result;
      },
      async (error: unknown) => {
        job.abort(error);
        await observer.finished({ error });
        throw error;
      },
    );
  let stopping: Promise<JobResult> | undefined;
  const handle: JobHandle = {
    done,
    stop: () => {
      observer.stopping('stop');
      return (stopping ??= started.then(() => job.stop()).then(() => done));
    },
    abort: (reason) => {
      observer.stopping('abort');
      job.abort(reason);
    },
    stats: () => job.stats(),
    metricsAddress: () => observer.address,
  };
  if (resolved.handleSignals) installSignalHandlers(handle);
  return handle;
}

function buildRun(
  graph: JobGraph,
  resolved: ResolvedRunOptions,
  restored: Map<string, unknown>,
  coordinator: CheckpointCoordinator | undefined,
  stateKv: StateKv | undefined,
): JobRun {
  return new JobRun(graph, {
    stateBackend: resolved.stateBackend,
    stateKv,
    batchSize: resolved.batchSize,
    bufferBatches: resolved.bufferBatches,
    clock: resolved.clock,
    signal: resolved.signal,
    chaining: resolved.chaining,
    restored,
    checkpoints: coordinator,
  });
}

/** The metrics address from `--metrics-port` / `--metrics-host`, which override the run option. */
function metricsFromFlags(flags: JobFlags, metrics: RunOptions['metrics']): RunOptions['metrics'] {
  if (flags.metricsPort !== undefined) return { port: flags.metricsPort, host: flags.metricsHost ?? metrics?.host };
  if (flags.metricsHost === undefined) return metrics;
  if (metrics === undefined) throw new ConfigError('flag --metrics-host: give --metrics-port too (or the metrics run option)');
  return { ...metrics, host: flags.metricsHost };
}

/** First SIGINT/SIGTERM: graceful stop. Second: exit at once with 130. Removed when done. */
function installSignalHandlers(handle: JobHandle): void {
  let received = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    received++;
    if (received === 1) {
      process.stderr.write(`weir: ${signal} received, stopping gracefully (send again to force)\n`);
      handle.stop().catch(() => undefined);
    } else {
      process.stderr.write(`weir: ${signal} received again, exiting now\n`);
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const remove = (): void => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  handle.done.then(remove, remove);
}
