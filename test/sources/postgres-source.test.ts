import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { pipeline } from '../../src/builder/pipeline.js';
import { ConfigError, ConnectorError } from '../../src/runtime/errors.js';
import type { SourceContext, SourceProgress, SourceReader } from '../../src/runtime/source.js';
import { collectSink } from '../../src/sinks/collect-sink.js';
import { postgresSink } from '../../src/sinks/postgres-sink.js';
import { postgresSource, type PostgresSourceOptions, type PostgresSourcePosition, type PostgresSourceStats } from '../../src/sources/postgres-source.js';
import { tempDir } from '../support/files.js';
import { postgresAvailability, startPostgresServer, type PostgresServer } from '../support/postgres-server.js';

const availability = postgresAvailability();
let server: PostgresServer;
let admin: pg.Client;
let seq = 0;

interface Live<T> extends SourceReader<T> {
  close(): Promise<void>;
  stats(): PostgresSourceStats;
  progress(): SourceProgress;
}

interface Item {
  id: number;
  label: string;
}

const readers: Array<{ close?: () => unknown }> = [];

/** A table `items<n>` with ids 1..count. */
async function items(count: number): Promise<string> {
  const name = `items${++seq}`;
  await admin.query(`create table ${name} (id int primary key, label text not null)`);
  await admin.query(`insert into ${name} select g, 'item ' || g from generate_series(1, $1::int) g`, [count]);
  return name;
}

async function openReader<T = Item>(options: Partial<PostgresSourceOptions> & { query: string }, restored?: unknown): Promise<Live<T>> {
  const source = postgresSource<T>({ connection: server.url, keyColumn: 'id', reconnect: { baseDelayMs: 20, maxDelayMs: 200 }, ...options });
  const ctx: SourceContext = { job: 'pg-src', name: 'rows', signal: new AbortController().signal, restored, now: () => Date.now() };
  const reader = (await source.open(ctx)) as Live<T>;
  readers.push(reader);
  return reader;
}

async function drain<T>(reader: SourceReader<T>, max = 100, limit = Number.POSITIVE_INFINITY): Promise<T[]> {
  const out: T[] = [];
  while (out.length < limit) {
    const chunk = await reader.read(max);
    if (chunk === null) break;
    out.push(...chunk.records);
  }
  return out;
}

const range = (from: number, to: number): Item[] => Array.from({ length: to - from + 1 }, (_, i) => ({ id: from + i, label: `item ${from + i}` }));

describe.skipIf(availability.skip)(`postgresSource${availability.skip ? ` (skipped: ${availability.reason})` : ''}`, () => {
  beforeAll(async () => {
    server = await startPostgresServer();
    admin = new pg.Client({ connectionString: server.url });
    admin.on('error', () => undefined);
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end().catch(() => undefined);
    await server?.cleanup();
  });
  afterEach(async () => {
    for (const r of readers.splice(0)) await r.close?.();
  });

  it('pages through the query by the key column, page size = min(pageSize, max)', async () => {
    const t = await items(1050);
    const reader = await openReader({ query: `select id, label from ${t} where id > $1 order by id limit $2`, pageSize: 400 });
    const sizes: number[] = [];
    const all: Item[] = [];
    for (let c = await reader.read(1000); c !== null; c = await reader.read(1000)) {
      sizes.push(c.records.length);
      all.push(...c.records);
    }
    expect(sizes).toEqual([400, 400, 250]);
    expect(all).toEqual(range(1, 1050));
    expect(reader.position()).toEqual({ after: 1050, rows: 1050, done: true });
    expect(reader.stats().pages).toBe(3);
  });

  it('an empty result ends at once; startAfter skips ahead', async () => {
    const t = await items(10);
    expect(await drain(await openReader({ query: `select id, label from ${t} where id > $1 order by id limit $2`, startAfter: 10 }))).toEqual([]);
    expect(await drain(await openReader({ query: `select id, label from ${t} where id > $1 order by id limit $2`, startAfter: 7 }))).toEqual(range(8, 10));
  });

  it('resumes exactly after the checkpointed key', async () => {
    const t = await items(100);
    const query = `select id, label from ${t} where id > $1 order by id limit $2`;
    const reader = await openReader({ query });
    const first = await drain(reader, 30, 30);
    const position = reader.position() as PostgresSourcePosition;
    expect(position).toEqual({ after: 30, rows: 30, done: false });
    await drain(reader, 30, 30); // read past the checkpoint, then "crash"
    await reader.close();
    const restored = await openReader({ query }, position);
    expect([...first, ...(await drain(restored, 30))]).toEqual(range(1, 100));
    expect(restored.progress()).toEqual({ done: 100, unit: 'records' });
  });

  it('text and bigint keys come back as they were (strings) and page correctly', async () => {
    const name = `words${++seq}`;
    await admin.query(`create table ${name} (k text primary key, n bigint)`);
    await admin.query(`insert into ${name} values ('b', 2), ('a', 1), ('c', 9007199254740993)`);
    const reader = await openReader<{ k: string; n: string }>({ query: `select k, n from ${name} where k > $1 order by k limit $2`, keyColumn: 'k', startAfter: '' });
    expect(await drain(reader, 2)).toEqual([
      { k: 'a', n: '1' },
      { k: 'b', n: '2' },
      { k: 'c', n: '9007199254740993' },
    ]);
  });

  it('rides out a PostgreSQL restart: the page query waits for the server and goes on', async () => {
    const t = await items(300);
    const reader = await openReader({ query: `select id, label from ${t} where id > $1 order by id limit $2` });
    const first = await drain(reader, 100, 100);
    await server.stop();
    const rest = drain(reader, 100);
    await new Promise((r) => setTimeout(r, 300));
    await server.start();
    expect([...first, ...(await rest)]).toEqual(range(1, 300));
    expect(reader.stats().connection.retries).toBeGreaterThanOrEqual(1);
    await admin.end().catch(() => undefined);
    admin = new pg.Client({ connectionString: server.url });
    admin.on('error', () => undefined);
    await admin.connect();
  }, 60_000);

  it('reports a query that ignores the page size, a missing key column, bad SQL', async () => {
    const t = await items(5);
    const noLimit = await openReader({ query: `select id, label from ${t} where id > $1 and $2::int > 0 order by id`, pageSize: 2 });
    await expect(noLimit.read(10)).rejects.toThrow(/returned 5 rows for a page of 2: it must end with "limit \$2"/);
    const noKey = await openReader({ query: `select label from ${t} where id > $1 order by id limit $2` });
    await expect(noKey.read(10)).rejects.toThrow(/keyColumn "id" is not a column of the query's rows \(columns: label\)/);
    const bad = await openReader({ query: `select id from nowhere where id > $1 limit $2` });
    const err = await Promise.resolve(bad.read(10)).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectorError);
    expect((err as Error).message).toMatch(/query failed on postgres .*: relation "nowhere" does not exist/);
  });

  it('in a job with checkpoints: PostgreSQL → PostgreSQL copy, every row once', async () => {
    const t = await items(2000);
    const copy = `copy${seq}`;
    await admin.query(`create table ${copy} (id int primary key, label text not null)`);
    const tmp = tempDir();
    try {
      const seen: Item[] = [];
      const stream = pipeline('pg-copy').source(
        postgresSource<Item>({ connection: server.url, query: `select id, label from ${t} where id > $1 order by id limit $2`, keyColumn: 'id' }),
        { name: 'items' },
      );
      stream.sink(postgresSink<Item>({ connection: server.url, table: copy, columns: ['id', 'label'] }), { name: 'copy' });
      stream.sink(collectSink(seen), { name: 'seen' });
      await stream.pipeline.run({ stateDir: tmp.dir, checkpointInterval: 5, batchSize: 128 });
      const copied = (await admin.query(`select id, label from ${copy} order by id`)).rows;
      expect(copied).toEqual(range(1, 2000));
      expect(seen).toHaveLength(2000);
    } finally {
      tmp.cleanup();
    }
  });

  it('validates options in the factory, naming the option and the value', () => {
    const c = { connection: 'postgres://u@127.0.0.1:1/db', query: 'select * from t where id > $1 order by id limit $2', keyColumn: 'id' };
    expect(() => postgresSource({ ...c, query: 'select * from t' })).toThrow(ConfigError);
    expect(() => postgresSource({ ...c, query: 'select * from t' })).toThrow(/query must be SQL using \$1 \(the last key read\) and \$2 \(the page size\), got "select \* from t"/);
    expect(() => postgresSource({ ...c, keyColumn: '' })).toThrow(/keyColumn must be a non-empty column name, got ""/);
    expect(() => postgresSource({ ...c, pageSize: 0 })).toThrow(/pageSize must be a positive integer, got 0/);
    expect(() => postgresSource({ ...c, connection: { port: 0 } })).toThrow(/connection.port must be an integer in 1..65535, got 0/);
    expect(postgresSource(c).bounded).toBe(true);
    expect(postgresSource(c).replayable).toBe(true);
  });
});
