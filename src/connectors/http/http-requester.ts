import type { Dispatcher } from 'undici';
import type { Clock } from '../../runtime/clock.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import { abortReason, delay } from './delay.js';
import { httpFailure, type HttpFailure } from './http-failure.js';
import type { RateLimiter } from './rate-limiter.js';
import type { RetryPolicy } from './retry-policy.js';

/** One HTTP request, sent as is on every attempt (so a retry carries the same idempotency key). */
export interface HttpRequest {
  readonly url: URL;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
}

/** A response with an accepted status. */
export interface HttpResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  /** The body as text when the requester reads bodies, else `''`. */
  readonly text: string;
}

/** What {@link HttpRequester.send} resolves to: a response, or the last attempt's failure. */
export type HttpOutcome =
  | { readonly ok: true; readonly response: HttpResponse; readonly attempts: number }
  | { readonly ok: false; readonly failure: HttpFailure; readonly attempts: number };

/** How a {@link HttpRequester} sends. */
export interface HttpRequesterSettings {
  /** An undici Pool (one origin) or Agent (any origin); the requester never closes it. */
  readonly dispatcher: Dispatcher;
  readonly retry: RetryPolicy;
  /** Bound on one attempt, from sending to the end of the response body, in ms. Real time, whatever the clock. */
  readonly timeoutMs: number;
  /** Aborts a request or wait in progress; `send` then rejects with the signal's reason. */
  readonly signal: AbortSignal;
  /** Clock of the waits (retry delays, breaker, rate limit). Default: real time. */
  readonly clock?: Clock;
  readonly breaker?: CircuitBreaker;
  readonly limiter?: RateLimiter;
  /** Statuses that count as success. Default: 2xx. */
  readonly accept?: (status: number) => boolean;
  /** Read the body of accepted responses (the source does; the sink discards it). Default false. */
  readonly readBody?: boolean;
}

/** Bytes of a failing response's body kept for messages; the rest is discarded. */
const ERROR_BODY_BYTES = 1024;

const is2xx = (status: number): boolean => status >= 200 && status < 300;

/**
 * Sends HTTP requests with the resilience shared by the HTTP source and sink, one request at a
 * time per requester: before each attempt it waits for the circuit breaker (open: wait, never
 * drop) and the rate limiter; a retryable failure (5xx but 501/505, 408, 429, timeout, reset or
 * refused connection) is retried after the retry policy's backoff, or the server's Retry-After
 * on 429/503 when that is longer; a permanent failure (other statuses) is not retried.
 *
 * `send` resolves to an outcome instead of throwing for HTTP failures, so the caller decides
 * between dead letters and failing the job; it rejects only when the signal aborts.
 * Counters `requests` and `retries` are for metrics and tests.
 *
 * @example
 * ```ts
 * const requester = new HttpRequester({ dispatcher: pool, retry: retryPolicy({}, 'sinks.http'), timeoutMs: 5_000, signal });
 * const outcome = await requester.send({ url: new URL('http://127.0.0.1:8080/in'), method: 'POST', headers: {}, body: '{}' });
 * if (!outcome.ok) console.error(outcome.failure.detail);
 * ```
 */
export class HttpRequester {
  readonly #s: HttpRequesterSettings;
  readonly #accept: (status: number) => boolean;
  /** Requests sent (attempts), including retries. */
  requests = 0;
  /** Attempts that were retries. */
  retries = 0;

  constructor(settings: HttpRequesterSettings) {
    this.#s = settings;
    this.#accept = settings.accept ?? is2xx;
  }

  /** Send `request` until it is accepted, fails permanently, or runs out of attempts. */
  async send(request: HttpRequest): Promise<HttpOutcome> {
    const { retry, breaker, signal, clock } = this.#s;
    for (let attempt = 1; ; attempt++) {
      await this.#gate();
      const result = await this.#attempt(request);
      if (!('code' in result)) {
        breaker?.onSuccess();
        return { ok: true, response: result, attempts: attempt };
      }
      // A permanent failure is an answer: the server is up, so it closes the circuit too.
      if (result.retryable) breaker?.onFailure(this.#now());
      else breaker?.onSuccess();
      const wait = result.retryable ? retry.delayMs(attempt, result.retryAfterMs) : undefined;
      if (wait === undefined) return { ok: false, failure: result, attempts: attempt };
      this.retries++;
      await delay(wait, signal, clock);
    }
  }

  /** Wait until the circuit lets a request through, then for a rate-limit token. */
  async #gate(): Promise<void> {
    const { breaker, limiter, signal, clock } = this.#s;
    if (breaker !== undefined) {
      for (let wait = breaker.waitMs(this.#now()); wait > 0; wait = breaker.waitMs(this.#now())) await delay(wait, signal, clock);
    }
    // After the breaker: asking it again after a rate-limit wait would see our own probe in flight.
    if (limiter !== undefined) {
      for (let wait = limiter.take(this.#now()); wait > 0; wait = limiter.take(this.#now())) await delay(wait, signal, clock);
    }
  }

  /**
   * One attempt: the accepted response, or why it failed. Rejects only on abort.
   *
   * The deadline is a timer of our own over the whole attempt (headers and body): undici's
   * headersTimeout/bodyTimeout (set to the same value on the dispatcher, as a backstop) tick in
   * coarse steps of up to a second, and bodyTimeout only bounds the gaps between chunks.
   */
  async #attempt(request: HttpRequest): Promise<HttpResponse | HttpFailure> {
    const { dispatcher, timeoutMs, signal } = this.#s;
    // A listener added to an already aborted signal never fires: check first.
    if (signal.aborted) throw abortReason(signal);
    const url = request.url;
    this.requests++;
    const attempt = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      attempt.abort(new Error(`no response within ${timeoutMs} ms`));
    }, timeoutMs);
    const onAbort = (): void => attempt.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const res = await dispatcher.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: request.method as Dispatcher.HttpMethod,
        headers: request.headers,
        body: request.body ?? null,
        signal: attempt.signal,
      });
      const headers = res.headers as Record<string, string | string[] | undefined>;
      if (this.#accept(res.statusCode)) {
        // The body is read in full (or discarded) so the connection goes back to the pool.
        const text = this.#s.readBody ? await res.body.text() : (await res.body.dump(), '');
        return { status: res.statusCode, headers, text };
      }
      const body = await readStart(res.body);
      return httpFailure.status(res.statusCode, headers, body, this.#now());
    } catch (err) {
      if (signal.aborted) throw abortReason(signal);
      return httpFailure.error(timedOut ? Object.assign(new Error(`timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT', cause: err }) : err, timeoutMs);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  #now(): number {
    return this.#s.clock?.now() ?? Date.now();
  }
}

/** The first {@link ERROR_BODY_BYTES} of a body as text; the rest is discarded. */
async function readStart(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= ERROR_BODY_BYTES) break;
  }
  // Leaving the loop early destroys the body (and with it the connection): fine for an error.
  return Buffer.concat(chunks).subarray(0, ERROR_BODY_BYTES).toString('utf8');
}
