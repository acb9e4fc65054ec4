import { ConfigError, show } from '../runtime/errors.js';

/** The response a page came in, as a pagination function sees it. */
export interface HttpPageResponse {
  readonly status: number;
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The URL the page was fetched from (relative next links resolve against it). */
  readonly url: string;
}

/**
 * How an HTTP source finds the next page of a poll: `'link-header'` follows the RFC 8288 `Link`
 * header's `rel="next"` target (GitHub style); a function gets the parsed body and the response
 * and returns the next page's URL (absolute, or relative to the page's URL), or `undefined` on
 * the last page.
 */
export interface HttpPagination {
  readonly next: 'link-header' | ((body: unknown, response: HttpPageResponse) => string | undefined);
}

/** Finds the absolute URL of the page after the one given, or `undefined` after the last page. */
export type NextPage = (body: unknown, response: HttpPageResponse) => string | undefined;

/**
 * Validate a pagination option and compile it to a {@link NextPage} function. The compiled
 * function throws a `TypeError` when a user function returns something else than a string or
 * `undefined`, or a URL that does not parse (the source reports it with its step name). A next
 * link equal to the page's own URL ends the poll, so a server that links a page to itself
 * cannot make the source loop.
 *
 * @example
 * ```ts
 * const next = httpPagination({ next: 'link-header' }, 'sources.http')!;
 * next(undefined, { status: 200, url: 'http://h/items?page=1', headers: { link: '</items?page=2>; rel="next"' } });
 * // 'http://h/items?page=2'
 * const byBody = httpPagination({ next: (body) => (body as { next?: string }).next }, 'sources.http');
 * ```
 */
export function httpPagination(options: HttpPagination | undefined, where: string): NextPage | undefined {
  if (options === undefined) return undefined;
  if (options === null || typeof options !== 'object') {
    throw new ConfigError(`${where}: pagination must be { next: 'link-header' | (body, response) => url }, got ${show(options)}`);
  }
  const next = options.next;
  if (next === 'link-header') return (_body, response) => same(linkNext(response.headers.link, response.url), response.url);
  if (typeof next === 'function') {
    return (body, response) => {
      const target = next(body, response);
      if (target === undefined || target === null || target === '') return undefined;
      if (typeof target !== 'string') throw new TypeError(`pagination.next must return a URL string or undefined, got ${show(target)}`);
      return same(resolve(target, response.url), response.url);
    };
  }
  throw new ConfigError(`${where}: pagination.next must be 'link-header' or a function (body, response) => url, got ${show(next)}`);
}

/** The `rel="next"` target of a Link header (one header or several), resolved against `base`. */
export function linkNext(header: string | string[] | undefined, base: string): string | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join(', ') : header;
  // Each link is `<target>` followed by `; name=value` parameters up to the next `<`.
  for (const match of text.matchAll(/<([^>]*)>([^<]*)/g)) {
    const rel = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s";,]+))/i.exec(match[2]);
    if (rel === null) continue;
    const relations = (rel[1] ?? rel[2]).toLowerCase().split(/\s+/);
    if (relations.includes('next')) return resolve(match[1].trim(), base);
  }
  return undefined;
}

function resolve(target: string, base: string): string {
  try {
    return new URL(target, base).href;
  } catch {
    throw new TypeError(`next page URL ${show(target)} does not parse (relative to ${show(base)})`);
  }
}

function same(next: string | undefined, current: string): string | undefined {
  return next === undefined || next === new URL(current).href ? undefined : next;
}
