import { systemClock, type Clock } from './clock.js';
import { ConfigError, show } from './errors.js';
import { parseLogLevel, type LogLevel, type LogSink } from './observability/logger.js';

/** Where keyed state lives: the JS heap, or LevelDB with a bounded in-memory cache. */
export type StateBackendName = 'heap' | 'leveldb';

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
  /**
   * Default state backend of keyed `process` steps (a step's own `stateBackend` option wins):
   * `'heap'` (default) or `'leveldb'` (state larger than memory; see README, Checkpoints and recovery).
   */
  stateBackend?: StateBackendName;
  /** Complete checkpoints kept; older ones are pruned. Default 3. */
  keepCheckpoints?: number;
  /** Ignore and delete existing checkpoints: start from the beginning. */
  fresh?: boolean;
  /** Resume from this checkpoint id instead of the latest complete one. */
  from?: number;
  /**
   * Run one task per partition of the job's Kafka source (README, Scaling out): processes started
   * with the same `groupId` and the same `stateDir` share the partitions, and a partition moves
   * between processes with its keyed state, timers and sink transactions
   * (`<stateDir>/tasks/<partition>`). Needs checkpoints. Default false.
   */
  scaleOut?: boolean;
  /**
   * Resume even when the checkpoint holds state for steps this job no longer has (that state is
   * dropped). Default false: such a checkpoint fails the start with a message naming the steps.
   */
  allowNonRestoredState?: boolean;
  /**
   * Serve the job's Prometheus metrics at `/metrics`, and `/healthz` and `/readyz` for probes,
   * over HTTP on `port` (0: any free port, see `JobHandle.metricsAddress()`) and `host` (default
   * `127.0.0.1`; `0.0.0.0` to be scraped from outside, e.g. in a container). Default: off.
   */
  metrics?: { port: number; host?: string };
  /**
   * Least severe log level written. Default: `'info'` when the job runs as a script and stderr
   * is a terminal; `'warn'` for a script whose stderr is not a terminal (a clean run then writes
   * nothing: pass `--log-level info` for start, checkpoint and recovery logs); `'info'` when a
   * `logger` is given; `'silent'` otherwise (tests, jobs embedded in an application: the handle
   * reports results and errors).
   */
  logLevel?: LogLevel;
  /**
   * Receives the job's log entries instead of stderr (which gets JSON lines, or readable text on
   * a terminal).
   */
  logger?: LogSink;
  /**
   * Draw a progress line (records, rate, percent and ETA where the sources know their size) on
   * stderr. Default: true for a bounded job run as a script with stderr a terminal.
   */
  progress?: boolean;
  /**
   * Trace one batch in this many per step as a `weir.batch` span (OpenTelemetry; exported only
   * when the application registered an SDK). Default 0: no batch spans.
   */
  traceBatches?: number;
}

/** What {@link resolveRunOptions} needs to know about where the job runs, for defaults. */
export interface RunEnvironment {
  /** stderr is a terminal. */
  readonly stderrIsTTY: boolean;
  /** Every source of the job is bounded. */
  readonly bounded: boolean;
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
  readonly stateBackend: StateBackendName;
  readonly logLevel: LogLevel;
  readonly logger: LogSink | undefined;
  /** Where the metrics server listens, or undefined when metrics are off. */
  readonly metrics: { readonly host: string; readonly port: number } | undefined;
  readonly progress: boolean;
  readonly traceBatches: number;
  /** One task per source partition, shared with the job's other processes. */
  readonly scaleOut: boolean;
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
export function resolveRunOptions(
  options: RunOptions,
  asScript: boolean,
  job: string,
  where: RunEnvironment = { stderrIsTTY: false, bounded: false },
): ResolvedRunOptions {
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
    stateBackend: resolveStateBackend(options.stateBackend, 'run options: stateBackend'),
    ...resolveObservability(options, asScript, where),
    scaleOut: resolveScaleOut(options),
    checkpoints: resolveCheckpoints(options, job),
  };
}

/**
 * Check a state backend name; `undefined` gives `'heap'`. Throws a {@link ConfigError} naming `what`.
 *
 * @example
 * ```ts
 * resolveStateBackend('leveldb', 'run options: stateBackend'); // 'leveldb'
 * ```
 */
export function resolveStateBackend(value: unknown, what: string): StateBackendName {
  if (value === undefined) return 'heap';
  if (value !== 'heap' && value !== 'leveldb') throw new ConfigError(`${what} must be 'heap' or 'leveldb', got ${show(value)}`);
  return value;
}

function resolveObservability(
  options: RunOptions,
  asScript: boolean,
  where: RunEnvironment,
): Pick<ResolvedRunOptions, 'logLevel' | 'logger' | 'metrics' | 'progress' | 'traceBatches'> {
  const logger = options.logger;
  if (logger !== undefined && typeof logger !== 'function') {
    throw new ConfigError(`run options: logger must be a function (entry) => void, got ${show(logger)}`);
  }
  const defaultLevel: LogLevel = logger !== undefined ? 'info' : !asScript ? 'silent' : where.stderrIsTTY ? 'info' : 'warn';
  const logLevel = options.logLevel === undefined ? defaultLevel : parseLogLevel(options.logLevel, 'run options: logLevel');
  if (options.progress !== undefined && typeof options.progress !== 'boolean') {
    throw new ConfigError(`run options: progress must be true or false, got ${show(options.progress)}`);
  }
  const traceBatches = options.traceBatches ?? 0;
  if (!(Number.isInteger(traceBatches) && traceBatches >= 0)) {
    throw new ConfigError(`run options: traceBatches must be a non-negative integer (0: off), got ${show(traceBatches)}`);
  }
  return {
    logLevel,
    logger,
    metrics: resolveMetrics(options.metrics),
    progress: options.progress ?? (asScript && where.stderrIsTTY && where.bounded),
    traceBatches,
  };
}

function resolveMetrics(metrics: RunOptions['metrics']): ResolvedRunOptions['metrics'] {
  if (metrics === undefined) return undefined;
  if (metrics === null || typeof metrics !== 'object') {
    throw new ConfigError(`run options: metrics must be { port, host? }, got ${show(metrics)}`);
  }
  const { port, host } = metrics;
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) {
    throw new ConfigError(`run options: metrics.port must be an integer from 0 (any free port) to 65535, got ${show(port)}`);
  }
  if (host !== undefined && (typeof host !== 'string' || host.length === 0)) {
    throw new ConfigError(`run options: metrics.host must be a non-empty host name or address, got ${show(host)}`);
  }
  return { port, host: host ?? '127.0.0.1' };
}

function resolveScaleOut(options: RunOptions): boolean {
  const scaleOut = options.scaleOut ?? false;
  if (typeof scaleOut !== 'boolean') throw new ConfigError(`run options: scaleOut must be true or false, got ${show(scaleOut)}`);
  if (scaleOut && options.checkpointInterval === undefined && options.stateDir === undefined) {
    throw new ConfigError('run options: scaleOut needs checkpoints: give stateDir (shared by every process of the job) or checkpointInterval');
  }
  return scaleOut;
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
