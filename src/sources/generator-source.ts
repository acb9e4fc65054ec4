import { AbortedError, CheckpointError, ConfigError, show } from '../runtime/errors.js';
import type { Source, SourceChunk, SourceContext, SourceProgress, SourceReader } from '../runtime/source.js';
import { makeClickEvent, type ClickEvent } from './click-event.js';
import { Rng } from './rng.js';

/** Options of {@link generatorSource}. */
export interface GeneratorSourceOptions<T> {
  /** Seed of the random streams (any safe integer). Default `1`. */
  seed?: number;
  /** Number of records: the source is bounded when given, unbounded otherwise. */
  count?: number;
  /** Emit at most this many records per second of processing time (token bucket). Default: unlimited. */
  ratePerSec?: number;
  /** Index of the first record. Default `0`. */
  startIndex?: number;
  /**
   * Make record `index` from `rng`, which is positioned for that index: a `make` that draws only
   * from `rng` makes record `index` a function of `(seed, index)` alone. Default: click events.
   */
  make?: (index: number, rng: Rng) => T;
  /** Step name. Default `'generator'`. */
  name?: string;
}

const WHAT = 'sources.generator';

/** Tokens the bucket holds at most, in seconds of rate: bounds the burst after a pause. */
const BURST_SEC = 0.1;

/**
 * A deterministic, seekable generator of records, for tests, demos and benchmarks.
 *
 * Record `i` depends only on `(seed, i)`: `make(i, rng)` gets an {@link Rng} reset for `i`, so the
 * output is the same whatever batch sizes the runtime reads with, and a run resumed from a
 * position equals the tail of a full run. Bounded when `count` is given (indices `startIndex` …
 * `startIndex + count - 1`), unbounded otherwise. Replayable: `position()` is the next index and a
 * restored position resumes there.
 *
 * With `ratePerSec`, a token bucket (holding at most 0.1 s of tokens, at least one, full at start)
 * refilled from the context's clock limits the rate; `read` then returns a promise only when it has
 * to wait for a token. A pending wait rejects with the signal's reason as soon as the context's
 * signal aborts (the runtime treats that as the stop it asked for).
 *
 * Without `make`, records are {@link ClickEvent}s, and chunks carry their `t` as event timestamps.
 *
 * @example
 * ```ts
 * const clicks = generatorSource({ seed: 7, count: 1_000_000 });
 * const ticks = generatorSource({ ratePerSec: 10, make: (i, rng) => ({ i, v: rng.next() }) });
 * ```
 */
export function generatorSource(options?: GeneratorSourceOptions<ClickEvent> & { make?: undefined }): Source<ClickEvent>;
export function generatorSource<T>(options: GeneratorSourceOptions<T> & { make: (index: number, rng: Rng) => T }): Source<T>;
export function generatorSource<T>(options: GeneratorSourceOptions<T> = {}): Source<T> {
  if (options === null || typeof options !== 'object') throw new ConfigError(`${WHAT}: options must be an object, got ${show(options)}`);
  const seed = options.seed ?? 1;
  if (!Number.isSafeInteger(seed)) throw new ConfigError(`${WHAT}: seed must be a safe integer, got ${show(seed)}`);
  const count = options.count;
  if (count !== undefined && !(Number.isSafeInteger(count) && count >= 0)) {
    throw new ConfigError(`${WHAT}: count must be a non-negative integer, got ${show(count)}`);
  }
  const startIndex = options.startIndex ?? 0;
  if (!(Number.isSafeInteger(startIndex) && startIndex >= 0)) {
    throw new ConfigError(`${WHAT}: startIndex must be a non-negative integer, got ${show(startIndex)}`);
  }
  if (count !== undefined && !Number.isSafeInteger(startIndex + count)) {
    throw new ConfigError(`${WHAT}: startIndex + count must be a safe integer, got ${show(startIndex + count)}`);
  }
  const ratePerSec = options.ratePerSec;
  if (ratePerSec !== undefined && !(Number.isFinite(ratePerSec) && ratePerSec > 0)) {
    throw new ConfigError(`${WHAT}: ratePerSec must be a positive number of records per second, got ${show(ratePerSec)}`);
  }
  if (options.make !== undefined && typeof options.make !== 'function') {
    throw new ConfigError(`${WHAT}: make must be a function (index, rng) => record, got ${show(options.make)}`);
  }
  const name = options.name ?? 'generator';
  if (typeof name !== 'string' || name.length === 0) throw new ConfigError(`${WHAT}: name must be a non-empty string, got ${show(name)}`);

  const make = options.make;
  const settings: GeneratorSettings<T> = {
    seed,
    startIndex,
    end: count === undefined ? Number.POSITIVE_INFINITY : startIndex + count,
    ratePerSec,
    make: make ?? (makeClickEvent as unknown as (index: number, rng: Rng) => T),
    clicks: make === undefined,
  };
  return {
    name,
    bounded: count !== undefined,
    replayable: true,
    open: (ctx) => new GeneratorReader(settings, ctx),
  };
}

interface GeneratorSettings<T> {
  readonly seed: number;
  readonly startIndex: number;
  /** One past the last index; +∞ when unbounded. */
  readonly end: number;
  readonly ratePerSec: number | undefined;
  readonly make: (index: number, rng: Rng) => T;
  /** True for the default click maker: chunks then carry the clicks' event times. */
  readonly clicks: boolean;
}

/** The live reader of a {@link generatorSource}. */
class GeneratorReader<T> implements SourceReader<T> {
  readonly #settings: GeneratorSettings<T>;
  readonly #ctx: SourceContext;
  readonly #rng = new Rng();
  #next: number;
  #tokens = 0;
  #refilledAt = 0;
  readonly #capacity: number;

  constructor(settings: GeneratorSettings<T>, ctx: SourceContext) {
    this.#settings = settings;
    this.#ctx = ctx;
    this.#next = restoredIndex(settings, ctx);
    const rate = settings.ratePerSec;
    this.#capacity = rate === undefined ? 0 : Math.max(1, rate * BURST_SEC);
    this.#tokens = this.#capacity;
    this.#refilledAt = ctx.now();
  }

  read(max: number): SourceChunk<T> | null | Promise<SourceChunk<T> | null> {
    const left = this.#settings.end - this.#next;
    if (left <= 0) return null;
    let n = max < left ? max : left;
    if (n <= 0) return { records: [] };
    if (this.#settings.ratePerSec !== undefined) {
      this.#refill();
      if (this.#tokens < 1) return this.#wait(max);
      const available = Math.floor(this.#tokens);
      if (available < n) n = available;
      this.#tokens -= n;
    }
    return this.#emit(n);
  }

  position(): number {
    return this.#next;
  }

  progress(): SourceProgress {
    const done = this.#next - this.#settings.startIndex;
    const end = this.#settings.end;
    return end === Number.POSITIVE_INFINITY
      ? { done, unit: 'records' }
      : { done, total: end - this.#settings.startIndex, unit: 'records' };
  }

  #emit(n: number): SourceChunk<T> {
    const { seed, make } = this.#settings;
    const rng = this.#rng;
    const records = new Array<T>(n);
    let index = this.#next;
    for (let k = 0; k < n; k++, index++) {
      rng.reset(seed, index);
      records[k] = make(index, rng);
    }
    this.#next = index;
    if (!this.#settings.clicks) return { records };
    const timestamps = new Array<number>(n);
    for (let k = 0; k < n; k++) timestamps[k] = (records[k] as unknown as ClickEvent).t;
    return { records, timestamps };
  }

  #refill(): void {
    const now = this.#ctx.now();
    const elapsedMs = now - this.#refilledAt;
    if (elapsedMs <= 0) return;
    this.#refilledAt = now;
    const tokens = this.#tokens + (elapsedMs * this.#settings.ratePerSec!) / 1000;
    this.#tokens = tokens < this.#capacity ? tokens : this.#capacity;
  }

  /** Wait (one timer per read, not per record) until a token is there, then read. */
  #wait(max: number): Promise<SourceChunk<T> | null> {
    const signal = this.#ctx.signal;
    if (signal.aborted) return Promise.reject(abortReason(signal));
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(abortReason(signal));
      };
      const tick = (): void => {
        this.#refill();
        if (this.#tokens < 1) {
          timer = setTimeout(tick, this.#delayMs());
          return;
        }
        signal.removeEventListener('abort', onAbort);
        try {
          resolve(this.read(max));
        } catch (err) {
          reject(err);
        }
      };
      let timer = setTimeout(tick, this.#delayMs());
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Milliseconds until the bucket holds one token (at least 1: timers are not finer). */
  #delayMs(): number {
    const ms = Math.ceil(((1 - this.#tokens) * 1000) / this.#settings.ratePerSec!);
    return ms > 1 ? ms : 1;
  }
}

function restoredIndex(settings: GeneratorSettings<unknown>, ctx: SourceContext): number {
  const restored = ctx.restored;
  if (restored === undefined) return settings.startIndex;
  if (!(Number.isSafeInteger(restored) && (restored as number) >= settings.startIndex && (restored as number) <= settings.end)) {
    const range = settings.end === Number.POSITIVE_INFINITY ? `≥ ${settings.startIndex}` : `in [${settings.startIndex}, ${settings.end}]`;
    throw new CheckpointError(`source "${ctx.name}": restored position must be an index ${range}, got ${show(restored)}`, {
      step: ctx.name,
    });
  }
  return restored as number;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new AbortedError();
}
