import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { pipeline } from '../../src/builder/pipeline.js';
import { batch } from '../../src/runtime/elements.js';
import type { DeadLetter } from '../../src/runtime/error-policy.js';
import { ConfigError, RecordError } from '../../src/runtime/errors.js';
import type { Sink, SinkContext, SinkWriter } from '../../src/runtime/sink.js';
import { redisSink, type RedisSinkOptions, type RedisSinkStats } from '../../src/sinks/redis-sink.js';
import { listSource } from '../support/inline.js';
import { redisAvailability, startRedisServer, type RedisServer } from '../support/redis-server.js';

const availability = redisAvailability();
let server: RedisServer;
let admin: Redis;
let seq = 0;
const key = (p: string): string => `${p}${++seq}`;

/** Omit that keeps the union of sink modes apart. */
type WithoutConnection<O> = O extends unknown ? Omit<O, 'connection'> : never;

interface Live<T> extends SinkWriter<T> {
  stats(): RedisSinkStats;
}

const writers: Array<SinkWriter<unknown>> = [];

async function openWriter<T>(options: WithoutConnection<RedisSinkOptions<T>>): Promise<Live<T>> {
  const sink = redisSink<T>({ connection: server.url, reconnect: { baseDelayMs: 20, maxDelayMs: 200 }, ...options } as RedisSinkOptions<T>);
  const ctx: SinkContext = { job: 'test', name: 'out', signal: new AbortController().signal, restored: undefined, now: () => Date.now() };
  const writer = (await sink.open(ctx)) as Live<T>;
  writers.push(writer as SinkWriter<unknown>);
  return writer;
}

function collectDead(into: DeadLetter[]): Sink<DeadLetter> {
  return { name: 'dead', open: () => ({ write: (b) => void into.push(...b.records) }) };
}

const b = <T>(records: T[]) => batch(records, records.map(() => Number.NaN), 'src');

describe.skipIf(availability.skip)(`redisSink${availability.skip ? ` (skipped: ${availability.reason})` : ''}`, () => {
  beforeAll(async () => {
    server = await startRedisServer();
    admin = new Redis(server.url);
    admin.on('error', () => undefined);
  });
  afterAll(async () => {
    admin?.disconnect();
    await server?.cleanup();
  });
  afterEach(async () => {
    for (const w of writers.splice(0)) await w.close?.();
  });

  it('XADDs records with their own properties as fields (non-strings as JSON)', async () => {
    const stream = key('out');
    const w = await openWriter<{ user: string; n: number; tags: string[] }>({ stream });
    await w.write(b([{ user: 'a', n: 1, tags: ['x'] }, { user: 'b', n: 2, tags: [] }]));
    const entries = await admin.xrange(stream, '-', '+');
    expect(entries.map(([, f]) => f)).toEqual([
      ['user', 'a', 'n', '1', 'tags', '["x"]'],
      ['user', 'b', 'n', '2', 'tags', '[]'],
    ]);
    expect(w.stats().written).toBe(2);
  });

  it('maps fields and the stream per record, and trims with MAXLEN', async () => {
    const prefix = key('t');
    const w = await openWriter<{ k: string; v: number }>({ stream: (r) => `${prefix}:${r.k}`, fields: (r) => ({ v: r.v }), maxLen: 3, exactTrim: true, batchSize: 4 });
    await w.write(b(Array.from({ length: 10 }, (_, i) => ({ k: i % 2 === 0 ? 'even' : 'odd', v: i }))));
    expect((await admin.xrange(`${prefix}:even`, '-', '+')).map(([, f]) => f[1])).toEqual(['4', '6', '8']);
    expect((await admin.xrange(`${prefix}:odd`, '-', '+')).map(([, f]) => f[1])).toEqual(['5', '7', '9']);
  });

  it('with explicit ids, writing the same records again is a no-op (idempotent XADD)', async () => {
    const stream = key('idem');
    const records = Array.from({ length: 5 }, (_, i) => ({ i }));
    const w = await openWriter<{ i: number }>({ stream, id: (r) => `1000-${r.i + 1}` });
    await w.write(b(records));
    await w.write(b(records)); // a replay after a restart
    await w.write(b([...records, { i: 5 }]));
    expect((await admin.xrange(stream, '-', '+')).map(([id]) => id)).toEqual(['1000-1', '1000-2', '1000-3', '1000-4', '1000-5', '1000-6']);
    expect(w.stats()).toMatchObject({ written: 6, duplicates: 10 });
  });

  it('SET keys with a TTL, and HSET hashes with a TTL', async () => {
    const p = key('k');
    const sets = await openWriter<{ id: string; v: number }>({ key: (r) => `${p}:${r.id}`, value: (r) => r.v, ttlMs: 60_000 });
    await sets.write(b([{ id: 'a', v: 1 }, { id: 'b', v: 2 }, { id: 'a', v: 3 }]));
    expect(await admin.mget(`${p}:a`, `${p}:b`)).toEqual(['3', '2']);
    const ttl = await admin.pttl(`${p}:a`);
    expect(ttl).toBeGreaterThan(50_000);
    const hashes = await openWriter<{ id: string; n: number }>({ key: (r) => `${p}:h:${r.id}`, hash: (r) => ({ n: r.n, seen: 'yes' }), ttlMs: 60_000 });
    await hashes.write(b([{ id: 'x', n: 1 }, { id: 'x', n: 2 }]));
    expect(await admin.hgetall(`${p}:h:x`)).toEqual({ n: '2', seen: 'yes' });
    expect(await admin.pttl(`${p}:h:x`)).toBeGreaterThan(50_000);
    expect(hashes.stats().written).toBe(2);
  });

  it('a record Redis refuses goes to deadLetters; the others are written', async () => {
    const p = key('wrong');
    await admin.set(`${p}:b`, 'a string, not a stream');
    const dead: DeadLetter[] = [];
    const w = await openWriter<{ s: string }>({ stream: (r) => `${p}:${r.s}`, deadLetters: collectDead(dead) });
    await w.write(b([{ s: 'a' }, { s: 'b' }, { s: 'a' }]));
    expect(await admin.xlen(`${p}:a`)).toBe(2);
    expect(dead.map((d) => d.record)).toEqual([{ s: 'b' }]);
    expect(dead[0].error.code).toBe('WEIR_BAD_RECORD');
    expect(dead[0].error.message).toMatch(/Redis refused "XADD" for a record: WRONGTYPE/);
    expect(w.stats().deadLettered).toBe(1);
  });

  it('a throwing mapping dead-letters its record; without deadLetters a refused record fails the write', async () => {
    const dead: DeadLetter[] = [];
    const w = await openWriter<{ id?: string }>({ key: (r) => r.id!.toUpperCase(), value: () => 'v', deadLetters: collectDead(dead) });
    await w.write(b([{ id: 'a' }, {}]));
    expect(dead).toHaveLength(1);
    expect(dead[0].error.code).toBe('WEIR_USER_FUNCTION');
    const p = key('h');
    await admin.set(p, 'x');
    const strict = await openWriter<{ n: number }>({ key: () => p, hash: (r) => ({ n: r.n }) });
    await expect(strict.write(b([{ n: 1 }]))).rejects.toThrow(RecordError);
  });

  it('rides out a Redis restart: every record once (explicit ids), the outage counted', async () => {
    const stream = key('restart');
    const w = await openWriter<{ i: number }>({ stream, id: (r) => `1-${r.i + 1}`, batchSize: 10 });
    await w.write(b(Array.from({ length: 100 }, (_, i) => ({ i }))));
    await server.stop();
    const writing = w.write(b(Array.from({ length: 100 }, (_, i) => ({ i: i + 100 }))));
    await new Promise((r) => setTimeout(r, 400));
    await server.start();
    await writing;
    expect(await admin.xlen(stream)).toBe(200);
    expect(w.stats().connection.outages).toBeGreaterThanOrEqual(1);
  }, 30_000);

  it('works as a job step', async () => {
    const stream = key('job');
    await pipeline('redis-sink-job')
      .source(listSource(Array.from({ length: 50 }, (_, i) => ({ i })), { chunk: 7 }))
      .sink(redisSink({ connection: server.url, stream, fields: (r: { i: number }) => ({ i: r.i }) }))
      .run();
    expect((await admin.xrange(stream, '-', '+')).map(([, f]) => Number(f[1]))).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('validates options in the factory, naming the option and the value', () => {
    const c = { connection: 'redis://127.0.0.1:1' };
    expect(() => redisSink({ ...c } as never)).toThrow(ConfigError);
    expect(() => redisSink({ ...c } as never)).toThrow(/give exactly one of stream \(XADD\), value \(SET, with key\) or hash \(HSET, with key\), got none/);
    expect(() => redisSink({ ...c, stream: 's', key: () => 'k', value: () => 1 } as never)).toThrow(/got stream and value/);
    expect(() => redisSink({ ...c, stream: '' })).toThrow(/stream must be a non-empty key or a function of the record, got ""/);
    expect(() => redisSink({ ...c, stream: 's', maxLen: 0 })).toThrow(/maxLen must be a positive integer, got 0/);
    expect(() => redisSink({ ...c, key: 'k', value: () => 1 } as never)).toThrow(/key must be a function of the record, got "k"/);
    expect(() => redisSink({ ...c, key: () => 'k', value: () => 1, ttlMs: -5 })).toThrow(/ttlMs must be a positive integer of ms, got -5/);
    expect(() => redisSink({ ...c, stream: 's', batchSize: 0 })).toThrow(/batchSize must be a positive integer, got 0/);
    expect(() => redisSink({ connection: 'redis://h:99999', stream: 's' })).toThrow(/connection/);
  });
});
