import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pipeline } from '../../src/builder/pipeline.js';
import { ManualClock } from '../../src/runtime/clock.js';
import { batch } from '../../src/runtime/elements.js';
import type { DeadLetter } from '../../src/runtime/error-policy.js';
import { ConfigError, ConnectorError, RecordError, WeirError } from '../../src/runtime/errors.js';
import type { Sink, SinkContext, SinkWriter, TransactionalWriter } from '../../src/runtime/sink.js';
import { isTransactional } from '../../src/runtime/sink.js';
import { collectSink } from '../../src/sinks/collect-sink.js';
import { deadLetterSink } from '../../src/sinks/dead-letter-sink.js';
import { httpSink, type HttpSinkOptions, type HttpSinkStats, type HttpSinkTxn } from '../../src/sinks/http-sink.js';
import { idempotencyKey } from '../../src/connectors/http/idempotency-key.js';
import { listSource } from '../support/inline.js';

// ---------------------------------------------------------------------------------------------
// A real HTTP server on loopback with programmable failures and idempotency-key deduplication.

/** What the server does with one request. */
type Fault =
  | 'ok'
  | '500'
  | '503'
  | '400'
  | '429' // Retry-After: 1
  | 'hang' // never answers: the client times out
  | 'reset' // socket.destroy() before storing: connection reset
  | 'store-then-reset' // stored, but the answer is lost: the retry must be deduplicated
  | 'store-then-500';

interface Received {
  readonly n: number;
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly keys: string[];
  readonly records: unknown[];
  readonly fault: Fault;
}

interface TestServer {
  readonly url: string;
  /** Deduplicated store: idempotency key → record, in first-arrival order. */
  readonly store: Map<string, unknown>;
  /** Every request, retries included. */
  readonly received: Received[];
  /** Decides the fault of request `n` (0-based); default all 'ok'. */
  fault: (n: number, records: unknown[]) => Fault;
  /** Retry-After value sent with 429 (and 503 when set). */
  retryAfter: string;
  close(): Promise<void>;
}

const servers: TestServer[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function startServer(options: { batched?: boolean; keyHeader?: string } = {}): Promise<TestServer> {
  const keyHeader = (options.keyHeader ?? 'idempotency-key').toLowerCase();
  const hung: ServerResponse[] = [];
  const state: TestServer = {
    url: '',
    store: new Map(),
    received: [],
    fault: () => 'ok',
    retryAfter: '1',
    close: async () => {
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
      const records = options.batched ? (body as unknown[]) : [body];
      const header = req.headers[keyHeader];
      const keys = typeof header === 'string' ? header.split(',').map((k) => k.trim()) : [];
      const n = state.received.length;
      const fault = state.fault(n, records);
      state.received.push({ n, method: req.method!, path: req.url!, headers: req.headers, keys, records, fault });
      const store = (): void => {
        records.forEach((r, i) => {
          if (!state.store.has(keys[i])) state.store.set(keys[i], r);
        });
      };
      switch (fault) {
        case 'ok':
          store();
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
          return;
        case 'store-then-reset':
          store();
          req.socket.destroy();
          return;
        case 'store-then-500':
          store();
          res.writeHead(500).end('stored, but answering 500');
          return;
        case 'reset':
          req.socket.destroy();
          return;
        case 'hang':
          hung.push(res);
          return;
        case '429':
          res.writeHead(429, { 'retry-after': state.retryAfter }).end('slow down');
          return;
        case '503':
          res.writeHead(503, { 'retry-after': state.retryAfter }).end('maintenance');
          return;
        case '500':
          res.writeHead(500).end('internal error');
          return;
        case '400':
          res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"bad record"}');
          return;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  (state as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ingest`;
  servers.push(state);
  return state;
}

// ---------------------------------------------------------------------------------------------

type Writer = TransactionalWriter<unknown, HttpSinkTxn> & Required<Pick<SinkWriter<unknown>, 'flush' | 'close'>> & { stats(): HttpSinkStats };

function ctx(restored?: unknown, signal = new AbortController().signal, name = 'api'): SinkContext {
  return { job: 'job', name, signal, restored, now: () => Date.now() };
}

async function openWriter<T>(options: HttpSinkOptions<T>, context = ctx()): Promise<Writer> {
  const writer = await httpSink(options).open(context);
  expect(isTransactional(writer)).toBe(true);
  return writer as unknown as Writer;
}

function write(writer: SinkWriter<unknown>, records: unknown[]): void | Promise<void> {
  return writer.write(batch(records, new Array<number>(records.length).fill(Number.NaN), 'orders'));
}

function orders(n: number, from = 0): Array<{ id: number; item: string }> {
  return Array.from({ length: n }, (_, k) => ({ id: from + k, item: `item-${from + k}` }));
}

/** Tiny delays: tests exercise retries, not waiting. */
const FAST = { attempts: 6, baseDelayMs: 1, maxDelayMs: 5, jitter: 0.5 };

/** Wait (a few ms at a time) until `cond` holds. */
async function until(cond: () => boolean, what = 'condition'): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The deduplicated store's records, sorted by id. */
function stored(server: TestServer): unknown[] {
  return [...server.store.values()].sort((a, b) => (a as { id: number }).id - (b as { id: number }).id);
}

function deadLetterCollector(into: DeadLetter[]): Sink<DeadLetter> {
  return collectSink(into, { name: 'dead' });
}

// ---------------------------------------------------------------------------------------------

describe('httpSink: delivery', () => {
  it('sends every record as JSON with an idempotency key, through a pipeline', async () => {
    const server = await startServer();
    const data = orders(25);
    await pipeline('orders-job')
      .source(listSource(data, { chunk: 7 }))
      .sink(httpSink({ url: server.url, retry: FAST, name: 'to-api' }))
      .run();
    expect(stored(server)).toEqual(data);
    expect(server.received).toHaveLength(25);
    const first = server.received[0];
    expect(first.method).toBe('POST');
    expect(first.path).toBe('/ingest');
    expect(first.headers['content-type']).toBe('application/json');
    expect(first.keys).toEqual([idempotencyKey('orders-job', 'to-api', 0, JSON.stringify(data[0]))]);
    expect(new Set(server.received.map((r) => r.keys[0])).size).toBe(25);
  });

  it('loses nothing through 500s, timeouts, connection resets, 429s and lost answers; the server deduplicates the retries', async () => {
    const server = await startServer();
    const faults: Record<number, Fault> = {
      1: '500',
      2: '500',
      4: 'hang',
      6: 'reset',
      8: 'store-then-reset',
      10: 'store-then-500',
      12: '429',
      13: '503',
      15: 'hang',
      16: 'reset',
    };
    server.fault = (n) => faults[n] ?? 'ok';
    server.retryAfter = '0'; // Retry-After honoured below with a manual clock; here: no real 1 s wait
    const data = orders(30);
    await pipeline('faulty')
      .source(listSource(data, { chunk: 4 }))
      .sink(httpSink({ url: server.url, retry: FAST, timeoutMs: 100 }))
      .run();
    expect(stored(server)).toEqual(data);
    expect(server.store.size).toBe(30);
    // One extra request per injected fault: each retry resent the same record with the same key.
    expect(server.received).toHaveLength(30 + Object.keys(faults).length);
    for (const n of Object.keys(faults).map(Number)) {
      expect(server.received[n + 1].keys).toEqual(server.received[n].keys);
      expect(server.received[n + 1].records).toEqual(server.received[n].records);
    }
    // The answers lost after storing made the server see those records twice.
    const seen = server.received.map((r) => r.keys[0]);
    expect(seen.length - new Set(seen).size).toBe(Object.keys(faults).length);
  });

  it('honours Retry-After: 1 on 429 (driven by a manual clock)', async () => {
    const server = await startServer();
    server.fault = (n) => (n === 0 ? '429' : 'ok');
    const clock = new ManualClock(1_000_000);
    const writer = await openWriter({ url: server.url, retry: { attempts: 3, baseDelayMs: 1, jitter: 0 }, clock });
    const done = write(writer, orders(1));
    await until(() => server.received.length === 1 && clock.pending === 1, 'the 429 and the retry timer');
    clock.advance(999);
    await new Promise((r) => setTimeout(r, 5));
    expect(server.received).toHaveLength(1);
    clock.advance(1);
    await done;
    expect(server.received).toHaveLength(2);
    expect(stored(server)).toEqual(orders(1));
    await writer.close();
  });

  it('honours Retry-After as an HTTP date on 503', async () => {
    const server = await startServer();
    const clock = new ManualClock(Date.UTC(2030, 0, 1, 12, 0, 0));
    server.retryAfter = new Date(Date.UTC(2030, 0, 1, 12, 0, 2)).toUTCString();
    server.fault = (n) => (n === 0 ? '503' : 'ok');
    const writer = await openWriter({ url: server.url, retry: { attempts: 3, baseDelayMs: 1, jitter: 0 }, clock });
    const done = write(writer, orders(1));
    await until(() => clock.pending === 1, 'the retry timer');
    clock.advance(1999);
    await new Promise((r) => setTimeout(r, 5));
    expect(server.received).toHaveLength(1);
    clock.advance(1);
    await done;
    expect(server.received).toHaveLength(2);
    await writer.close();
  });

  it('sends batchSize records per request as a JSON array, with one key per record in the header', async () => {
    const server = await startServer({ batched: true });
    server.fault = (n) => (n === 1 ? 'store-then-reset' : n === 2 ? '500' : 'ok');
    const data = orders(10);
    await pipeline('batched')
      .source(listSource(data, { chunk: 10 }))
      .sink(httpSink({ url: server.url, batchSize: 4, retry: FAST }))
      .run();
    expect(stored(server)).toEqual(data);
    // Request 1 is stored but its answer lost, its retry (2) gets a 500, the next retry (3) passes.
    expect(server.received.map((r) => r.records.length)).toEqual([4, 4, 4, 4, 2]);
    expect(server.received[2].keys).toEqual(server.received[1].keys);
    expect(server.received[3].keys).toEqual(server.received[1].keys);
    expect(server.received.every((r) => r.keys.length === r.records.length)).toBe(true);
  });

  it('sends Bearer and Basic credentials and extra headers, with PUT when asked', async () => {
    const server = await startServer();
    let writer = await openWriter({ url: server.url, auth: { bearer: 's3cret' }, headers: { 'X-Tenant': 'acme' }, method: 'PUT' });
    await write(writer, orders(1));
    await writer.close();
    writer = await openWriter({ url: server.url, auth: { username: 'ann', password: 'pa:ss' } });
    await write(writer, orders(1, 1));
    await writer.close();
    expect(server.received[0].headers.authorization).toBe('Bearer s3cret');
    expect(server.received[0].headers['x-tenant']).toBe('acme');
    expect(server.received[0].method).toBe('PUT');
    expect(server.received[1].headers.authorization).toBe(`Basic ${Buffer.from('ann:pa:ss').toString('base64')}`);
  });

  it('uses a custom idempotency key and header', async () => {
    const server = await startServer({ keyHeader: 'X-Request-Id' });
    const seen: number[] = [];
    const writer = await openWriter<{ id: number }>({
      url: server.url,
      idempotencyHeader: 'X-Request-Id',
      idempotencyKey: (r, sequence) => {
        seen.push(sequence);
        return `order-${r.id}`;
      },
    });
    await write(writer, orders(3));
    await write(writer, orders(2, 3));
    await writer.close();
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    expect([...server.store.keys()]).toEqual(['order-0', 'order-1', 'order-2', 'order-3', 'order-4']);
  });
});

describe('httpSink: keys across a restore', () => {
  it('gives replayed records the keys they had before the crash (sequence saved in the checkpoint)', async () => {
    const server = await startServer();
    const data = orders(8);
    const first = await openWriter({ url: server.url });
    await write(first, data.slice(0, 5));
    const txn = await first.preCommit(1);
    expect(txn).toEqual({ checkpointId: 1, sequence: 5 });
    await write(first, data.slice(5, 8)); // delivered, then the job crashes before checkpoint 2
    await first.close();
    const keysBefore = server.received.slice(5).map((r) => r.keys[0]);

    const restored = await openWriter({ url: server.url }, ctx(txn));
    expect(restored.stats().sequence).toBe(5);
    await write(restored, data.slice(5, 8)); // the replay from checkpoint 1
    await restored.close();
    expect(server.received.slice(8).map((r) => r.keys[0])).toEqual(keysBefore);
    expect(stored(server)).toEqual(data);
    expect(server.store.size).toBe(8);

    // A list of transactions (several checkpoints kept): the newest one counts.
    const again = await openWriter({ url: server.url }, ctx([txn, { checkpointId: 2, sequence: 8 }]));
    expect(again.stats().sequence).toBe(8);
    await again.close();
  });

  it('refuses a restored transaction that is not its own', async () => {
    await expect(httpSink({ url: 'http://127.0.0.1:9/x' }).open(ctx({ checkpointId: 1 }))).rejects.toThrow(
      'sink "api": not an http sink transaction',
    );
  });
});

describe('httpSink: permanent failures', () => {
  it('sends a 400 to the dead-letter sink without retrying, and goes on', async () => {
    const server = await startServer();
    server.fault = (_n, records) => ((records[0] as { id: number }).id % 4 === 1 ? '400' : 'ok');
    const dead: DeadLetter[] = [];
    const data = orders(12);
    await pipeline('dl')
      .source(listSource(data, { chunk: 5, name: 'orders' }))
      .sink(httpSink({ url: server.url, retry: FAST, deadLetters: deadLetterCollector(dead), name: 'api' }))
      .run();
    const bad = data.filter((d) => d.id % 4 === 1);
    expect(stored(server)).toEqual(data.filter((d) => d.id % 4 !== 1));
    expect(server.received).toHaveLength(12);
    expect(dead.map((d) => d.record)).toEqual(bad);
    expect(dead[0].error.code).toBe('WEIR_HTTP_400');
    expect(dead[0].error.step).toBe('api');
    expect(dead[0].error.message).toContain(`POST ${server.url} failed after 1 attempt: status 400 (Bad Request)`);
    expect(dead[0].source).toEqual({ name: 'orders' });
  });

  it('dead-letters what still fails after the last retry, with the last error', async () => {
    const server = await startServer();
    server.fault = (_n, records) => ((records[0] as { id: number }).id === 2 ? '500' : (records[0] as { id: number }).id === 3 ? 'hang' : 'ok');
    const dead: DeadLetter[] = [];
    const writer = await openWriter({
      url: server.url,
      retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 },
      timeoutMs: 50,
      deadLetters: deadLetterCollector(dead),
    });
    await write(writer, orders(5));
    expect(dead.map((d) => [(d.record as { id: number }).id, d.error.code])).toEqual([
      [2, 'WEIR_HTTP_500'],
      [3, 'WEIR_HTTP_TIMEOUT'],
    ]);
    expect(dead[0].error.message).toContain('failed after 3 attempts: status 500 (Internal Server Error): internal error');
    expect(writer.stats()).toMatchObject({ requests: 3 + 3 + 3, retries: 4, deadLettered: 2, sequence: 5 });
    expect(stored(server)).toEqual([orders(5)[0], orders(5)[1], orders(5)[4]]);
    await writer.close();
  });

  it('dead-letters records it cannot reach (connection refused)', async () => {
    const server = await startServer();
    const url = server.url;
    await server.close();
    servers.splice(servers.indexOf(server), 1);
    const dead: DeadLetter[] = [];
    const writer = await openWriter({ url, retry: { attempts: 2, baseDelayMs: 1 }, deadLetters: deadLetterCollector(dead) });
    await write(writer, orders(2));
    expect(dead.map((d) => d.error.code)).toEqual(['WEIR_HTTP_NETWORK', 'WEIR_HTTP_NETWORK']);
    expect(dead[0].error.message).toContain('ECONNREFUSED');
    await writer.close();
  });

  it('without a dead-letter sink, fails the job with a ConnectorError naming step, URL and status', async () => {
    const server = await startServer();
    server.fault = (n) => (n === 3 ? '400' : 'ok');
    const run = pipeline('fails')
      .source(listSource(orders(10)))
      .sink(httpSink({ url: server.url, retry: FAST, name: 'api' }))
      .run();
    const err = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConnectorError);
    const e = err as ConnectorError;
    expect(e.step).toBe('api');
    expect(e.retryable).toBe(false);
    expect(e.message).toBe(`step "api": POST ${server.url} failed after 1 attempt: status 400 (Bad Request): {"error":"bad record"}`);
    expect(server.received).toHaveLength(4);
  });

  it('a retryable failure that outlasts the attempts fails the job as retryable', async () => {
    const server = await startServer();
    server.fault = () => '503';
    server.retryAfter = '0';
    const writer = await openWriter({ url: server.url, retry: { attempts: 2, baseDelayMs: 1 } });
    const err = await Promise.resolve(write(writer, orders(1))).then(
      () => undefined,
      (e: unknown) => e as ConnectorError,
    );
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err!.retryable).toBe(true);
    expect(err!.message).toContain('failed after 2 attempts: status 503 (Service Unavailable)');
    await writer.close();
  });

  it('dead-letters a record that is not JSON-serializable (or fails the job without dead letters)', async () => {
    const server = await startServer();
    const dead: DeadLetter[] = [];
    const writer = await openWriter({ url: server.url, deadLetters: deadLetterCollector(dead) });
    await write(writer, [{ id: 0 }, { id: 1, n: 1n }, { id: 2 }]);
    expect(dead.map((d) => d.error.code)).toEqual(['WEIR_BAD_RECORD']);
    expect(server.received).toHaveLength(2);
    await writer.close();
    const strict = await openWriter({ url: server.url });
    await expect(Promise.resolve(write(strict, [{ n: 1n }]))).rejects.toBeInstanceOf(RecordError);
    await strict.close();
  });

  it('writes dead letters through a transactional dead-letter sink, checkpointed with the http sink', async () => {
    const server = await startServer();
    server.fault = () => '400';
    const dir = await mkdtemp(join(tmpdir(), 'weir-http-dead-'));
    dirs.push(dir);
    const writer = await openWriter({ url: server.url, deadLetters: deadLetterSink({ dir }) });
    await write(writer, orders(3));
    const txn = await writer.preCommit(7);
    expect(txn.sequence).toBe(3);
    expect(txn.deadLetters).toMatchObject({ checkpointId: 7 });
    expect((await readdir(dir)).filter((f) => !f.startsWith('.'))).toEqual([]);
    await writer.commit(txn);
    await writer.close();
    const files = (await readdir(dir)).filter((f) => !f.startsWith('.'));
    expect(files).toEqual(['dead-api-0000000007-00000.jsonl']);
    const letters = (await readFile(join(dir, files[0]), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as DeadLetter);
    expect(letters.map((l) => l.record)).toEqual(orders(3));
    expect(letters[0].error.code).toBe('WEIR_HTTP_400');
  });
});

describe('httpSink: circuit breaker and rate limit', () => {
  it('after N consecutive failures waits resetMs before one probe; nothing is dropped', async () => {
    const server = await startServer();
    server.fault = (n) => (n < 2 ? '500' : 'ok');
    const clock = new ManualClock(0);
    const writer = await openWriter({
      url: server.url,
      retry: { attempts: 10, baseDelayMs: 1, maxDelayMs: 1, jitter: 0 },
      circuitBreaker: { failureThreshold: 2, resetMs: 1000 },
      clock,
    });
    const done = Promise.resolve(write(writer, orders(3)));
    await until(() => server.received.length === 1 && clock.pending === 1, 'first failure');
    clock.advance(1); // backoff
    await until(() => server.received.length === 2 && clock.pending === 1, 'second failure');
    clock.advance(1); // at 2 the backoff is over, but the circuit opened at 1 stays open until 1001
    await new Promise((r) => setTimeout(r, 5));
    expect(clock.pending).toBe(1);
    clock.advance(998);
    await new Promise((r) => setTimeout(r, 5));
    expect(server.received).toHaveLength(2);
    clock.advance(1); // 1001: the probe goes, succeeds, and the circuit closes
    await done;
    expect(server.received).toHaveLength(5);
    expect(stored(server)).toEqual(orders(3));
    await writer.close();
  });

  it('keeps to ratePerSec requests per second', async () => {
    const server = await startServer();
    const clock = new ManualClock(0);
    const writer = await openWriter({ url: server.url, ratePerSec: 10, clock });
    const done = Promise.resolve(write(writer, orders(3)));
    await until(() => server.received.length === 1 && clock.pending === 1, 'first request');
    clock.advance(99);
    await new Promise((r) => setTimeout(r, 5));
    expect(server.received).toHaveLength(1);
    clock.advance(1);
    await until(() => server.received.length === 2 && clock.pending === 1, 'second request');
    clock.advance(100);
    await done;
    expect(server.received).toHaveLength(3);
    await writer.close();
  });
});

describe('httpSink: lifecycle and options', () => {
  it('an abort cuts a pending request; close is idempotent', async () => {
    const server = await startServer();
    server.fault = () => 'hang';
    const controller = new AbortController();
    const writer = await openWriter({ url: server.url, timeoutMs: 60_000 }, ctx(undefined, controller.signal));
    const done = Promise.resolve(write(writer, orders(1)));
    await until(() => server.received.length === 1, 'the request');
    controller.abort(new WeirError('WEIR_ABORTED', 'user', false, 'stop now'));
    await expect(done).rejects.toThrow('stop now');
    await writer.close();
    await writer.close();
  });

  it('flushes and closes the dead-letter writer with its own', async () => {
    const calls: string[] = [];
    const dead: Sink<DeadLetter> = {
      name: 'dead',
      open: (c) => {
        calls.push(`open ${c.name}`);
        return { write: () => undefined, flush: () => void calls.push('flush'), close: () => void calls.push('close') };
      },
    };
    const writer = await openWriter({ url: 'http://127.0.0.1:9/x', deadLetters: dead });
    await writer.flush();
    await writer.close();
    expect(calls).toEqual(['open api', 'flush', 'close']);
  });

  it('validates options in the factory, naming option and value', () => {
    const url = 'http://127.0.0.1:9/x';
    expect(() => httpSink({ url: 'ftp://x' })).toThrow(ConfigError);
    expect(() => httpSink({ url: 'ftp://x' })).toThrow('sinks.http: url must be an absolute http:// or https:// URL, got "ftp://x"');
    expect(() => httpSink({ url: 'http://u:p@h/x' })).toThrow('must not contain credentials');
    expect(() => httpSink({ url, method: 'GET' as never })).toThrow(`sinks.http: method must be 'POST', 'PUT' or 'PATCH', got "GET"`);
    expect(() => httpSink({ url, batchSize: 0 })).toThrow('sinks.http: batchSize must be a positive integer (records per request), got 0');
    expect(() => httpSink({ url, timeoutMs: -1 })).toThrow('sinks.http: timeoutMs must be a positive number of ms, got -1');
    expect(() => httpSink({ url, retry: { attempts: 0 } })).toThrow('retry.attempts');
    expect(() => httpSink({ url, ratePerSec: 0 })).toThrow('sinks.http: ratePerSec must be a positive number');
    expect(() => httpSink({ url, circuitBreaker: { failureThreshold: 0, resetMs: 1 } })).toThrow('circuitBreaker.failureThreshold');
    expect(() => httpSink({ url, headers: { 'bad name': 'x' } })).toThrow('sinks.http: headers: "bad name" is not a valid header name');
    expect(() => httpSink({ url, headers: { 'Idempotency-Key': 'x' } })).toThrow('headers must not set "Idempotency-Key"');
    expect(() => httpSink({ url, idempotencyHeader: 'a b' })).toThrow('idempotencyHeader must be a valid header name');
    expect(() => httpSink({ url, auth: { bearer: '' } })).toThrow('sinks.http: auth.bearer must be a non-empty single-line string');
    expect(() => httpSink({ url, auth: { user: 'x' } as never })).toThrow('sinks.http: auth must be { bearer } or { username, password }');
    expect(() => httpSink({ url, auth: { bearer: 't' }, headers: { Authorization: 'x' } })).toThrow('give auth or an authorization header, not both');
    expect(() => httpSink({ url, deadLetters: {} as never })).toThrow('deadLetters must be a sink');
    expect(() => httpSink({ url, name: '' })).toThrow('sinks.http: name must be a non-empty string, got ""');
    // Credentials never show up in messages.
    try {
      httpSink({ url, auth: { username: 'a:b', password: 'hunter2' } });
    } catch (err) {
      expect(String(err)).not.toContain('hunter2');
    }
  });
});
