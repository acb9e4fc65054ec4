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
}

/** Run options with defaults applied. */
export interface ResolvedRunOptions {
  readonly batchSize: number;
  readonly bufferBatches: number;
  readonly clock: Clock;
  readonly handleSignals: boolean;
  readonly signal: AbortSignal | undefined;
  readonly chaining: boolean;
}

function positiveInteger(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new ConfigError(`run options: ${field} must be a positive integer, got ${show(value)}`);
  }
  return value;
}

/** Validate run options; messages name the field and what was expected. */
export function resolveRunOptions(options: RunOptions, asScript: boolean): ResolvedRunOptions {
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
