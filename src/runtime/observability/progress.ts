/** What the progress line shows at one moment. */
export interface ProgressReading {
  /** Records read by every source so far. */
  readonly records: number;
  /** Progress in the sources' own unit, when every source knows its total. */
  readonly done?: number;
  readonly total?: number;
  readonly unit?: 'records' | 'bytes';
}

/** A terminal the line is drawn on (stderr). */
export interface ProgressStream {
  write(text: string): unknown;
  /** Width in characters, when known: the line is cut to fit. */
  readonly columns?: number;
}

/** Options of {@link ProgressLine}. */
export interface ProgressLineOptions {
  readonly job: string;
  readonly stream: ProgressStream;
  /** Reads the job's counters; called once per redraw. */
  readonly read: () => ProgressReading;
  /** Time between redraws, in ms. Default 250. */
  readonly intervalMs?: number;
  /** Monotonic time in ms, for rates. Default `performance.now`. */
  readonly now?: () => number;
}

/** Weight of the newest interval in the smoothed rates. */
const SMOOTHING = 0.3;

/**
 * A one-line progress display for a bounded job on a terminal:
 * `clicks [######------] 41.2%  123,456 records  45.6k/s  ETA 0:12`. It redraws in place
 * (carriage return) every `intervalMs` on an unref'd timer, so it never keeps the process alive;
 * percent and ETA appear only when every source knows its size. Log lines clear it first
 * ({@link clear}); the next redraw puts it back.
 *
 * @example
 * ```ts
 * const line = new ProgressLine({ job: 'clicks', stream: process.stderr, read: () => ({ records: 10 }) });
 * line.start();
 * line.stop();
 * ```
 */
export class ProgressLine {
  readonly #options: ProgressLineOptions;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #shown = false;
  #last: { at: number; records: number; done: number } | undefined;
  #recordsRate = 0;
  #doneRate = 0;

  constructor(options: ProgressLineOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#last = { at: this.#now(), records: 0, done: 0 };
    this.#timer = setInterval(() => this.update(), this.#options.intervalMs ?? 250);
    this.#timer.unref();
  }

  /** Read the counters, update the rates and redraw. */
  update(): void {
    const reading = this.#options.read();
    const at = this.#now();
    const last = this.#last;
    if (last !== undefined && at > last.at) {
      const seconds = (at - last.at) / 1000;
      const done = reading.done ?? 0;
      this.#recordsRate = smooth(this.#recordsRate, (reading.records - last.records) / seconds, last.records === 0);
      this.#doneRate = smooth(this.#doneRate, (done - last.done) / seconds, last.done === 0);
    }
    this.#last = { at, records: reading.records, done: reading.done ?? 0 };
    const line = formatProgress(this.#options.job, reading, this.#recordsRate, this.#doneRate);
    const width = this.#options.stream.columns;
    this.#options.stream.write(`\r${width !== undefined && width > 1 ? line.slice(0, width - 1) : line}\x1b[K`);
    this.#shown = true;
  }

  /** Erase the line (before something else is written to the terminal). */
  clear(): void {
    if (!this.#shown) return;
    this.#options.stream.write('\r\x1b[K');
    this.#shown = false;
  }

  /** Stop redrawing and erase the line. Idempotent. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.clear();
  }
}

function smooth(previous: number, current: number, first: boolean): number {
  return first || previous === 0 ? current : previous + SMOOTHING * (current - previous);
}

/**
 * The text of the progress line. `recordsPerSec` is the read rate; `donePerSec` the rate in the
 * sources' unit, for the ETA.
 */
export function formatProgress(job: string, reading: ProgressReading, recordsPerSec: number, donePerSec: number): string {
  const parts = [job];
  const { done, total } = reading;
  if (done !== undefined && total !== undefined && total > 0) {
    const ratio = Math.min(1, Math.max(0, done / total));
    const filled = Math.round(ratio * 20);
    parts.push(`[${'#'.repeat(filled)}${'-'.repeat(20 - filled)}] ${(ratio * 100).toFixed(1)}%`);
  }
  parts.push(`${reading.records.toLocaleString('en-US')} records`);
  parts.push(`${compact(recordsPerSec)}/s`);
  if (done !== undefined && total !== undefined && donePerSec > 0 && total > done) {
    parts.push(`ETA ${duration((total - done) / donePerSec)}`);
  }
  return parts.join('  ');
}

/** 1234 → `1.2k`, 5600000 → `5.6M`. */
function compact(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '0';
  if (n < 1000) return n.toFixed(0);
  if (n < 1e6) return `${(n / 1e3).toFixed(1)}k`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)}M`;
  return `${(n / 1e9).toFixed(1)}G`;
}

/** Seconds → `m:ss` or `h:mm:ss`. */
function duration(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}
