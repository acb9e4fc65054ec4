import { ConfigError } from './errors.js';
import type { JobGraph } from './graph.js';
import { jobFlagsHelp, parseJobFlags } from './job-flags.js';
import { JobRun, type JobResult, type StepStats } from './job-runner.js';
import { resolveRunOptions, runningAsScript, type RunOptions } from './run-options.js';

/** A started job. */
export interface JobHandle {
  /** Resolves when the job ends (end of input or stop); rejects with the first error. */
  readonly done: Promise<JobResult>;
  /**
   * Graceful stop: sources stop reading, everything in flight drains, sinks flush, and (once
   * checkpoints are on) a final savepoint is taken. Resolves like `done`. Idempotent.
   */
  stop(): Promise<JobResult>;
  /** Cancel at once; `done` rejects with an AbortedError. */
  abort(reason?: unknown): void;
  /** Live counters per step. */
  stats(): Record<string, StepStats>;
}

/**
 * Start a job from its graph: resolve options and command-line flags, build the stages, and
 * (for scripts) install signal handlers. `--help` prints the flags and exits.
 */
export function startJob(graph: JobGraph, options: RunOptions = {}): JobHandle {
  const asScript = runningAsScript();
  const flags = parseJobFlags(options.args ?? (asScript ? process.argv.slice(2) : []));
  if (flags.help) {
    process.stdout.write(jobFlagsHelp(graph.job));
    process.exit(0);
  }
  const resolved = resolveRunOptions({ ...options, batchSize: flags.batchSize ?? options.batchSize }, asScript);
  if (graph.nodes.length === 0) throw new ConfigError(`job "${graph.job}": no source; start with .source(...)`);
  const run = new JobRun(graph, {
    batchSize: resolved.batchSize,
    bufferBatches: resolved.bufferBatches,
    clock: resolved.clock,
    signal: resolved.signal,
    chaining: resolved.chaining,
  });
  let stopping: Promise<JobResult> | undefined;
  const handle: JobHandle = {
    done: run.done,
    stop: () => (stopping ??= run.stop()),
    abort: (reason) => run.abort(reason),
    stats: () => run.stats(),
  };
  if (resolved.handleSignals) installSignalHandlers(handle);
  return handle;
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
