import type { Dispatcher } from 'undici';
import type { Clock } from '../runtime/clock.js';
import { CheckpointError, ConfigError, ConnectorError, UserFunctionError, describe, show } from '../runtime/errors.js';
import type { Source, SourceChunk, SourceContext, SourceReader } from '../runtime/source.js';
import { delay } from '../connectors/http/delay.js';
import { httpOptions, type HttpAuth } from '../connectors/http/http-options.js';
import { HttpRequester, type HttpResponse } from '../connectors/http/http-requester.js';
import { retryPolicy, type RetryOptions, type RetryPolicy } from '../connectors/http/retry-policy.js';
import { httpPagination, type HttpPagination, type NextPage } from './http-pagination.js';

/** The cursor of an {@link httpSource}: sent as a query parameter, advanced from the records read. */
export interface HttpCursor<T> {
  /** Query parameter carrying the cursor, e.g. `'since'`. */
  readonly param: string;
  /** The cursor value after `record`: records must come in cursor order (oldest first). */
  readonly from: (record: T) => string;
  /** Cursor of the very first poll. Default: none (the parameter is left out). */
  readonly initial?: string;
}

/** Options of {@link httpSource}. */
export interface HttpSourceOptions<T> {
  /** The endpoint polled: an absolute http(s) URL, without credentials. */
  url: string | URL;
  /** A poll starts this many ms after the previous one started (at once when it took longer). */
  intervalMs: number;
  /** Default `'GET'`. */
  method?: 'GET' | 'POST';
  /** JSON request body (with `method: 'POST'` only). */
  body?: unknown;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** Bearer token or Basic credentials. */
  auth?: HttpAuth;
  /**
   * The records of a response body (parsed JSON; `undefined` for an empty body). Default: the
   * body when it is an array, else its `items` or `data` array; an empty body has none.
   */
  records?: (body: unknown) => T[];
  /** Incremental polling: `?<param>=<cursor>` on each poll's first request. Default: none. */
  cursor?: HttpCursor<T>;
  /** Follow next-page links within a poll. Default: one page per poll. */
  pagination?: HttpPagination;
  /** Bound on one attempt, from sending the request to the end of the response, in ms (real time). Default `30_000`. */
  timeoutMs?: number;
  /** Retries of a failing request (the sink's policy). Default: 5 attempts, 100 ms doubling up to 10 s. */
  retry?: RetryOptions;
  /** Clock of the poll timer and retry waits (tests pass a `ManualClock`). Default: real time. */
  clock?: Clock;
  /** Step name. Default `'http'`. */
  name?: string;
}

/**
 * What an {@link httpSource} reader saves in a checkpoint (plain data): the cursor after the last
 * record returned, the ETag of the last poll's first page, and — in the middle of a poll — the
 * page to go on with and how many of its records were already returned.
 */
export interface HttpSourcePosition {
  readonly cursor?: string;
  readonly etag?: string;
  readonly page?: string;
  readonly skip?: number;
}

const WHAT = 'sources.http';

/** Longest single wait between polls: a read returns (empty) at least this often, so barriers get in. */
const IDLE_SLICE_MS = 1_000;

const NO_RECORDS: never[] = [];

/**
 * A polling HTTP source (undici). Every `intervalMs` it requests `url` (with `?<param>=<cursor>`
 * when a cursor is configured, and `If-None-Match` with the last ETag), then follows next-page
 * links while `pagination` finds some; the records of each page are returned in order, at most
 * `max` per read.
 *
 * - A `304 Not Modified` or a page without records yields an empty chunk: nothing new.
 * - Between polls a read waits for the next poll (on `clock`, at most 1 s per read, so the runtime
 *   can inject barriers while idle) and returns an empty chunk when that poll brings nothing.
 *   No busy loop: an idle source costs one timer per second.
 * - Failures are retried with the sink's {@link retryPolicy} (5xx, 408, 429 with Retry-After,
 *   timeouts, resets); a permanent failure, or one that outlasts the attempts, fails the job with
 *   a {@link ConnectorError} naming the step, URL and status.
 * - `position()` is an {@link HttpSourcePosition}; a restored position resumes the cursor and
 *   ETag, and a poll interrupted mid-way goes on from the saved page, skipping the records
 *   already returned.
 *
 * Not replayable (`replayable: false`): the server decides what a request returns, so a restore
 * does not see the same data again. With the position resumed, records returned after the last
 * checkpoint are requested again: delivery is at-least-once (DESIGN.md, Exactly-once). Without a
 * cursor or an ETag every poll returns the whole resource again; the ETag of a poll's first page
 * decides whether the whole poll is skipped, which suits newest-first or cursor-based APIs.
 *
 * The source is unbounded; a stop aborts a pending wait or request at once. undici is loaded
 * when the source opens.
 *
 * @example
 * ```ts
 * pipeline('issues')
 *   .source(httpSource<Issue>({
 *     url: 'https://api.example.com/issues',
 *     intervalMs: 30_000,
 *     auth: { bearer: token },
 *     cursor: { param: 'since', from: (issue) => issue.updatedAt },
 *     pagination: { next: 'link-header' },
 *   }), { timestamp: (issue) => Date.parse(issue.updatedAt) })
 *   .sink(sinks.console());
 * ```
 */
export function httpSource<T = unknown>(options: HttpSourceOptions<T>): Source<T> {
  if (options === null || typeof options !== 'object') throw new ConfigError(`${WHAT}: options must be an object, got ${show(options)}`);
  const url = httpOptions.url(options.url, WHAT);
  const intervalMs = httpOptions.durationMs(options.intervalMs, 'intervalMs', WHAT);
  const method = options.method ?? 'GET';
  if (method !== 'GET' && method !== 'POST') throw new ConfigError(`${WHAT}: method must be 'GET' or 'POST', got ${show(method)}`);
  let body: string | undefined;
  if (options.body !== undefined) {
    if (method !== 'POST') throw new ConfigError(`${WHAT}: body needs method: 'POST', got method ${show(method)}`);
    try {
      body = JSON.stringify(options.body);
    } catch (err) {
      throw new ConfigError(`${WHAT}: body must be JSON-serializable: ${describe(err)}`, { cause: err });
    }
  }
  const headers = httpOptions.headers(options.headers, options.auth, WHAT);
  headers.accept ??= 'application/json';
  if (body !== undefined) headers['content-type'] ??= 'application/json';
  if (headers['if-none-match'] !== undefined) throw new ConfigError(`${WHAT}: headers must not set if-none-match: the source sends the last ETag itself`);
  if (options.records !== undefined && typeof options.records !== 'function') {
    throw new ConfigError(`${WHAT}: records must be a function (body) => records[], got ${show(options.records)}`);
  }
  const cursor = options.cursor;
  if (cursor !== undefined) {
    if (cursor === null || typeof cursor !== 'object') throw new ConfigError(`${WHAT}: cursor must be { param, from }, got ${show(cursor)}`);
    if (typeof cursor.param !== 'string' || cursor.param.length === 0) {
      throw new ConfigError(`${WHAT}: cursor.param must be a non-empty query parameter name, got ${show(cursor.param)}`);
    }
    if (typeof cursor.from !== 'function') throw new ConfigError(`${WHAT}: cursor.from must be a function (record) => string, got ${show(cursor.from)}`);
    if (cursor.initial !== undefined && typeof cursor.initial !== 'string') {
      throw new ConfigError(`${WHAT}: cursor.initial must be a string, got ${show(cursor.initial)}`);
    }
  }
  const next = httpPagination(options.pagination, WHAT);
  const timeoutMs = httpOptions.durationMs(options.timeoutMs, 'timeoutMs', WHAT, 30_000);
  const retry = retryPolicy(options.retry, WHAT);
  const clock = options.clock;
  if (clock !== undefined && (typeof clock.now !== 'function' || typeof clock.schedule !== 'function')) {
    throw new ConfigError(`${WHAT}: clock must have now() and schedule(atMs, fn), got ${show(clock)}`);
  }
  const name = options.name ?? 'http';
  if (typeof name !== 'string' || name.length === 0) throw new ConfigError(`${WHAT}: name must be a non-empty string, got ${show(name)}`);

  const settings: HttpSourceSettings<T> = {
    url,
    intervalMs,
    method,
    body,
    headers,
    records: options.records,
    cursor,
    next,
    timeoutMs,
    retry,
    clock,
  };
  return {
    name,
    bounded: false,
    replayable: false,
    async open(ctx: SourceContext): Promise<SourceReader<T>> {
      const position = restoredPosition(ctx);
      // Loaded here, not at module load: a job that never opens an HTTP source never loads undici.
      const { Agent } = await import('undici');
      // An Agent, not a Pool: next-page links may point to another origin.
      const agent = new Agent({ connectTimeout: timeoutMs, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
      return new HttpSourceReader(settings, ctx, agent, position);
    },
  };
}

interface HttpSourceSettings<T> {
  readonly url: URL;
  readonly intervalMs: number;
  readonly method: string;
  readonly body: string | undefined;
  readonly headers: Record<string, string>;
  readonly records: ((body: unknown) => T[]) | undefined;
  readonly cursor: HttpCursor<T> | undefined;
  readonly next: NextPage | undefined;
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly clock: Clock | undefined;
}

/** The live reader of an {@link httpSource}. */
class HttpSourceReader<T> implements SourceReader<T> {
  readonly #s: HttpSourceSettings<T>;
  readonly #ctx: SourceContext;
  readonly #agent: Dispatcher;
  readonly #requester: HttpRequester;
  #cursor: string | undefined;
  #etag: string | undefined;
  /** Records of the current page, returned from `#offset` on. */
  #buffer: T[] = NO_RECORDS;
  #offset = 0;
  /** URL of the page in `#buffer`. */
  #bufferPage: string | undefined;
  /** The next page of the poll in progress; `undefined` between polls. */
  #nextPage: string | undefined;
  /** Records of `#nextPage` returned before a restore: dropped when it is fetched. */
  #skip = 0;
  #nextPollAt = Number.NEGATIVE_INFINITY;
  #closed = false;

  constructor(settings: HttpSourceSettings<T>, ctx: SourceContext, agent: Dispatcher, position: HttpSourcePosition | undefined) {
    this.#s = settings;
    this.#ctx = ctx;
    this.#agent = agent;
    this.#requester = new HttpRequester({
      dispatcher: agent,
      retry: settings.retry,
      timeoutMs: settings.timeoutMs,
      signal: ctx.signal,
      clock: settings.clock,
      accept: (status) => (status >= 200 && status < 300) || status === 304,
      readBody: true,
    });
    this.#cursor = position === undefined ? settings.cursor?.initial : position.cursor;
    this.#etag = position?.etag;
    this.#nextPage = position?.page;
    this.#skip = position?.skip ?? 0;
  }

  read(max: number): SourceChunk<T> | Promise<SourceChunk<T>> {
    if (this.#offset < this.#buffer.length) return this.#take(max);
    if (this.#nextPage !== undefined) return this.#fetch(this.#nextPage, false, max);
    if (this.#now() >= this.#nextPollAt) return this.#poll(max);
    return this.#idle(max);
  }

  position(): HttpSourcePosition {
    const position: { cursor?: string; etag?: string; page?: string; skip?: number } = {};
    if (this.#cursor !== undefined) position.cursor = this.#cursor;
    if (this.#etag !== undefined) position.etag = this.#etag;
    if (this.#offset < this.#buffer.length) {
      position.page = this.#bufferPage;
      position.skip = this.#offset;
    } else if (this.#nextPage !== undefined) {
      position.page = this.#nextPage;
      if (this.#skip > 0) position.skip = this.#skip;
    }
    return position;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#agent.destroy();
  }

  /** Wait for the next poll (at most one slice), then poll if it is due. */
  async #idle(max: number): Promise<SourceChunk<T>> {
    const waitMs = this.#nextPollAt - this.#now();
    await delay(waitMs < IDLE_SLICE_MS ? waitMs : IDLE_SLICE_MS, this.#ctx.signal, this.#s.clock);
    if (this.#now() < this.#nextPollAt) return { records: NO_RECORDS };
    return this.#poll(max);
  }

  #poll(max: number): Promise<SourceChunk<T>> {
    // Counted from this poll's start, not from a fixed grid: after a stall (backpressure, a long
    // pagination) the source polls once, not once per missed interval.
    this.#nextPollAt = this.#now() + this.#s.intervalMs;
    const cursor = this.#s.cursor;
    let url = this.#s.url;
    if (cursor !== undefined && this.#cursor !== undefined) {
      url = new URL(url);
      url.searchParams.set(cursor.param, this.#cursor);
    }
    return this.#fetch(url.href, true, max);
  }

  /** Fetch one page of the poll (`first`: the poll's first request, conditional on the ETag). */
  async #fetch(href: string, first: boolean, max: number): Promise<SourceChunk<T>> {
    const s = this.#s;
    const headers = first && this.#etag !== undefined ? { ...s.headers, 'if-none-match': this.#etag } : s.headers;
    const outcome = await this.#requester.send({ url: new URL(href), method: s.method, headers, body: s.body });
    if (!outcome.ok) {
      const tries = outcome.attempts === 1 ? '1 attempt' : `${outcome.attempts} attempts`;
      throw new ConnectorError(this.#ctx.name, `${s.method} ${httpOptions.display(href)} failed after ${tries}: ${outcome.failure.detail}`, {
        cause: outcome.failure.cause,
        retryable: outcome.failure.retryable,
      });
    }
    const response = outcome.response;
    if (response.status === 304) {
      this.#nextPage = undefined;
      this.#skip = 0;
      return { records: NO_RECORDS };
    }
    if (first) {
      const etag = response.headers.etag;
      this.#etag = typeof etag === 'string' && etag.length > 0 ? etag : undefined;
    }
    const body = this.#parse(response, href);
    const records = this.#records(body, href);
    this.#nextPage = this.#nextOf(body, response, href);
    this.#buffer = records;
    this.#bufferPage = href;
    this.#offset = this.#skip < records.length ? this.#skip : records.length;
    this.#skip = 0;
    return this.#take(max);
  }

  /** Return up to `max` buffered records and move the cursor past them. */
  #take(max: number): SourceChunk<T> {
    const buffer = this.#buffer;
    const start = this.#offset;
    const left = buffer.length - start;
    if (left <= 0) {
      this.#release();
      return { records: NO_RECORDS };
    }
    const n = max < left ? max : left;
    const records = start === 0 && n === buffer.length ? buffer : buffer.slice(start, start + n);
    this.#offset = start + n;
    const cursor = this.#s.cursor;
    // Per chunk, not per record: records come in cursor order, so the last one sets it.
    if (cursor !== undefined && n > 0) this.#cursor = this.#cursorOf(cursor, records[n - 1]);
    if (this.#offset >= buffer.length) this.#release();
    return { records };
  }

  #release(): void {
    this.#buffer = NO_RECORDS;
    this.#offset = 0;
    this.#bufferPage = undefined;
  }

  #parse(response: HttpResponse, href: string): unknown {
    if (response.status === 204 || response.text.trim() === '') return undefined;
    try {
      return JSON.parse(response.text) as unknown;
    } catch (err) {
      throw new ConnectorError(this.#ctx.name, `response of ${this.#s.method} ${httpOptions.display(href)} is not JSON: ${describe(err)}`, {
        cause: err,
        retryable: false,
      });
    }
  }

  #records(body: unknown, href: string): T[] {
    const extract = this.#s.records;
    if (extract !== undefined) {
      let records: unknown;
      try {
        records = extract(body);
      } catch (err) {
        throw new UserFunctionError(this.#ctx.name, err);
      }
      if (!Array.isArray(records)) throw new UserFunctionError(this.#ctx.name, new TypeError(`records must return an array, got ${show(records)}`));
      return records as T[];
    }
    if (body === undefined) return NO_RECORDS;
    if (Array.isArray(body)) return body as T[];
    const wrapped = body as { items?: unknown; data?: unknown } | null;
    if (wrapped !== null && typeof wrapped === 'object') {
      if (Array.isArray(wrapped.items)) return wrapped.items as T[];
      if (Array.isArray(wrapped.data)) return wrapped.data as T[];
    }
    throw new ConnectorError(
      this.#ctx.name,
      `response of ${this.#s.method} ${httpOptions.display(href)} is neither a JSON array nor an object with an items or data array; pass records: (body) => [...]`,
      { retryable: false },
    );
  }

  #nextOf(body: unknown, response: HttpResponse, href: string): string | undefined {
    const next = this.#s.next;
    if (next === undefined) return undefined;
    try {
      return next(body, { status: response.status, headers: response.headers, url: href });
    } catch (err) {
      throw new UserFunctionError(this.#ctx.name, err);
    }
  }

  #cursorOf(cursor: HttpCursor<T>, record: T): string {
    let value: unknown;
    try {
      value = cursor.from(record);
    } catch (err) {
      throw new UserFunctionError(this.#ctx.name, err);
    }
    if (typeof value !== 'string') throw new UserFunctionError(this.#ctx.name, new TypeError(`cursor.from must return a string, got ${show(value)}`));
    return value;
  }

  #now(): number {
    return this.#s.clock?.now() ?? this.#ctx.now();
  }
}

/** The position handed in on restore, checked: plain data as {@link HttpSourceReader.position} made it. */
function restoredPosition(ctx: SourceContext): HttpSourcePosition | undefined {
  const restored = ctx.restored;
  if (restored === undefined) return undefined;
  const p = restored as HttpSourcePosition | null;
  const ok =
    p !== null &&
    typeof p === 'object' &&
    (p.cursor === undefined || typeof p.cursor === 'string') &&
    (p.etag === undefined || typeof p.etag === 'string') &&
    (p.page === undefined || isUrl(p.page)) &&
    (p.skip === undefined || (Number.isSafeInteger(p.skip) && p.skip >= 0 && p.page !== undefined));
  if (!ok) {
    throw new CheckpointError(`source "${ctx.name}": restored position must be { cursor?, etag?, page?, skip? }, got ${show(restored)}`, {
      step: ctx.name,
    });
  }
  return p;
}

function isUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}

