import { systemClock, type Clock } from './clock.js';
import { ConfigError, show } from './errors.js';

/**
 * Options of `.run()` / `.start()`. Every field is optional; command-line flags given to the job
 * script override the matching fields.
 */
export interface RunOptions {
  /** Records a source reads per batch. Default 1024. */
  batchSize?: number;
  /** Batches buffered per edge before the producer is paused (backpressure). Default 4. */
  bufferBatches?: number;
  /** Processing-time clock (tests pass a {@link ManualClock}). Default: the system clock. */
  clock?: Clock;
  /**
   * Command-line arguments to parse for the standard flags. Default: `process.argv.slice(2)` when
   * the job runs as a script (`node job.js`), none otherwise.
   */
  args?: readonly string[];
  /**
   * Stop gracefully on SIGINT/SIGTERM (a second signal forces exit). Default: true when the job
   * runs as a script.
   */
  handleSignals?: boolean;
  /** Cancels the job from outside (like a forced stop). */
  signal?: AbortSignal;
  /**
   * Fuse adjacent stateless operators into one stream stage. Default true; false gives every
   * operator its own stage (for debugging and for comparing results).
   */
  chaining?: boolean;
  /**
   * Take a checkpoint every this many ms; turns checkpoints (and exactly-once sinks, recovery,
   * savepoints on stop) on. Default: off.
   */
  checkpointInterval?: number;
  /** Where checkpoints are kept. Default `./.weir/<job>`. Giving it turns checkpoints on (every 10 s by default). */
  stateDir?: string;
  /** Complete checkpoints kept; older ones are pruned. Default 3. */
  keepCheckpoints?: number;
  /** Ignore and delete existing checkpoints: start from the beginning. */
  fresh?: boolean;
  /** Resume from this checkpoint id instead of the latest complete one. */
  from?: number;
  /**
   * Resume even when the checkpoint holds state for steps this job no longer has (that state is
   * dropped). Default false: such a checkpoint fails the start with a message naming the steps.
   */
  allowNonRestoredState?: boolean;
}

/** Default checkpoint interval when only a state directory is given. */
const DEFAULT_CHECKPOINT_INTERVAL_MS = 10_000;

/** Run options with defaults applied. */
export interface ResolvedRunOptions {
  readonly batchSize: number;
  readonly bufferBatches: number;
  readonly clock: Clock;
  readonly handleSignals: boolean;
  readonly signal: AbortSignal | undefined;
  readonly chaining: boolean;
  /** Checkpointing settings, or undefined when checkpoints are off. */
  readonly checkpoints:
    | {
        readonly stateDir: string;
        readonly intervalMs: number;
        readonly keep: number;
        readonly fresh: boolean;
        readonly from: number | undefined;
        readonly allowNonRestoredState: boolean;
      }
    | undefined;
}

function positiveInteger(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new ConfigError(`run options: ${field} must be a positive integer, got ${show(value)}`);
  }
  return value;
}

/** Validate run options; messages name the field and what was expected. */
export function resolveRunOptions(options: RunOptions, asScript: boolean, job: string): ResolvedRunOptions {
  const clock = options.clock;
  if (clock !== undefined && (typeof clock.now !== 'function' || typeof clock.schedule !== 'function')) {
    throw new ConfigError(`run options: clock must have now() and schedule(atMs, fn), got ${show(clock)}`);
  }
  return {
    batchSize: positiveInteger(options.batchSize, 'batchSize', 1024),
    bufferBatches: positiveInteger(options.bufferBatches, 'bufferBatches', 4),
    clock: clock ?? systemClock,
    handleSignals: options.handleSignals ?? asScript,
    signal: options.signal,
    chaining: options.chaining ?? true,
    checkpoints: resolveCheckpoints(options, job),
  };
}

function resolveCheckpoints(options: RunOptions, job: string): ResolvedRunOptions['checkpoints'] {
  if (options.stateDir !== undefined && (typeof options.stateDir !== 'string' || options.stateDir.length === 0)) {
    throw new ConfigError(`run options: stateDir must be a non-empty path, got ${show(options.stateDir)}`);
  }
  const enabled = options.checkpointInterval !== undefined || options.stateDir !== undefined || options.from !== undefined;
  if (!enabled) {
    if (options.fresh) return undefined;
    return undefined;
  }
  if (options.from !== undefined && options.fresh) throw new ConfigError('run options: fresh and from exclude each other');
  if (options.from !== undefined && !(Number.isInteger(options.from) && options.from > 0)) {
    throw new ConfigError(`run options: from must be a checkpoint id (a positive integer), got ${show(options.from)}`);
  }
  return {
    stateDir: options.stateDir ?? `./.weir/${job}`,
    intervalMs: positiveInteger(options.checkpointInterval, 'checkpointInterval', DEFAULT_CHECKPOINT_INTERVAL_MS),
    keep: positiveInteger(options.keepCheckpoints, 'keepCheckpoints', 3),
    fresh: options.fresh ?? false,
    from: options.from,
    allowNonRestoredState: options.allowNonRestoredState ?? false,
  };
}

/**
 * True when this process is a job script (`node job.js`), not a test runner or a REPL: the main
 * module exists and does not live in node_modules (where test runners' entry points are).
 */
export function runningAsScript(): boolean {
  const main = process.argv[1];
  return main !== undefined && !/[\\/]node_modules[\\/]/.test(main);
}
