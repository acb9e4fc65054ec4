import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { pipeline } from '../../src/builder/pipeline.js';
import { ManualClock } from '../../src/runtime/clock.js';
import { CheckpointError, ConfigError, ConnectorError, UserFunctionError, WeirError } from '../../src/runtime/errors.js';
import type { SourceChunk, SourceContext, SourceReader } from '../../src/runtime/source.js';
import { collectSink } from '../../src/sinks/collect-sink.js';
import { linkNext } from '../../src/sources/http-pagination.js';
import { httpSource, type HttpSourceOptions, type HttpSourcePosition } from '../../src/sources/http-source.js';

// ---------------------------------------------------------------------------------------------
// A real HTTP server on loopback: a growing list of items with a since-cursor, pages (Link header
// or a body field), ETags, and injected failures.

interface Item {
  id: number;
  name: string;
}

type Fault = '500' | 'reset' | 'hang' | '429' | '404';

interface SourceServer {
  readonly base: string;
  readonly items: Item[];
  /** Items per page; 0: no pagination. */
  pageSize: number;
  /** Failures of the next requests, consumed in order. */
  readonly faults: Fault[];
  readonly requests: Array<{ path: string; headers: IncomingHttpHeaders; status: number }>;
  add(n: number): void;
  close(): Promise<void>;
}

const servers: SourceServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function startServer(initial = 0, pageSize = 0): Promise<SourceServer> {
  const hung: ServerResponse[] = [];
  const state: SourceServer = {
    base: '',
    items: [],
    pageSize,
    faults: [],
    requests: [],
    add(n) {
      const from = this.items.length;
      for (let k = 0; k < n; k++) this.items.push({ id: from + k + 1, name: `item-${from + k + 1}` });
    },
    close: async () => {
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  state.add(initial);
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const entry = { path: `${url.pathname}${url.search}`, headers: req.headers, status: 0 };
    state.requests.push(entry);
    const send = (status: number, body: string, headers: Record<string, string> = {}): void => {
      entry.status = status;
      res.writeHead(status, headers).end(body);
    };
    const fault = state.faults.shift();
    switch (fault) {
      case '500':
        return send(500, 'boom');
      case '404':
        return send(404, 'no such thing');
      case '429':
        return send(429, 'slow down', { 'retry-after': '0' });
      case 'reset':
        req.socket.destroy();
        return;
      case 'hang':
        hung.push(res);
        return;
    }
    const since = Number(url.searchParams.get('since') ?? url.searchParams.get('cursor') ?? 0);
    const page = Number(url.searchParams.get('page') ?? 1);
    const newer = state.items.filter((i) => i.id > since);
    const size = state.pageSize;
    const slice = size === 0 ? newer : newer.slice((page - 1) * size, page * size);
    const more = size > 0 && page * size < newer.length;
    switch (url.pathname) {
      case '/items': {
        const body = JSON.stringify(slice);
        const etag = `"${createHash('sha1').update(body).digest('hex').slice(0, 16)}"`;
        if (req.headers['if-none-match'] === etag) return send(304, '', { etag });
        const headers: Record<string, string> = { 'content-type': 'application/json', etag };
        if (more) headers.link = `</items?since=${since}&page=${page + 1}>; rel="next", </items?since=${since}&page=1>; rel="first"`;
        return send(200, body, headers);
      }
      case '/wrapped': {
        // A body-level cursor: { data, next } with a relative next link.
        const next = more ? `wrapped?cursor=${since}&page=${page + 1}` : null;
        return send(200, JSON.stringify({ data: slice, next }), { 'content-type': 'application/json' });
      }
      case '/text':
        return send(200, 'not json');
      case '/object':
        return send(200, '{"foo":1}');
      case '/empty':
        return send(204, '');
      default:
        return send(404, 'unknown path');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  (state as { base: string }).base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  servers.push(state);
  return state;
}

// ---------------------------------------------------------------------------------------------

function ctx(restored?: unknown, signal = new AbortController().signal): SourceContext {
  return { job: 'job', name: 'poll', signal, restored, now: () => Date.now() };
}

/** The http source's reader always has close. */
type Reader<T> = SourceReader<T> & { close(): Promise<void> };

async function openReader<T = Item>(options: HttpSourceOptions<T>, context = ctx()): Promise<Reader<T>> {
  return (await httpSource(options).open(context)) as Reader<T>;
}

async function read<T>(reader: SourceReader<T>, max = 100): Promise<T[]> {
  const chunk = (await reader.read(max)) as SourceChunk<T>;
  return chunk.records;
}

/** Wait (a few ms at a time) until `cond` holds. */
async function until(cond: () => boolean, what = 'condition'): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const ids = (items: Item[]): number[] => items.map((i) => i.id);

const FAST = { attempts: 5, baseDelayMs: 1, maxDelayMs: 5 };

// ---------------------------------------------------------------------------------------------

describe('httpSource: polling', () => {
  it('polls at once, then every intervalMs on the clock; a 304 (ETag) is an empty chunk', async () => {
    const server = await startServer(3);
    const clock = new ManualClock(0);
    const reader = await openReader({ url: `${server.base}/items`, intervalMs: 500, clock });
    expect(ids(await read(reader))).toEqual([1, 2, 3]);
    expect(reader.position()).toEqual({ etag: expect.stringMatching(/^"/) });

    const second = reader.read(100) as Promise<SourceChunk<Item>>;
    await until(() => clock.pending === 1, 'poll timer');
    expect(server.requests).toHaveLength(1);
    clock.advance(500);
    expect((await second).records).toEqual([]);
    expect(server.requests[1].headers['if-none-match']).toBe((reader.position() as HttpSourcePosition).etag);
    expect(server.requests[1].status).toBe(304);

    server.add(2);
    const third = reader.read(100) as Promise<SourceChunk<Item>>;
    await until(() => clock.pending === 1, 'poll timer');
    clock.advance(500);
    expect(ids((await third).records)).toEqual([1, 2, 3, 4, 5]); // no cursor: the whole resource again
    await reader.close();
  });

  it('returns an empty chunk at least once a second while waiting for a long interval (barriers get in)', async () => {
    const server = await startServer(1);
    const clock = new ManualClock(0);
    const reader = await openReader({ url: `${server.base}/items`, intervalMs: 60_000, clock });
    await read(reader);
    const idle = reader.read(100) as Promise<SourceChunk<Item>>;
    await until(() => clock.pending === 1, 'idle timer');
    clock.advance(1000);
    expect((await idle).records).toEqual([]);
    expect(server.requests).toHaveLength(1);
    clock.set(60_000 - 1);
    const next = reader.read(100) as Promise<SourceChunk<Item>>;
    await until(() => clock.pending === 1, 'idle timer');
    clock.advance(1);
    await next;
    expect(server.requests).toHaveLength(2);
    await reader.close();
  });

  it('advances a cursor from the records and sends it on the next poll', async () => {
    const server = await startServer(4);
    const clock = new ManualClock(0);
    const reader = await openReader({
      url: `${server.base}/items?limit=50`,
      intervalMs: 100,
      cursor: { param: 'since', from: (i: Item) => String(i.id) },
      clock,
    });
    expect(ids(await read(reader, 3))).toEqual([1, 2, 3]);
    expect(reader.position()).toMatchObject({ cursor: '3', skip: 3, page: `${server.base}/items?limit=50` });
    expect(ids(await read(reader))).toEqual([4]);
    expect(reader.position()).toEqual({ cursor: '4', etag: expect.any(String) });
    server.add(2);
    const next = reader.read(100) as Promise<SourceChunk<Item>>;
    await until(() => clock.pending === 1, 'poll timer');
    clock.advance(100);
    expect(ids((await next).records)).toEqual([5, 6]);
    expect(server.requests[1].path).toBe('/items?limit=50&since=4');
    expect(reader.position()).toMatchObject({ cursor: '6' });
    await reader.close();
  });

  it('starts from cursor.initial', async () => {
    const server = await startServer(5);
    const reader = await openReader({ url: `${server.base}/items`, intervalMs: 100, cursor: { param: 'since', from: (i: Item) => String(i.id), initial: '3' } });
    expect(ids(await read(reader))).toEqual([4, 5]);
    await reader.close();
  });
});

describe('httpSource: pagination', () => {
  it('follows the Link header rel="next" through every page of a poll', async () => {
    const server = await startServer(7, 3);
    const clock = new ManualClock(0);
    const reader = await openReader({ url: `${server.base}/items`, intervalMs: 100, pagination: { next: 'link-header' }, clock });
    expect(ids(await read(reader))).toEqual([1, 2, 3]);
    expect(reader.position()).toMatchObject({ page: `${server.base}/items?since=0&page=2` });
    expect(ids(await read(reader))).toEqual([4, 5, 6]);
    expect(ids(await read(reader))).toEqual([7]);
    expect(server.requests.map((r) => r.path)).toEqual(['/items', '/items?since=0&page=2', '/items?since=0&page=3']);
    // The poll is over: the next read waits for the clock.
    const next = reader.read(100);
    await until(() => clock.pending === 1, 'poll timer');
    expect(server.requests).toHaveLength(3);
    clock.advance(100);
    await next;
    await reader.close();
  });

  it('follows a next link a function finds in the body (relative URLs resolve against the page)', async () => {
    const server = await startServer(5, 2);
    const reader = await openReader<Item>({
      url: `${server.base}/wrapped`,
      intervalMs: 100,
      pagination: { next: (body) => (body as { next: string | null }).next ?? undefined },
    });
    const got: number[] = [];
    for (let i = 0; i < 3; i++) got.push(...ids(await read(reader)));
    expect(got).toEqual([1, 2, 3, 4, 5]);
    expect(server.requests.map((r) => r.path)).toEqual(['/wrapped', '/wrapped?cursor=0&page=2', '/wrapped?cursor=0&page=3']);
    await reader.close();
  });

  it('parses Link headers', () => {
    const base = 'http://h/a/b?x=1';
    expect(linkNext('<http://o/p?page=2>; rel="next"', base)).toBe('http://o/p?page=2');
    expect(linkNext('</c?page=2>; rel=next', base)).toBe('http://h/c?page=2');
    expect(linkNext('<d>; rel="prev", <e>; title="x, y"; rel="last next"', base)).toBe('http://h/a/e');
    expect(linkNext(['<p1>; rel="first"', '<p2>; REL="Next"'], base)).toBe('http://h/a/p2');
    expect(linkNext('<p1>; rel="first"', base)).toBeUndefined();
    expect(linkNext(undefined, base)).toBeUndefined();
  });
});

describe('httpSource: positions', () => {
  it('resumes mid-page from a restored position, skipping the records already returned', async () => {
    const server = await startServer(7, 3);
    const options: HttpSourceOptions<Item> = {
      url: `${server.base}/items`,
      intervalMs: 100,
      pagination: { next: 'link-header' },
      cursor: { param: 'since', from: (i) => String(i.id) },
    };
    const first = await openReader(options);
    expect(ids(await read(first, 2))).toEqual([1, 2]);
    const position = first.position();
    expect(position).toMatchObject({ cursor: '2', page: `${server.base}/items`, skip: 2 });
    await first.close();

    const second = await openReader(options, ctx(structuredClone(position)));
    const rest: number[] = [];
    for (let i = 0; i < 3; i++) rest.push(...ids(await read(second)));
    expect(rest).toEqual([3, 4, 5, 6, 7]);
    await second.close();
  });

  it('resumes cursor and ETag: the first poll after a restore is conditional and incremental', async () => {
    const server = await startServer(3);
    const options: HttpSourceOptions<Item> = { url: `${server.base}/items`, intervalMs: 100, cursor: { param: 'since', from: (i) => String(i.id) } };
    const first = await openReader(options);
    await read(first);
    const empty = first.read(100) as Promise<SourceChunk<Item>>; // second poll, since=3: an empty list with its own ETag
    expect((await empty).records).toEqual([]);
    const position = first.position() as HttpSourcePosition;
    await first.close();
    expect(position.cursor).toBe('3');

    const second = await openReader(options, ctx(position));
    expect(await read(second)).toEqual([]);
    const last = server.requests.at(-1)!;
    expect(last.path).toBe('/items?since=3');
    expect(last.headers['if-none-match']).toBe(position.etag);
    expect(last.status).toBe(304);
    await second.close();
  });

  it('refuses a position that is not its own', async () => {
    await expect(openReader({ url: 'http://127.0.0.1:9/x', intervalMs: 10 }, ctx(42))).rejects.toThrow(CheckpointError);
    await expect(openReader({ url: 'http://127.0.0.1:9/x', intervalMs: 10 }, ctx({ skip: 3 }))).rejects.toThrow(
      'source "poll": restored position must be { cursor?, etag?, page?, skip? }',
    );
  });
});

describe('httpSource: failures', () => {
  it('retries 500s, connection resets, timeouts and 429s; nothing is lost', async () => {
    const server = await startServer(4);
    server.faults.push('500', 'reset', 'hang', '429');
    const reader = await openReader({ url: `${server.base}/items`, intervalMs: 100, retry: FAST, timeoutMs: 50 });
    expect(ids(await read(reader))).toEqual([1, 2, 3, 4]);
    expect(server.requests).toHaveLength(5);
    await reader.close();
  });

  it('fails with a ConnectorError naming step, URL and status on a permanent error', async () => {
    const server = await startServer(1);
    server.faults.push('404');
    const reader = await openReader({ url: `${server.base}/items?token=secret`, intervalMs: 100, retry: FAST });
    const err = (await Promise.resolve(reader.read(10)).catch((e: unknown) => e)) as ConnectorError;
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err.retryable).toBe(false);
    expect(err.message).toBe(`step "poll": GET ${server.base}/items failed after 1 attempt: status 404 (Not Found): no such thing`);
    expect(server.requests).toHaveLength(1);
    await reader.close();
  });

  it('fails as retryable when the attempts run out', async () => {
    const server = await startServer(1);
    server.faults.push('500', '500');
    const reader = await openReader({ url: `${server.base}/items`, intervalMs: 100, retry: { attempts: 2, baseDelayMs: 1 } });
    const err = (await Promise.resolve(reader.read(10)).catch((e: unknown) => e)) as ConnectorError;
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('failed after 2 attempts: status 500 (Internal Server Error): boom');
    await reader.close();
  });

  it('reports bodies it cannot read, and user function errors with the step name', async () => {
    const server = await startServer(1);
    let reader = await openReader({ url: `${server.base}/text`, intervalMs: 100 });
    await expect(Promise.resolve(reader.read(10))).rejects.toThrow(/step "poll": response of GET .*\/text is not JSON/);
    await reader.close();
    reader = await openReader({ url: `${server.base}/object`, intervalMs: 100 });
    await expect(Promise.resolve(reader.read(10))).rejects.toThrow('is neither a JSON array nor an object with an items or data array');
    await reader.close();
    reader = await openReader({ url: `${server.base}/object`, intervalMs: 100, records: (b) => [b as Item] });
    expect(await read(reader)).toEqual([{ foo: 1 }]);
    await reader.close();
    reader = await openReader({ url: `${server.base}/empty`, intervalMs: 100 });
    expect(await read(reader)).toEqual([]);
    await reader.close();
    reader = await openReader({
      url: `${server.base}/items`,
      intervalMs: 100,
      cursor: {
        param: 'since',
        from: () => {
          throw new Error('no id');
        },
      },
    });
    const err = await Promise.resolve(reader.read(10)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserFunctionError);
    expect((err as UserFunctionError).message).toBe('step "poll": user function failed: no id');
    await reader.close();
  });

  it('an abort ends a pending wait at once; close is idempotent', async () => {
    const server = await startServer(1);
    const controller = new AbortController();
    const reader = await openReader({ url: `${server.base}/items`, intervalMs: 60_000 }, ctx(undefined, controller.signal));
    await read(reader);
    const waiting = Promise.resolve(reader.read(10));
    controller.abort(new WeirError('WEIR_STOPPED', 'user', false, 'source stopped'));
    await expect(waiting).rejects.toThrow('source stopped');
    await reader.close();
    await reader.close();
  });
});

describe('httpSource: in a job', () => {
  it('runs unbounded with a tiny interval until stopped, delivering each record once', async () => {
    const server = await startServer(5, 2);
    const out: Item[] = [];
    const job = pipeline('poller')
      .source(
        httpSource<Item>({
          url: `${server.base}/items`,
          intervalMs: 2,
          pagination: { next: 'link-header' },
          cursor: { param: 'since', from: (i) => String(i.id) },
        }),
      )
      .sink(collectSink(out))
      .start();
    await until(() => out.length === 5, 'first records');
    server.add(4);
    await until(() => out.length === 9, 'later records');
    await job.stop();
    expect(ids(out)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('says it is unbounded and not replayable', () => {
    const source = httpSource({ url: 'http://127.0.0.1:9/x', intervalMs: 10 });
    expect(source).toMatchObject({ name: 'http', bounded: false, replayable: false });
  });

  it('validates options in the factory, naming option and value', () => {
    const url = 'http://127.0.0.1:9/x';
    expect(() => httpSource({ url, intervalMs: 0 })).toThrow(ConfigError);
    expect(() => httpSource({ url, intervalMs: 0 })).toThrow('sources.http: intervalMs must be a positive number of ms, got 0');
    expect(() => httpSource({ url: 'nope', intervalMs: 1 })).toThrow('sources.http: url must be an absolute http:// or https:// URL, got "nope"');
    expect(() => httpSource({ url, intervalMs: 1, method: 'DELETE' as never })).toThrow(`sources.http: method must be 'GET' or 'POST', got "DELETE"`);
    expect(() => httpSource({ url, intervalMs: 1, body: {} })).toThrow("sources.http: body needs method: 'POST'");
    expect(() => httpSource({ url, intervalMs: 1, cursor: { param: '', from: String } })).toThrow('cursor.param must be a non-empty query parameter name, got ""');
    expect(() => httpSource({ url, intervalMs: 1, cursor: { param: 'since' } as never })).toThrow('cursor.from must be a function');
    expect(() => httpSource({ url, intervalMs: 1, pagination: { next: 'body' as never } })).toThrow(
      `sources.http: pagination.next must be 'link-header' or a function (body, response) => url, got "body"`,
    );
    expect(() => httpSource({ url, intervalMs: 1, records: [] as never })).toThrow('records must be a function');
    expect(() => httpSource({ url, intervalMs: 1, retry: { jitter: -1 } })).toThrow('sources.http: retry.jitter');
    expect(() => httpSource({ url, intervalMs: 1, headers: { 'If-None-Match': 'x' } })).toThrow('headers must not set if-none-match');
    expect(() => httpSource({ url, intervalMs: 1, auth: { bearer: 1 } as never })).toThrow('auth.bearer');
  });

  it('sends POST bodies and credentials', async () => {
    const server = await startServer(2);
    const reader = await openReader({ url: `${server.base}/items`, intervalMs: 10, method: 'POST', body: { q: 1 }, auth: { username: 'u', password: 'p' } });
    expect(ids(await read(reader))).toEqual([1, 2]);
    expect(server.requests[0].headers.authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
    expect(server.requests[0].headers['content-type']).toBe('application/json');
    await reader.close();
  });
});
