import { retryAfterMs } from './retry-after.js';

/**
 * Why one HTTP attempt failed, classified for retrying and for dead letters.
 *
 * `code` is what dead letters carry in `error.code`: `WEIR_HTTP_<status>` for a response with a
 * failing status (`WEIR_HTTP_503`), `WEIR_HTTP_TIMEOUT` when no (complete) response came in
 * time, `WEIR_HTTP_NETWORK` for a refused or reset connection, `WEIR_HTTP_REQUEST` for a
 * request undici refused to send.
 */
export interface HttpFailure {
  readonly code: string;
  /** The response status, when a response came. */
  readonly status: number | undefined;
  /** True when the same request may succeed later (5xx but 501/505, 408, 429, timeouts, network). */
  readonly retryable: boolean;
  /** The server's Retry-After (429 and 503 only), in ms. */
  readonly retryAfterMs: number | undefined;
  /** One line for messages: `status 503 (Service Unavailable): <start of the body>`. */
  readonly detail: string;
  /** The transport error, when there was one. */
  readonly cause?: unknown;
}

/** Error codes of undici and Node's sockets that mean "the request may work if sent again". */
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']);
const NETWORK_CODES = new Set([
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
  'UND_ERR_REQ_RETRY',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

/** Longest body excerpt kept in a failure's detail. */
const DETAIL_CHARS = 200;

/**
 * Classify HTTP failures: a response with a failing status ({@link httpFailure.status}) or a
 * transport error ({@link httpFailure.error}).
 *
 * @example
 * ```ts
 * httpFailure.status(429, { 'retry-after': '1' }, 'slow down', Date.now());
 * // { code: 'WEIR_HTTP_429', status: 429, retryable: true, retryAfterMs: 1000, detail: 'status 429 (Too Many Requests): slow down' }
 * ```
 */
export const httpFailure = Object.freeze({
  /** A response whose status is not a success; `body` is (the start of) the response body. */
  status(status: number, headers: Record<string, string | string[] | undefined>, body: string, nowMs: number): HttpFailure {
    const retryable = isRetryableStatus(status);
    const honoursRetryAfter = status === 429 || status === 503;
    const excerpt = body.length > DETAIL_CHARS ? `${body.slice(0, DETAIL_CHARS - 3)}...` : body;
    const reason = STATUS_TEXT[status];
    return {
      code: `WEIR_HTTP_${status}`,
      status,
      retryable,
      retryAfterMs: honoursRetryAfter ? retryAfterMs(headers['retry-after'], nowMs) : undefined,
      detail: `status ${status}${reason === undefined ? '' : ` (${reason})`}${excerpt.trim() === '' ? '' : `: ${excerpt.replace(/\s+/g, ' ').trim()}`}`,
    };
  },

  /** A transport error (timeout, reset, refused connection…) thrown by undici. */
  error(err: unknown, timeoutMs: number): HttpFailure {
    const code = String((err as { code?: unknown } | null)?.code ?? '');
    const message = err instanceof Error ? err.message : String(err);
    if (TIMEOUT_CODES.has(code)) {
      return { code: 'WEIR_HTTP_TIMEOUT', status: undefined, retryable: true, retryAfterMs: undefined, detail: `no response within ${timeoutMs} ms (${code})`, cause: err };
    }
    if (NETWORK_CODES.has(code)) {
      return { code: 'WEIR_HTTP_NETWORK', status: undefined, retryable: true, retryAfterMs: undefined, detail: `connection failed (${code}: ${message})`, cause: err };
    }
    return { code: 'WEIR_HTTP_REQUEST', status: undefined, retryable: false, retryAfterMs: undefined, detail: `request failed (${code || 'error'}: ${message})`, cause: err };
  },
});

/** 408, 429 and 5xx (but 501 Not Implemented and 505 HTTP Version Not Supported) may pass later. */
function isRetryableStatus(status: number): boolean {
  if (status === 408 || status === 429) return true;
  return status >= 500 && status <= 599 && status !== 501 && status !== 505;
}

const STATUS_TEXT: Record<number, string> = {
  300: 'Multiple Choices',
  301: 'Moved Permanently',
  302: 'Found',
  303: 'See Other',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
};
