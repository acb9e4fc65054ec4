import type { CheckpointEvent } from '../checkpoint-coordinator.js';
import type { CheckpointMeta } from '../checkpoint-storage.js';
import type { JobResult } from '../job-runner.js';
import type { SourceProgress } from '../source.js';
import { CheckpointSpans } from './checkpoint-spans.js';
import { jsonLinesSink, textSink, type LogStream } from './log-sinks.js';
import { Logger, errorFields, type LogLevel, type LogSink } from './logger.js';
import type { JobMetrics, MetricsSubject } from './metrics-registry.js';
import type { MetricsAddress, MetricsServer } from './metrics-server.js';
import { ProgressLine, type ProgressReading, type ProgressStream } from './progress.js';

/** Observability settings of one job, already validated (see `RunOptions`). */
export interface ObserverOptions {
  readonly job: string;
  readonly logLevel: LogLevel;
  /** Custom log sink; default: stderr. */
  readonly logSink: LogSink | undefined;
  /** Where the metrics server listens, or undefined for none. */
  readonly metrics: { readonly host: string; readonly port: number } | undefined;
  /** Draw a progress line on stderr. */
  readonly progress: boolean;
  /** Trace one batch in this many per step (0: none). */
  readonly traceBatches: number;
  /** Processing time in ms (the job's clock). */
  readonly now: () => number;
  /** Where logs and the progress line go when no sink is given. */
  readonly stderr: LogStream & ProgressStream & { readonly isTTY?: boolean };
}

/**
 * Everything a job reports about itself, in one place so the runtime calls it at a handful of
 * moments (start, attach, checkpoint events, stop, end): logs, the metrics server with
 * `/metrics`, `/healthz` and `/readyz`, checkpoint traces, sampled batch traces and the progress
 * line. Nothing here runs per record; per batch only the counters (and sampled spans) do.
 */
export class JobObserver {
  readonly log: Logger;
  readonly #options: ObserverOptions;
  #metrics: JobMetrics | undefined;
  readonly #spans: CheckpointSpans;
  #progress: ProgressLine | undefined;
  #server: MetricsServer | undefined;
  #address: Promise<MetricsAddress | undefined> = Promise.resolve(undefined);
  #run: ObservedRun | undefined;
  #stopping = false;
  #ended = false;
  #checkpointsOn = false;

  constructor(options: ObserverOptions) {
    this.#options = options;
    const stderr = options.stderr;
    const sink = options.logSink ?? (stderr.isTTY === true ? textSink(stderr, () => this.#progress?.clear()) : jsonLinesSink(stderr));
    this.log = new Logger(options.job, options.logLevel, sink);
    this.#spans = new CheckpointSpans(options.job, (step) => this.#kindOf(step));
  }

  /**
   * Start the metrics server when asked. Resolves once it listens (its address is then in
   * {@link address}); rejects when it cannot, which fails the job's start.
   */
  start(): Promise<void> {
    const where = this.#options.metrics;
    if (where === undefined) return Promise.resolve();
    const listening = this.#listen(where);
    // Set at once, so `metricsAddress()` right after the start already waits for this server.
    this.#address = listening.then((server) => server.address);
    this.#address.catch(() => undefined);
    return listening.then(async (server) => {
      this.#server = server;
      if (this.#ended) await server.close();
    });
  }

  async #listen(where: { readonly host: string; readonly port: number }): Promise<MetricsServer> {
    // prom-client takes ~100 ms to load: only jobs that serve metrics pay for it.
    const [{ JobMetrics }, { MetricsServer }] = await Promise.all([import('./metrics-registry.js'), import('./metrics-server.js')]);
    const metrics = new JobMetrics(this.#options.job, { now: this.#options.now, ready: () => this.ready() });
    this.#metrics = metrics;
    return MetricsServer.start(where, {
      metrics: () => metrics.registry.metrics(),
      contentType: metrics.registry.contentType,
      ready: () => this.ready(),
    });
  }

  /** The metrics server's address once it listens; undefined when metrics are off. */
  get address(): Promise<MetricsAddress | undefined> {
    return this.#address;
  }

  /** The job's stages exist: read their counters, set batch sampling, start the progress line. */
  attach(run: ObservedRun, checkpoints: { readonly stateDir: string; readonly intervalMs: number } | undefined): void {
    this.#run = run;
    this.#checkpointsOn = checkpoints !== undefined;
    this.#metrics?.attach(run);
    const every = this.#options.traceBatches;
    if (every > 0) for (const counters of run.counters.values()) counters.traceEvery = every;
    if (this.#options.progress && !this.#ended) {
      this.#progress = new ProgressLine({ job: this.#options.job, stream: this.#options.stderr, read: () => progressOf(run) });
      this.#progress.start();
    }
    this.log.info('job.started', 'job started', {
      sources: run.sources.map((s) => s.name),
      sinks: run.sinks.map((s) => s.name),
      checkpoints: checkpoints === undefined ? 'off' : { stateDir: checkpoints.stateDir, intervalMs: checkpoints.intervalMs },
      metrics: this.#server?.address.url,
    });
  }

  /** Recovery found `meta` to resume from (undefined: a fresh start). */
  restored(meta: CheckpointMeta | undefined, stateDir: string): void {
    if (meta === undefined) {
      this.log.debug('job.fresh', 'no checkpoint to resume from: starting from the beginning', { stateDir });
      return;
    }
    this.log.info('job.restored', `resuming from checkpoint ${meta.id}`, {
      checkpoint: meta.id,
      savepoint: meta.savepoint,
      final: meta.final,
      createdAt: new Date(meta.createdAt).toISOString(),
      stateDir,
    });
  }

  /** A checkpoint read at recovery was unusable; the previous one is tried. */
  checkpointSkipped(err: unknown): void {
    this.log.warn('checkpoint.skipped', 'checkpoint unusable, falling back to the previous one', errorFields(err));
  }

  onCheckpoint(event: CheckpointEvent): void {
    this.#metrics?.onCheckpoint(event);
    this.#spans.onEvent(event);
    switch (event.type) {
      case 'triggered':
        this.log.debug('checkpoint.triggered', `checkpoint ${event.id} triggered`, { checkpoint: event.id, kind: event.kind });
        return;
      case 'completed': {
        const meta = event.meta;
        const kind = meta.final ? 'final' : meta.savepoint ? 'savepoint' : 'periodic';
        this.log.info('checkpoint.completed', `checkpoint ${meta.id} completed`, {
          checkpoint: meta.id,
          kind,
          bytes: meta.bytes,
          durationMs: meta.durationMs,
          commitMs: event.commitMs,
        });
        return;
      }
      case 'failed':
        this.log.error('checkpoint.failed', `checkpoint ${event.id} failed`, { checkpoint: event.id, ...errorFields(event.error) });
        return;
      default:
        return;
    }
  }

  /** A graceful stop (or an abort) began: from now on the job is not ready. */
  stopping(how: 'stop' | 'abort'): void {
    if (this.#stopping || this.#ended) return;
    this.#stopping = true;
    if (how === 'stop') {
      this.log.info('job.stopping', this.#checkpointsOn ? 'stopping: draining and taking a savepoint' : 'stopping: draining');
    }
  }

  /**
   * True once every source and sink is open while the job runs and no stop has begun: what
   * `/readyz` answers.
   */
  ready(): boolean {
    const run = this.#run;
    if (run === undefined || this.#stopping || this.#ended) return false;
    return run.sources.every((s) => s.opened) && run.sinks.every((s) => s.writer !== undefined);
  }

  /** The job ended: log the outcome, close the metrics server, end open spans, clear the progress line. */
  async finished(outcome: { readonly result: JobResult } | { readonly error: unknown }): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    this.#progress?.stop();
    this.#spans.close();
    if ('result' in outcome) {
      const r = outcome.result;
      this.log.info('job.finished', r.stopped ? 'job stopped' : 'job finished', {
        durationMs: r.durationMs,
        stopped: r.stopped,
        checkpoints: r.checkpoints,
        recordsIn: sum([...new Set(this.#run?.sources.map((s) => s.name))].map((name) => r.steps[name]?.recordsIn ?? 0)),
        recordsOut: sum([...new Set(this.#run?.sinks.map((s) => s.name))].map((name) => r.steps[name]?.recordsIn ?? 0)),
      });
    } else {
      const fields = errorFields(outcome.error);
      if (fields.code === 'WEIR_ABORTED') this.log.warn('job.aborted', 'job aborted', fields);
      else this.log.error('job.failed', `job failed: ${String(fields.error)}`, fields);
    }
    await this.#server?.close();
  }

  #kindOf(step: string): string | undefined {
    return this.#run?.counters.get(step)?.kind;
  }
}

/**
 * What the observer reads from a running job: a {@link JobRun}, or the tasks of a scaled-out job
 * together (their counters keyed per task, each naming its step).
 */
export interface ObservedRun extends MetricsSubject {
  readonly sources: ReadonlyArray<{ readonly name: string; readonly opened: boolean; progress(): SourceProgress | undefined }>;
  readonly sinks: ReadonlyArray<{ readonly name: string; readonly writer: unknown }>;
}

function sum(values: number[] | undefined): number {
  let total = 0;
  for (const v of values ?? []) total += v;
  return total;
}

/** Records read so far, and percent when every source knows its total in one unit. */
function progressOf(run: ObservedRun): ProgressReading {
  let records = 0;
  for (const c of run.counters.values()) if (c.kind === 'source') records += c.recordsIn;
  let done = 0;
  let total = 0;
  let unit: 'records' | 'bytes' | undefined;
  let known = run.sources.length > 0;
  for (const source of run.sources) {
    const p = source.progress();
    if (p?.total === undefined || (unit !== undefined && p.unit !== unit)) {
      known = false;
      continue;
    }
    unit = p.unit;
    done += p.done;
    total += p.total;
  }
  return known ? { records, done, total, unit } : { records };
}
