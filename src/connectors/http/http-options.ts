import { ConfigError, show } from '../../runtime/errors.js';

/**
 * Credentials of an HTTP connector: `{ bearer }` sends `Authorization: Bearer <token>`,
 * `{ username, password }` sends HTTP Basic. Never printed in messages.
 */
export type HttpAuth = { readonly bearer: string } | { readonly username: string; readonly password: string };

/** An HTTP token (RFC 9110): header names and the idempotency header. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * The validation shared by the HTTP source and sink factories: URL, headers with credentials,
 * and durations. Messages start with `where` and name the option and the value (credentials
 * excepted).
 *
 * @example
 * ```ts
 * const url = httpOptions.url('http://127.0.0.1:8080/events', 'sinks.http');
 * const headers = httpOptions.headers({ 'x-tenant': 'a' }, { bearer: 't0k3n' }, 'sinks.http');
 * // { 'x-tenant': 'a', authorization: 'Bearer t0k3n' }
 * ```
 */
export const httpOptions = Object.freeze({
  /** An absolute http(s) URL without credentials (pass those as `auth`). */
  url(value: unknown, where: string, field = 'url'): URL {
    let url: URL | undefined;
    if (typeof value === 'string' || value instanceof URL) {
      try {
        url = new URL(value);
      } catch {
        url = undefined;
      }
    }
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new ConfigError(`${where}: ${field} must be an absolute http:// or https:// URL, got ${show(String(value))}`);
    }
    if (url.username !== '' || url.password !== '') {
      throw new ConfigError(`${where}: ${field} must not contain credentials; pass them as auth: { username, password } or { bearer }`);
    }
    return url;
  },

  /**
   * Headers with lower-cased names, plus `authorization` from `auth`. Names must be HTTP tokens
   * and values single-line strings; an `authorization` header and `auth` together are refused.
   */
  headers(headers: unknown, auth: unknown, where: string): Record<string, string> {
    const out: Record<string, string> = {};
    if (headers !== undefined) {
      if (headers === null || typeof headers !== 'object' || Array.isArray(headers)) {
        throw new ConfigError(`${where}: headers must be an object of header name → string, got ${show(headers)}`);
      }
      for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
        if (!TOKEN.test(name)) throw new ConfigError(`${where}: headers: ${show(name)} is not a valid header name`);
        if (typeof value !== 'string' || /[\r\n\0]/.test(value)) {
          throw new ConfigError(`${where}: headers[${show(name)}] must be a single-line string, got ${show(value)}`);
        }
        out[name.toLowerCase()] = value;
      }
    }
    if (auth !== undefined) {
      if (out.authorization !== undefined) throw new ConfigError(`${where}: give auth or an authorization header, not both`);
      out.authorization = authorization(auth, where);
    }
    return out;
  },

  /** A positive duration in ms, or `fallback` when `undefined`. */
  durationMs(value: unknown, field: string, where: string, fallback?: number): number {
    if (value === undefined && fallback !== undefined) return fallback;
    if (!(typeof value === 'number' && Number.isFinite(value) && value > 0)) {
      throw new ConfigError(`${where}: ${field} must be a positive number of ms, got ${show(value)}`);
    }
    return value;
  },

  /** True when `name` is a valid HTTP header name. */
  isToken(name: unknown): name is string {
    return typeof name === 'string' && TOKEN.test(name);
  },

  /** `url` without query and fragment, for messages (query strings may carry tokens). */
  display(url: URL | string): string {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  },
});

/** The Authorization header value for `auth`; the message never shows the credentials. */
function authorization(auth: unknown, where: string): string {
  const a = auth as Partial<{ bearer: unknown; username: unknown; password: unknown }> | null;
  if (a !== null && typeof a === 'object') {
    if (a.bearer !== undefined && a.username === undefined && a.password === undefined) {
      if (typeof a.bearer === 'string' && a.bearer.length > 0 && !/[\r\n\0]/.test(a.bearer)) return `Bearer ${a.bearer}`;
      throw new ConfigError(`${where}: auth.bearer must be a non-empty single-line string`);
    }
    if (a.bearer === undefined && (a.username !== undefined || a.password !== undefined)) {
      if (typeof a.username !== 'string' || a.username.includes(':') || /[\r\n\0]/.test(a.username)) {
        throw new ConfigError(`${where}: auth.username must be a string without ':' or line breaks`);
      }
      if (typeof a.password !== 'string') throw new ConfigError(`${where}: auth.password must be a string`);
      return `Basic ${Buffer.from(`${a.username}:${a.password}`, 'utf8').toString('base64')}`;
    }
  }
  throw new ConfigError(`${where}: auth must be { bearer } or { username, password }`);
}
