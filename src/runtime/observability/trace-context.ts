import { context, propagation, type Context, type TextMapGetter, type TextMapSetter } from '@opentelemetry/api';

/**
 * Message headers as connectors expose them: HTTP headers (string values), Kafka headers
 * (strings, Buffers, or arrays of either). Names are matched as given, then lower-cased.
 */
export type MessageHeaders = Readonly<Record<string, string | Uint8Array | ReadonlyArray<string | Uint8Array> | undefined>>;

/** Headers trace context is written into (string values are set). */
export type WritableHeaders = Record<string, unknown>;

/** The W3C header weir looks for to decide whether a record carries trace context. */
export const TRACEPARENT = 'traceparent';

const getter: TextMapGetter<MessageHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get(carrier, key) {
    const value = carrier[key] ?? carrier[key.toLowerCase()];
    if (value === undefined) return undefined;
    if (typeof value === 'string') return value;
    if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
    return value.map((v) => (typeof v === 'string' ? v : Buffer.from(v).toString('utf8')));
  },
};

const setter: TextMapSetter<WritableHeaders> = {
  set(carrier, key, value) {
    carrier[key] = value;
  },
};

/**
 * The trace context carried by `headers` (W3C `traceparent`/`tracestate`, or whatever propagator
 * the application registered), as a child of `base` (default: the active context). Without
 * headers, or without a registered propagator, it returns `base` unchanged.
 *
 * A source connector (Kafka, HTTP) calls this on a message's headers; so does a sink connector
 * for each record it sends, to continue the record's trace.
 *
 * @example
 * ```ts
 * const parent = extractContext({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
 * trace.getTracer('weir').startSpan('produce', {}, parent).end();
 * ```
 */
export function extractContext(headers: MessageHeaders | undefined, base: Context = context.active()): Context {
  if (headers === undefined || headers === null) return base;
  return propagation.extract(base, headers, getter);
}

/**
 * Write the trace context of `ctx` (default: the active context, e.g. the span around a send)
 * into `headers`, in place, and return them. Existing trace headers are replaced. Does nothing
 * when no span is in `ctx` or no propagator is registered.
 *
 * @example
 * ```ts
 * const headers: Record<string, unknown> = {};
 * trace.getTracer('weir').startActiveSpan('send', (span) => { injectContext(headers); span.end(); });
 * ```
 */
export function injectContext<H extends WritableHeaders>(headers: H, ctx: Context = context.active()): H {
  propagation.inject(ctx, headers, setter);
  return headers;
}

/** True when `headers` carry a W3C trace parent (a cheap check before extracting). */
export function hasTraceContext(headers: MessageHeaders | undefined): boolean {
  return headers !== undefined && headers !== null && (headers[TRACEPARENT] !== undefined || headers.Traceparent !== undefined);
}

/**
 * The `headers` field of a record, when it is an object: the convention for records that carry
 * message headers through a job (a Kafka or HTTP source puts them there; a map that builds a new
 * record copies them for the trace to continue).
 */
export function recordHeaders(record: unknown): MessageHeaders | undefined {
  if (record === null || typeof record !== 'object') return undefined;
  const headers = (record as { headers?: unknown }).headers;
  return headers !== null && typeof headers === 'object' ? (headers as MessageHeaders) : undefined;
}
