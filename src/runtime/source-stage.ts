import { Readable } from 'node:stream';
import { END, MAX_WATERMARK, barrier as makeBarrier, batch as makeBatch, type StreamElement } from './elements.js';
import { ConfigError, UserFunctionError, WeirError, describe } from './errors.js';
import type { Source, SourceChunk, SourceReader } from './source.js';
import type { RunContext } from './stage-context.js';
import type { StepCounters } from './step-counters.js';
import type { WatermarkStrategy } from './watermark-strategy.js';
import { asStepError, toDeadLetter, type ErrorPolicy } from './error-policy.js';
import type { OutChannel } from './out-channel.js';
import { fieldGetter } from './field-getter.js';

/** How a source stage assigns event time. */
export interface SourceTimeOptions<T> {
  /** Event-time extractor: a function or a field name. Absent: connector timestamps, else none. */
  readonly timestamp?: ((record: T) => number) | string;
  /** Watermark strategy. Default with a timestamp: boundedOutOfOrderness(0). */
  readonly watermark?: WatermarkStrategy;
  /** What to do with a record whose timestamp cannot be extracted. Default `'fail'`. */
  readonly onError?: ErrorPolicy;
}

interface SplitState {
  maxTimestamp: number;
  lastActive: number;
}

/**
 * What a source stage stores in a checkpoint: the reader's position plus the watermark state, so
 * a restored job neither re-emits old watermarks nor treats replayed records as late.
 */
export interface SourceSnapshot {
  readonly position: unknown;
  readonly splits: Array<[string, number]>;
  readonly watermark: number;
}

/** After a chunk: read on, wait for `_read`, or give the event loop a turn first. */
type Next = 'more' | 'pause' | 'yield';

/** Longest stretch of synchronous reading before the source yields to the event loop. */
const YIELD_EVERY_MS = 10;

/** The one-split key used when a source does not name splits. */
const DEFAULT_SPLIT = '';

/**
 * Pulls batches from a source reader and pushes them as stream elements, at the pace the
 * downstream takes them (Node backpressure: we only read when `_read` asks). Assigns event
 * time, tracks watermarks per split (minimum over active splits), and injects checkpoint
 * barriers at batch boundaries, recording the reader's position at that exact point.
 */
export class SourceStage<T> extends Readable {
  readonly name: string;
  readonly #source: Source<T>;
  readonly #run: RunContext;
  readonly #time: SourceTimeOptions<T>;
  readonly #extract: ((record: T) => number) | undefined;
  readonly #counters: StepCounters;
  readonly #batchSize: number;
  readonly #restored: unknown;
  readonly #stop = new AbortController();
  readonly #deadLetters: OutChannel | undefined;
  #reader: SourceReader<T> | undefined;
  #pumping = false;
  #finished = false;
  #closed = false;
  #splits = new Map<string, SplitState>();
  #emittedWatermark = Number.NEGATIVE_INFINITY;
  #pendingBarriers: Array<{ id: number; savepoint: boolean; final: boolean }> = [];
  /** End of input was emitted; waiting for the final checkpoint's barrier before closing. */
  #ended = false;
  #stopRequested = false;
  #savepointId: number | undefined;
  #lastYield = performance.now();
  /** Largest timestamp of the chunk `#stamp` handled last. */
  #batchMax = Number.NEGATIVE_INFINITY;

  constructor(
    name: string,
    source: Source<T>,
    time: SourceTimeOptions<T>,
    run: RunContext,
    options: { batchSize: number; restored: unknown; deadLetters?: OutChannel },
  ) {
    super({ objectMode: true, highWaterMark: run.bufferBatches });
    this.name = name;
    this.#source = source;
    this.#run = run;
    this.#time = time;
    this.#extract = compileExtractor(name, time.timestamp);
    this.#counters = run.counters(name, 'source');
    this.#batchSize = options.batchSize;
    const restored = options.restored as SourceSnapshot | undefined;
    this.#restored = restored?.position;
    if (restored !== undefined) {
      for (const [split, maxTimestamp] of restored.splits) this.#splits.set(split, { maxTimestamp, lastActive: run.now() });
      this.#emittedWatermark = restored.watermark;
    }
    this.#deadLetters = options.deadLetters;
    run.signal.addEventListener('abort', () => this.#stop.abort(run.signal.reason), { once: true });
  }

  /** True once the reader is open (the source is connected). */
  get opened(): boolean {
    return this.#reader !== undefined;
  }

  /** The reader's progress, when it knows it. */
  progress(): ReturnType<NonNullable<SourceReader<T>['progress']>> | undefined {
    return this.#reader?.progress?.();
  }

  override _construct(cb: (err?: Error | null) => void): void {
    const ctx = {
      job: this.#run.job,
      name: this.name,
      signal: this.#stop.signal,
      restored: this.#restored,
      now: () => this.#run.now(),
      clock: this.#run.clock,
    };
    let opened: SourceReader<T> | Promise<SourceReader<T>>;
    try {
      opened = this.#source.open(ctx);
    } catch (err) {
      cb(asStepError(this.name, err));
      return;
    }
    Promise.resolve(opened).then(
      (reader) => {
        this.#reader = reader;
        cb();
      },
      (err: unknown) => cb(asStepError(this.name, err)),
    );
  }

  /**
   * Ask for a barrier at the next batch boundary. After a `final` barrier (taken once every source
   * reached end of input) the source closes.
   */
  injectBarrier(checkpointId: number, savepoint = false, final = false): void {
    if (this.#finished) return;
    this.#pendingBarriers.push({ id: checkpointId, savepoint, final });
    if (!this.#pumping && this.readableLength < this.readableHighWaterMark) this._read();
  }

  /**
   * Graceful stop: stop reading, emit the savepoint barrier if one is given, then end the stream
   * without end-of-input (windows in flight are kept for the savepoint, not fired).
   */
  stop(savepointId?: number): void {
    if (this.#stopRequested || this.#finished) return;
    this.#stopRequested = true;
    this.#savepointId = savepointId;
    this.#stop.abort(new WeirError('WEIR_STOPPED', 'user', false, 'source stopped'));
    if (!this.#pumping) this._read();
  }

  override _read(): void {
    this.#counters.stopWaiting();
    if (this.#pumping || this.#finished || this.#reader === undefined) return;
    this.#pumping = true;
    try {
      this.#pump();
    } catch (err) {
      this.#pumping = false;
      this.destroy(asStepError(this.name, err));
    }
  }

  /** Read and push until the buffer is full, the input ends, or a read has to wait for I/O. */
  #pump(): void {
    const reader = this.#reader!;
    for (;;) {
      if (this.#flushControl()) return;
      let result: SourceChunk<T> | null | Promise<SourceChunk<T> | null>;
      result = reader.read(this.#batchSize);
      if (result !== null && typeof (result as Promise<unknown>).then === 'function') {
        (result as Promise<SourceChunk<T> | null>).then(
          (chunk) => {
            if (this.destroyed) return;
            try {
              this.#continue(this.#accept(chunk));
            } catch (err) {
              this.#pumping = false;
              this.destroy(asStepError(this.name, err));
            }
          },
          (err: unknown) => {
            this.#pumping = false;
            if (this.#stopRequested) {
              this._read();
              return;
            }
            this.destroy(asStepError(this.name, err));
          },
        );
        return;
      }
      const next = this.#accept(result as SourceChunk<T> | null);
      if (next !== 'more') {
        this.#continue(next);
        return;
      }
    }
  }

  #continue(next: Next): void {
    if (next === 'more') {
      this.#pump();
    } else if (next === 'yield') {
      // Nothing to read right now: give the event loop a turn, then poll again.
      setImmediate(() => {
        this.#pumping = false;
        if (!this.destroyed && (this.readableLength < this.readableHighWaterMark || this.#stopRequested || this.#pendingBarriers.length > 0)) {
          this._read();
        } else if (!this.destroyed && !this.#finished) {
          // Full: wait for downstream's _read (backpressure).
          this.#counters.startWaiting();
        }
      });
    } else {
      this.#pumping = false;
      // Paused on a full buffer: the wait until downstream asks for more is backpressure.
      if (!this.#finished) this.#counters.startWaiting();
    }
  }

  /** Push pending barriers and handle a stop. Returns true when pumping must end. */
  #flushControl(): boolean {
    while (this.#pendingBarriers.length > 0) {
      const { id, savepoint, final } = this.#pendingBarriers.shift()!;
      this.#acknowledge(id);
      this.#emit(makeBarrier(id, savepoint));
      if (final && this.#ended) {
        this.#finished = true;
        this.#pumping = false;
        this.#endOutputs();
        return true;
      }
    }
    if (this.#stopRequested) {
      this.#finished = true;
      this.#pumping = false;
      if (this.#savepointId !== undefined) {
        this.#acknowledge(this.#savepointId);
        this.#emit(makeBarrier(this.#savepointId, true));
      }
      this.#endOutputs();
      return true;
    }
    if (this.#ended) {
      this.#pumping = false;
      return true;
    }
    return false;
  }

  #acknowledge(checkpointId: number): void {
    const snapshot: SourceSnapshot = {
      position: this.#reader!.position(),
      splits: [...this.#splits].map(([split, s]) => [split, s.maxTimestamp]),
      watermark: this.#emittedWatermark,
    };
    const ack = this.#run.checkpoints.acknowledge(this.name, checkpointId, snapshot);
    if (ack !== undefined) ack.catch((err: unknown) => this.destroy(err as Error));
  }

  /** Push one chunk's batch and watermark; say whether to read more, pause, or yield a turn. */
  #accept(chunk: SourceChunk<T> | null): Next {
    if (chunk === null) {
      this.#counters.watermark = MAX_WATERMARK;
      this.#emit(END);
      if (this.#run.checkpoints.holdsEnd) {
        // Stay open until the final checkpoint's barrier: what operators emit at end of input
        // is then covered by a checkpoint and committed exactly once.
        this.#ended = true;
        this.#run.checkpoints.sourceEnded(this.name);
        return 'more';
      }
      this.#finished = true;
      this.#endOutputs();
      return 'pause';
    }
    const records = chunk.records;
    const n = records.length;
    const now = this.#run.now();
    const split = chunk.split ?? DEFAULT_SPLIT;
    let state = this.#splits.get(split);
    if (state === undefined) {
      state = { maxTimestamp: Number.NEGATIVE_INFINITY, lastActive: now };
      this.#splits.set(split, state);
    }
    let full = false;
    const bad = chunk.deadLetters;
    if (bad !== undefined && bad.length > 0) {
      this.#counters.deadLettered += bad.length;
      this.#deadLetters?.send(makeBatch(bad.slice(), new Array<number>(bad.length).fill(Number.NaN), this.name));
    }
    if (n > 0) {
      state.lastActive = now;
      const { records: kept, timestamps } = this.#stamp(records, chunk.timestamps);
      if (this.#batchMax > state.maxTimestamp) state.maxTimestamp = this.#batchMax;
      this.#counters.recordsOut += kept.length;
      this.#counters.recordsIn += n;
      this.#counters.batchesIn++;
      if (kept.length > 0) full = !this.push(makeBatch(kept, timestamps, this.name));
    }
    const wm = this.#currentWatermark(now);
    if (wm > this.#emittedWatermark) {
      this.#emittedWatermark = wm;
      this.#counters.watermark = wm;
      full = !this.push({ kind: 'watermark', time: wm }) || full;
    }
    // Control (barriers, stop) goes out at the next boundary even when the buffer is full.
    if (this.#pendingBarriers.length > 0 || this.#stopRequested) return 'more';
    if (n === 0) return 'yield';
    // A fast synchronous source and synchronous stages would otherwise run entirely on
    // process.nextTick and starve timers, I/O and signal handlers: give the loop a turn now and then.
    const t = performance.now();
    if (t - this.#lastYield > YIELD_EVERY_MS) {
      this.#lastYield = t;
      return 'yield';
    }
    return full ? 'pause' : 'more';
  }

  /**
   * Event timestamps for a chunk, and their maximum in `#batchMax` (one pass: this loop runs for
   * every record read). Records whose extractor throws follow the error policy.
   */
  #stamp(records: T[], given: number[] | undefined): { records: T[]; timestamps: number[] } {
    const extract = this.#extract;
    const n = records.length;
    let max = Number.NEGATIVE_INFINITY;
    if (extract === undefined) {
      if (given === undefined) {
        this.#batchMax = max;
        return { records, timestamps: new Array<number>(n).fill(Number.NaN) };
      }
      for (let i = 0; i < n; i++) if (given[i] > max) max = given[i];
      this.#batchMax = max;
      return { records, timestamps: given };
    }
    const timestamps = new Array<number>(n);
    let i = 0;
    try {
      for (; i < n; i++) {
        const t = extract(records[i]);
        // `t !== t` is NaN; typeof guards strings and undefined.
        if (typeof t !== 'number' || t !== t) throw new TypeError(`timestamp must be a number, got ${describe(t)}`);
        timestamps[i] = t;
        if (t > max) max = t;
      }
      this.#batchMax = max;
      return { records, timestamps };
    } catch (err) {
      const out = this.#stampSlow(records, timestamps, i, err);
      max = Number.NEGATIVE_INFINITY;
      for (const t of out.timestamps) if (t > max) max = t;
      this.#batchMax = max;
      return out;
    }
  }

  #stampSlow(records: T[], timestamps: number[], failedAt: number, firstError: unknown): { records: T[]; timestamps: number[] } {
    const extract = this.#extract!;
    const keptRecords = records.slice(0, failedAt);
    const keptTimes = timestamps.slice(0, failedAt);
    this.#failed(records[failedAt], firstError);
    for (let i = failedAt + 1; i < records.length; i++) {
      try {
        const t = extract(records[i]);
        if (typeof t !== 'number' || Number.isNaN(t)) throw new TypeError(`timestamp must be a number, got ${describe(t)}`);
        keptRecords.push(records[i]);
        keptTimes.push(t);
      } catch (err) {
        this.#failed(records[i], err);
      }
    }
    return { records: keptRecords, timestamps: keptTimes };
  }

  #failed(record: T, cause: unknown): void {
    const policy = this.#time.onError ?? 'fail';
    const step = `${this.name}.timestamp`;
    if (policy === 'fail') throw new UserFunctionError(step, cause);
    if (policy === 'skip') {
      this.#counters.skipped++;
      return;
    }
    this.#counters.deadLettered++;
    this.#deadLetters?.send(makeBatch([toDeadLetter(record, new UserFunctionError(step, cause), step, this.name)], [Number.NaN], this.name));
  }

  /** Minimum watermark over splits that are not idle; −∞ while no split has data. */
  #currentWatermark(now: number): number {
    const strategy = this.#time.watermark;
    if (strategy === undefined) return Number.NEGATIVE_INFINITY;
    const idleMs = strategy.idleMs;
    let min = Number.POSITIVE_INFINITY;
    let active = 0;
    for (const state of this.#splits.values()) {
      if (idleMs !== undefined && now - state.lastActive > idleMs) continue;
      active++;
      const wm = strategy.watermarkFor(state.maxTimestamp);
      if (wm < min) min = wm;
    }
    return active === 0 ? Number.NEGATIVE_INFINITY : min;
  }

  /** Push a control element on the main output and on the dead-letter output (barriers align there too). */
  #emit(element: StreamElement): void {
    this.push(element);
    this.#deadLetters?.send(element);
  }

  /** End the main output and the dead-letter output. */
  #endOutputs(): void {
    this.push(null);
    this.#deadLetters?.close();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (err) this.#deadLetters?.destroy(err);
    else this.#deadLetters?.close();
    const finish = (): void => {
      this.#stop.abort(err ?? undefined);
      this.#close().then(
        () => cb(err),
        (closeErr: unknown) => cb(err ?? asStepError(this.name, closeErr)),
      );
    };
    // After a final checkpoint or savepoint barrier the stream ends before that checkpoint
    // completes; the reader stays open for its onCheckpointComplete (offset commits, acks).
    if (err) finish();
    else this.#run.checkpoints.settled().then(finish, finish);
  }


  /** Tell the reader a checkpoint is complete. */
  async checkpointComplete(checkpointId: number): Promise<void> {
    await this.#reader?.onCheckpointComplete?.(checkpointId);
  }

  async #close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#reader?.close?.();
  }
}

/** Turn a timestamp option (function or field name) into a function. */
function compileExtractor<T>(step: string, option: SourceTimeOptions<T>['timestamp']): ((record: T) => number) | undefined {
  if (option === undefined) return undefined;
  if (typeof option === 'function') return option;
  if (typeof option === 'string' && option.length > 0) return fieldGetter<T, number>(option);
  throw new ConfigError(`source "${step}": timestamp must be a function or a field name, got ${describe(option)}`);
}
