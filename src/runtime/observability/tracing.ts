import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { describe } from '../errors.js';
import { extractContext, hasTraceContext, injectContext, recordHeaders, type WritableHeaders } from './trace-context.js';

/**
 * Tracing through the OpenTelemetry API only: weir creates spans, the application decides whether
 * they go anywhere by registering an SDK (without one every span is a no-op). Span names are
 * low-cardinality (`weir.checkpoint`, `weir.batch`…); step names and ids are attributes.
 */

/** Instrumentation scope of every span weir creates. */
export const TRACER_NAME = 'weir';

/** The tracer weir uses (looked up per call: an SDK registered after the job started still counts). */
export function weirTracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

/** Attribute names weir puts on its spans. */
export const ATTR = Object.freeze({
  job: 'weir.job',
  step: 'weir.step',
  stepKind: 'weir.step.kind',
  records: 'weir.batch.records',
  checkpointId: 'weir.checkpoint.id',
  checkpointKind: 'weir.checkpoint.kind',
  checkpointBytes: 'weir.checkpoint.bytes',
});

/**
 * Run `handle` — the handling of one sampled batch of `records` records by `step` — inside a
 * `weir.batch` span made active, so spans of external calls made meanwhile (an HTTP sink's
 * request) become its children. The span ends when `handle` returns or its promise settles.
 * The runtime calls this for one batch in `traceBatches` per step; it is never on the unsampled path.
 */
export function traceBatch<R>(job: string, step: string, records: number, handle: () => R): R {
  const span = weirTracer().startSpan('weir.batch', { attributes: { [ATTR.job]: job, [ATTR.step]: step, [ATTR.records]: records } });
  return runInSpan(span, handle);
}

/** Options of {@link traceCall}. */
export interface TraceCallOptions {
  /** Default `SpanKind.CLIENT`. */
  readonly kind?: SpanKind;
  readonly attributes?: Attributes;
  /** Parent context. Default: the active one (a sampled batch span, if any). */
  readonly parent?: Context;
  /** Related spans that are not the parent (e.g. the traces of the records in the call). */
  readonly links?: Link[];
}

/**
 * Run `call` — one call to an external system (an HTTP request, a Kafka produce) — inside an
 * active span named `name`. A throw or a rejected promise marks the span as failed (status
 * ERROR, exception recorded) and is passed on; the span ends when `call` settles. Inside,
 * `injectContext(requestHeaders)` propagates the span to the system called.
 *
 * @example
 * ```ts
 * await traceCall('POST /ingest', { attributes: { 'http.request.method': 'POST' } }, async () => {
 *   const headers = injectContext({ 'content-type': 'application/json' });
 *   await fetch('http://127.0.0.1:8080/ingest', { method: 'POST', headers: headers as Record<string, string>, body: '[]' });
 * });
 * ```
 */
export function traceCall<R>(name: string, options: TraceCallOptions, call: (span: Span) => R): R {
  const span = weirTracer().startSpan(
    name,
    { kind: options.kind ?? SpanKind.CLIENT, attributes: options.attributes, links: options.links },
    options.parent ?? context.active(),
  );
  return runInSpan(span, () => call(span), options.parent);
}

/**
 * The trace context carried in `record.headers` (see {@link recordHeaders}), as a child of the
 * active context; the active context itself when the record carries none.
 *
 * @example
 * ```ts
 * const parent = continueFromHeaders({ id: 1, headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } });
 * await traceCall('POST /orders', { parent }, () => fetch('http://127.0.0.1:8080/orders', { method: 'POST' }));
 * ```
 */
export function continueFromHeaders(record: unknown): Context {
  return extractContext(recordHeaders(record));
}

/**
 * Write the trace context of `ctx` (default: the active context) into `record.headers`, in
 * place, creating `headers` when the record is an object without them. Returns the record.
 * For connectors building outgoing messages; never call it on a record another step still holds.
 *
 * @example
 * ```ts
 * const message = { key: 'k', value: '{}', headers: {} as Record<string, string> };
 * traceCall('kafka produce orders', { kind: SpanKind.PRODUCER }, () => injectIntoHeaders(message));
 * ```
 */
export function injectIntoHeaders<T>(record: T, ctx: Context = context.active()): T {
  if (record === null || typeof record !== 'object') return record;
  const holder = record as { headers?: unknown };
  if (holder.headers === null || typeof holder.headers !== 'object') holder.headers = {};
  injectContext(holder.headers as WritableHeaders, ctx);
  return record;
}

/**
 * Links to the traces of the records that carry trace context in `headers`, at most `max` of
 * them (a span with thousands of links helps nobody): for a call that sends many records at once
 * and so cannot be the child of each (an HTTP request carrying a batch).
 *
 * @example
 * ```ts
 * await traceCall('POST /ingest', { links: recordLinks(batch.records) }, () => send(batch.records));
 * ```
 */
export function recordLinks(records: readonly unknown[], max = 32): Link[] {
  const links: Link[] = [];
  for (let i = 0; i < records.length && links.length < max; i++) {
    const headers = recordHeaders(records[i]);
    if (!hasTraceContext(headers)) continue;
    const span = trace.getSpanContext(extractContext(headers, ROOT_CONTEXT));
    if (span !== undefined) links.push({ context: span });
  }
  return links;
}

/** Options of {@link traceSend}. */
export interface TraceSendOptions<T> {
  /** Span name: `<system> <operation> <destination>`, e.g. `kafka produce orders`. */
  readonly name: string;
  readonly attributes?: Attributes;
  /**
   * The headers of the message record `index` is sent as (created by the connector), where its
   * trace context is written; `undefined` when that message has no headers to carry it.
   */
  outgoing(record: T, index: number): WritableHeaders | undefined;
}

/**
 * Trace one send of `records` to a messaging system (a Kafka produce): a CLIENT span `name`
 * around `send`; for each record whose `headers` carry trace context, a PRODUCER span continuing
 * that trace (linked to the call), whose context is written into the record's outgoing headers;
 * records without context get the call span's context. The consumer of the messages thus
 * continues each record's own trace. Spans end when `send` settles, failed when it rejects.
 *
 * Cost: one span per send, plus one per record that carries trace context; nothing per record
 * without headers.
 *
 * @example
 * ```ts
 * const messages = batch.records.map((r) => ({ value: JSON.stringify(r.value), headers: { ...r.headers } }));
 * await traceSend(batch.records, { name: 'kafka produce orders', outgoing: (_r, i) => messages[i].headers },
 *   () => producer.send({ topic: 'orders', messages }));
 * ```
 */
export function traceSend<T, R>(records: readonly T[], options: TraceSendOptions<T>, send: () => Promise<R>): Promise<R> {
  const tracer = weirTracer();
  const active = context.active();
  const call = tracer.startSpan(options.name, { kind: SpanKind.CLIENT, attributes: { ...options.attributes, [ATTR.records]: records.length } }, active);
  const callContext = trace.setSpan(active, call);
  let producers: Span[] | undefined;
  for (let i = 0; i < records.length; i++) {
    const headers = options.outgoing(records[i], i);
    if (headers === undefined) continue;
    const incoming = recordHeaders(records[i]);
    if (!hasTraceContext(incoming)) {
      injectContext(headers, callContext);
      continue;
    }
    const producer = tracer.startSpan(
      options.name,
      { kind: SpanKind.PRODUCER, attributes: options.attributes, links: [{ context: call.spanContext() }] },
      extractContext(incoming, active),
    );
    (producers ??= []).push(producer);
    injectContext(headers, trace.setSpan(active, producer));
  }
  const finish = (failed: boolean, err?: unknown): void => {
    for (const span of producers ?? []) endSpan(span, failed, err);
    endSpan(call, failed, err);
  };
  let pending: Promise<R>;
  try {
    pending = context.with(callContext, send);
  } catch (err) {
    finish(true, err);
    return Promise.reject(err);
  }
  return pending.then(
    (value) => {
      finish(false);
      return value;
    },
    (err: unknown) => {
      finish(true, err);
      throw err;
    },
  );
}

/** Run `fn` with `span` active; end the span (failed on error) when `fn` returns or settles. */
function runInSpan<R>(span: Span, fn: () => R, parent: Context = context.active()): R {
  let result: R;
  try {
    result = context.with(trace.setSpan(parent, span), fn);
  } catch (err) {
    endSpan(span, true, err);
    throw err;
  }
  if (result !== null && typeof result === 'object' && typeof (result as unknown as Promise<unknown>).then === 'function') {
    return (result as unknown as Promise<unknown>).then(
      (value) => {
        endSpan(span, false);
        return value;
      },
      (err: unknown) => {
        endSpan(span, true, err);
        throw err;
      },
    ) as R;
  }
  endSpan(span, false);
  return result;
}

/** End a span; when `failed`, first record `err` on it and set its status to ERROR. */
export function endSpan(span: Span, failed: boolean, err?: unknown): void {
  if (failed) {
    span.recordException(err instanceof Error ? err : describe(err));
    span.setStatus({ code: SpanStatusCode.ERROR, message: describe(err) });
  }
  span.end();
}
