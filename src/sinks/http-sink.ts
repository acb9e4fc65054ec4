import type { Dispatcher } from 'undici';
import type { Clock } from '../runtime/clock.js';
import type { Batch } from '../runtime/elements.js';
import type { DeadLetter } from '../runtime/error-policy.js';
import { CheckpointError, ConfigError, ConnectorError, RecordError, UserFunctionError, describe, show } from '../runtime/errors.js';
import type { Sink, SinkContext, SinkWriter, TransactionalWriter } from '../runtime/sink.js';
import { CircuitBreaker, circuitBreakerOptions, type CircuitBreakerOptions } from '../connectors/http/circuit-breaker.js';
import type { HttpFailure } from '../connectors/http/http-failure.js';
import { httpOptions, type HttpAuth } from '../connectors/http/http-options.js';
import { HttpRequester } from '../connectors/http/http-requester.js';
import { DeadLetterOutput } from './dead-letter-output.js';
import { SpanStatusCode } from '@opentelemetry/api';
import { recordLinks, traceCall } from '../runtime/observability/tracing.js';
import { injectContext } from '../runtime/observability/trace-context.js';
import { idempotencyKey } from '../connectors/http/idempotency-key.js';
import { RateLimiter } from '../connectors/http/rate-limiter.js';
import { retryPolicy, type RetryOptions, type RetryPolicy } from '../connectors/http/retry-policy.js';

/** Options of {@link httpSink}. */
export interface HttpSinkOptions<T> {
  /** Where records are sent: an absolute http(s) URL, without credentials. */
  url: string | URL;
  /** Default `'POST'`. */
  method?: 'POST' | 'PUT' | 'PATCH';
  /**
   * Records per request. `1` (default): the body is the record's JSON. More: the body is a JSON
   * array of up to `batchSize` records (fewer at the end of an input batch).
   */
  batchSize?: number;
  /** Extra request headers. `content-type` defaults to `application/json`. */
  headers?: Record<string, string>;
  /** Bearer token or Basic credentials. */
  auth?: HttpAuth;
  /** Bound on one attempt, from sending the request to the end of the response, in ms (real time). Default `30_000`. */
  timeoutMs?: number;
  /** Retries with exponential backoff and jitter. Default: 5 attempts, 100 ms doubling up to 10 s, full jitter. */
  retry?: RetryOptions;
  /** At most this many requests per second (token bucket, no burst). Default: unlimited. */
  ratePerSec?: number;
  /** Stop sending for `resetMs` after `failureThreshold` consecutive retryable failures. Default: none. */
  circuitBreaker?: CircuitBreakerOptions;
  /**
   * The idempotency key of a record; `sequence` is its index in the sink's input, saved in every
   * checkpoint so it is stable across a restore. The key must be a non-empty single-line string
   * (without ',' when `batchSize` > 1). Default: {@link idempotencyKey} of job, step, sequence
   * and the record's JSON.
   */
  idempotencyKey?: (record: T, sequence: number) => string;
  /**
   * Header carrying the key. With `batchSize` > 1 it carries the records' keys, comma-separated, in
   * body order: about 45 bytes per record with default keys, so keep `batchSize` within the
   * server's header size limit (Node's default 16 KiB holds about 350). Default `'Idempotency-Key'`.
   */
  idempotencyHeader?: string;
  /**
   * Where records that fail permanently go, as {@link DeadLetter}s: the http sink opens this sink
   * itself (with its own context and checkpointed transactions). Without it, such a record fails
   * the job with a {@link ConnectorError} naming the step, URL and status.
   */
  deadLetters?: Sink<DeadLetter>;
  /** Clock for backoff, breaker and rate limit waits (tests). Default: real time. */
  clock?: Clock;
  /** Step name. Default `'http'`. */
  name?: string;
}

/**
 * What an {@link httpSink} writer saves in each checkpoint: where its input stood (so idempotency
 * keys are the same after a restore) and the dead-letter sink's own transaction.
 */
export interface HttpSinkTxn {
  readonly checkpointId: number;
  /** Records of the sink's input before the barrier: the sequence number of the next one. */
  readonly sequence: number;
  /** The dead-letter sink's pre-committed transaction, when it is transactional. */
  readonly deadLetters?: unknown;
}

/** Counters of a live {@link httpSink} writer (for metrics and tests). */
export interface HttpSinkStats {
  /** HTTP requests sent, retries included. */
  readonly requests: number;
  /** Requests that were retries. */
  readonly retries: number;
  /** Records written to the dead-letter sink. */
  readonly deadLettered: number;
  /** Records of the input so far (the next record's sequence number). */
  readonly sequence: number;
}

const WHAT = 'sinks.http';

/**
 * An HTTP sink (undici): sends records as JSON, one request per record or per `batchSize`
 * records, sequentially over a keep-alive connection pool, each request with an idempotency key
 * header so a server can deduplicate what a retry or a replay sends again.
 *
 * Delivery is at-least-once (DESIGN.md, Exactly-once: "Others (HTTP)"): `write` resolves only
 * when every request of the batch was accepted (2xx) or its records were dead-lettered, so all
 * input before a barrier has been delivered when the checkpoint is taken. The writer takes part in
 * checkpoints only to save its input sequence number (and the dead-letter sink's transaction):
 * its `commit` and `abort` do nothing else. Keys are deterministic ({@link idempotencyKey}), so a
 * deduplicating server sees each record once.
 *
 * Failures: a retryable one (5xx but 501/505, 408, 429, timeout, reset or refused connection) is
 * retried with exponential backoff and jitter, never sooner than a 429/503 Retry-After (seconds
 * or HTTP date). With `circuitBreaker`, `failureThreshold` consecutive retryable failures stop all
 * sending for `resetMs` (requests wait; nothing is dropped), then one probe decides. A record
 * whose request fails permanently (another non-2xx status, or any failure after the last attempt),
 * or that cannot be serialized, goes to `deadLetters` with `error.code` `WEIR_HTTP_<status>`,
 * `WEIR_HTTP_TIMEOUT`, `WEIR_HTTP_NETWORK` or `WEIR_BAD_RECORD`; without `deadLetters` it fails
 * the job with a {@link ConnectorError} (retryable when the last failure was) naming the step,
 * URL and status.
 *
 * undici is loaded when the sink opens, so a job without HTTP does not load it. `close()` destroys
 * the pool and closes the dead-letter writer; it is idempotent. The live writer also has
 * `stats()` ({@link HttpSinkStats}: requests, retries, dead-lettered records) for metrics.
 *
 * `clock` drives the waits (backoff, Retry-After, breaker, rate limit), not the I/O timeout,
 * which is always real time.
 *
 * @example
 * ```ts
 * pipeline('orders')
 *   .source(arraySource(orders))
 *   .sink(httpSink({
 *     url: 'https://api.example.com/orders',
 *     auth: { bearer: token },
 *     batchSize: 50,
 *     retry: { attempts: 6, baseDelayMs: 200, maxDelayMs: 30_000, jitter: 1 },
 *     ratePerSec: 20,
 *     circuitBreaker: { failureThreshold: 5, resetMs: 10_000 },
 *     deadLetters: deadLetterSink({ dir: 'out/dead' }),
 *   }));
 * ```
 */
export function httpSink<T = unknown>(options: HttpSinkOptions<T>): Sink<T> {
  if (options === null || typeof options !== 'object') throw new ConfigError(`${WHAT}: options must be an object, got ${show(options)}`);
  const url = httpOptions.url(options.url, WHAT);
  const method = options.method ?? 'POST';
  if (method !== 'POST' && method !== 'PUT' && method !== 'PATCH') {
    throw new ConfigError(`${WHAT}: method must be 'POST', 'PUT' or 'PATCH', got ${show(method)}`);
  }
  const batchSize = options.batchSize ?? 1;
  if (!(Number.isSafeInteger(batchSize) && batchSize >= 1)) {
    throw new ConfigError(`${WHAT}: batchSize must be a positive integer (records per request), got ${show(batchSize)}`);
  }
  const headers = httpOptions.headers(options.headers, options.auth, WHAT);
  headers['content-type'] ??= 'application/json';
  const timeoutMs = httpOptions.durationMs(options.timeoutMs, 'timeoutMs', WHAT, 30_000);
  const retry = retryPolicy(options.retry, WHAT);
  if (options.ratePerSec !== undefined) new RateLimiter(options.ratePerSec, WHAT); // validates
  const breaker = options.circuitBreaker === undefined ? undefined : circuitBreakerOptions(options.circuitBreaker, WHAT);
  if (options.idempotencyKey !== undefined && typeof options.idempotencyKey !== 'function') {
    throw new ConfigError(`${WHAT}: idempotencyKey must be a function (record, sequence) => string, got ${show(options.idempotencyKey)}`);
  }
  const keyHeader = options.idempotencyHeader ?? 'Idempotency-Key';
  if (!httpOptions.isToken(keyHeader)) throw new ConfigError(`${WHAT}: idempotencyHeader must be a valid header name, got ${show(keyHeader)}`);
  if (headers[keyHeader.toLowerCase()] !== undefined) {
    throw new ConfigError(`${WHAT}: headers must not set ${show(keyHeader)}: the sink sets the idempotency header per request`);
  }
  const deadLetters = options.deadLetters;
  if (deadLetters !== undefined && (deadLetters === null || typeof deadLetters !== 'object' || typeof deadLetters.open !== 'function')) {
    throw new ConfigError(`${WHAT}: deadLetters must be a sink (an object with open()), got ${show(deadLetters)}`);
  }
  const clock = options.clock;
  if (clock !== undefined && (typeof clock.now !== 'function' || typeof clock.schedule !== 'function')) {
    throw new ConfigError(`${WHAT}: clock must have now() and schedule(atMs, fn), got ${show(clock)}`);
  }
  const name = options.name ?? 'http';
  if (typeof name !== 'string' || name.length === 0) throw new ConfigError(`${WHAT}: name must be a non-empty string, got ${show(name)}`);

  const settings: HttpSinkSettings<T> = {
    url,
    method,
    batchSize,
    headers,
    keyHeader: keyHeader.toLowerCase(),
    timeoutMs,
    retry,
    ratePerSec: options.ratePerSec,
    breaker,
    key: options.idempotencyKey,
    deadLetters,
    clock,
  };
  return {
    name,
    async open(ctx: SinkContext): Promise<SinkWriter<T>> {
      const writer = new HttpSinkWriter<T>(settings, ctx);
      await writer.start();
      return writer;
    },
  };
}

interface HttpSinkSettings<T> {
  readonly url: URL;
  readonly method: string;
  readonly batchSize: number;
  /** Headers of every request (lower-case names), without the idempotency header. */
  readonly headers: Record<string, string>;
  readonly keyHeader: string;
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly ratePerSec: number | undefined;
  readonly breaker: CircuitBreakerOptions | undefined;
  readonly key: ((record: T, sequence: number) => string) | undefined;
  readonly deadLetters: Sink<DeadLetter> | undefined;
  readonly clock: Clock | undefined;
}

/** The live writer of an {@link httpSink}. */
class HttpSinkWriter<T> implements TransactionalWriter<T, HttpSinkTxn> {
  readonly #s: HttpSinkSettings<T>;
  readonly #ctx: SinkContext;
  readonly #step: string;
  /** `METHOD url` for messages, without the query string. */
  readonly #target: string;
  #pool: Dispatcher | undefined;
  #requester: HttpRequester | undefined;
  #dead: DeadLetterOutput | undefined;
  /** Sequence number of the next input record; restored from the checkpoint. */
  #sequence = 0;
  #deadLettered = 0;
  #closed = false;

  constructor(settings: HttpSinkSettings<T>, ctx: SinkContext) {
    this.#s = settings;
    this.#ctx = ctx;
    this.#step = ctx.name;
    this.#target = `${settings.method} ${httpOptions.display(settings.url)}`;
  }

  /** Restore the sequence number, create the pool, open the dead-letter sink. */
  async start(): Promise<void> {
    const txns = restoredTxns(this.#ctx.restored, this.#step);
    let latest: HttpSinkTxn | undefined;
    for (const txn of txns) if (latest === undefined || txn.checkpointId > latest.checkpointId) latest = txn;
    this.#sequence = latest?.sequence ?? 0;
    const s = this.#s;
    // Loaded here, not at module load: a job that never opens an HTTP sink never loads undici.
    const { Pool } = await import('undici');
    const pool = new Pool(s.url.origin, { connectTimeout: s.timeoutMs, headersTimeout: s.timeoutMs, bodyTimeout: s.timeoutMs });
    this.#pool = pool;
    this.#requester = new HttpRequester({
      dispatcher: pool,
      retry: s.retry,
      timeoutMs: s.timeoutMs,
      signal: this.#ctx.signal,
      clock: s.clock,
      breaker: s.breaker === undefined ? undefined : new CircuitBreaker(s.breaker),
      limiter: s.ratePerSec === undefined ? undefined : new RateLimiter(s.ratePerSec, WHAT),
    });
    if (s.deadLetters !== undefined) {
      try {
        this.#dead = await DeadLetterOutput.open(s.deadLetters, this.#ctx, txns.map((t) => t.deadLetters));
      } catch (err) {
        await this.close();
        throw err;
      }
    }
  }

  /** Counters for metrics and tests. */
  stats(): HttpSinkStats {
    return {
      requests: this.#requester?.requests ?? 0,
      retries: this.#requester?.retries ?? 0,
      deadLettered: this.#deadLettered,
      sequence: this.#sequence,
    };
  }

  write(b: Batch<T>): void | Promise<void> {
    if (b.records.length === 0) return;
    return this.#write(b);
  }

  async preCommit(checkpointId: number): Promise<HttpSinkTxn> {
    const deadTxn = await this.#dead?.preCommit(checkpointId);
    return deadTxn === undefined ? { checkpointId, sequence: this.#sequence } : { checkpointId, sequence: this.#sequence, deadLetters: deadTxn };
  }

  async commit(txn: HttpSinkTxn): Promise<void> {
    await this.#dead?.commit(checkTxn(txn, this.#step).deadLetters);
  }

  async abort(txn: HttpSinkTxn): Promise<void> {
    await this.#dead?.abort(checkTxn(txn, this.#step).deadLetters);
  }

  async flush(): Promise<void> {
    await this.#dead?.flush();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const pool = this.#pool;
    this.#pool = undefined;
    try {
      // Nothing is in flight after a normal end (writes are awaited); after a failure, cut it.
      await pool?.destroy();
    } finally {
      await this.#dead?.close();
    }
  }

  /** Send a batch, `batchSize` records per request, and dead-letter what fails for good. */
  async #write(b: Batch<T>): Promise<void> {
    const { batchSize, method, url, headers, keyHeader } = this.#s;
    const records = b.records;
    const n = records.length;
    const first = this.#sequence;
    const dead: DeadLetter[] = [];
    const deadTimes: number[] = [];
    const json: string[] = [];
    const keys: string[] = [];
    const sent: number[] = [];
    for (let start = 0; start < n; start += batchSize) {
      const end = start + batchSize < n ? start + batchSize : n;
      json.length = 0;
      keys.length = 0;
      sent.length = 0;
      for (let i = start; i < end; i++) {
        const problem = this.#encode(records[i], first + i, json, keys);
        if (problem === undefined) sent.push(i);
        else this.#fail(problem, 'WEIR_BAD_RECORD', records[i], b, i, dead, deadTimes);
      }
      if (sent.length === 0) continue;
      const body = batchSize === 1 ? json[0] : `[${json.join(',')}]`;
      const requestHeaders: Record<string, string> = { ...headers, [keyHeader]: keys.join(', ') };
      // One client span per request (retries included), linked to the records' own traces; its
      // context goes out in `traceparent` so the server's spans join the trace.
      const outcome = await traceCall(
        `HTTP ${method}`,
        { attributes: { 'http.request.method': method, 'url.full': url.origin + url.pathname }, links: recordLinks(sent.map((i) => records[i])) },
        async (span) => {
          injectContext(requestHeaders);
          const result = await this.#requester!.send({ url, method, headers: requestHeaders, body });
          span.setAttribute('weir.http.attempts', result.attempts);
          if (!result.ok) span.setStatus({ code: SpanStatusCode.ERROR, message: result.failure.code });
          return result;
        },
      );
      if (outcome.ok) continue;
      const error = this.#failure(outcome.failure, outcome.attempts);
      for (const i of sent) this.#fail(error, outcome.failure.code, records[i], b, i, dead, deadTimes);
    }
    this.#sequence = first + n;
    if (dead.length > 0) {
      await this.#dead!.write(dead, deadTimes, b.source);
      this.#deadLettered += dead.length;
    }
  }

  /** JSON and key of one record into `json` / `keys`; a record-level problem is returned, not thrown. */
  #encode(record: T, sequence: number, json: string[], keys: string[]): RecordError | undefined {
    let text: string | undefined;
    try {
      text = JSON.stringify(record);
    } catch (err) {
      return new RecordError(this.#step, `record ${sequence} is not JSON-serializable: ${describe(err)}`, err);
    }
    if (text === undefined) text = 'null';
    let key: unknown;
    const custom = this.#s.key;
    if (custom === undefined) {
      key = idempotencyKey(this.#ctx.job, this.#step, sequence, text);
    } else {
      try {
        key = custom(record, sequence);
      } catch (err) {
        throw new UserFunctionError(this.#step, err);
      }
      if (typeof key !== 'string' || key.length === 0 || /[\r\n\0]/.test(key) || (this.#s.batchSize > 1 && key.includes(','))) {
        const rule = this.#s.batchSize > 1 ? "a non-empty single-line string without ','" : 'a non-empty single-line string';
        return new RecordError(this.#step, `idempotencyKey must return ${rule}, got ${show(key)} for record ${sequence}`);
      }
    }
    json.push(text);
    keys.push(key as string);
    return undefined;
  }

  /** The error for a request that failed for good: what the dead letter says, or what fails the job. */
  #failure(failure: HttpFailure, attempts: number): ConnectorError {
    const tries = attempts === 1 ? '1 attempt' : `${attempts} attempts`;
    return new ConnectorError(this.#step, `${this.#target} failed after ${tries}: ${failure.detail}`, {
      cause: failure.cause,
      retryable: failure.retryable,
    });
  }

  /** Dead-letter record `i` of `b`, or throw `error` when there is no dead-letter sink. */
  #fail(error: Error, code: string, record: T, b: Batch<T>, i: number, dead: DeadLetter[], deadTimes: number[]): void {
    if (this.#dead === undefined) throw error;
    dead.push({ record, error: { code, message: error.message, step: this.#step }, source: { name: b.source ?? null } });
    deadTimes.push(b.timestamps[i]);
  }
}

/** The transactions handed in on restore: one (what `preCommit` returned), a list, or none. */
function restoredTxns(restored: unknown, step: string): HttpSinkTxn[] {
  if (restored === undefined || restored === null) return [];
  if (Array.isArray(restored)) return restored.map((txn) => checkTxn(txn, step));
  return [checkTxn(restored, step)];
}

function checkTxn(value: unknown, step: string): HttpSinkTxn {
  const txn = value as HttpSinkTxn;
  const ok =
    txn !== null &&
    typeof txn === 'object' &&
    Number.isSafeInteger(txn.checkpointId) &&
    Number.isSafeInteger(txn.sequence) &&
    txn.sequence >= 0;
  if (!ok) throw new CheckpointError(`sink "${step}": not an http sink transaction: ${show(value)}`, { step });
  return txn;
}
