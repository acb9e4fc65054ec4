import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { pipeline } from '../../src/builder/pipeline.js';
import { batch } from '../../src/runtime/elements.js';
import type { DeadLetter } from '../../src/runtime/error-policy.js';
import { ConfigError, ConnectorError, RecordError } from '../../src/runtime/errors.js';
import type { Sink, SinkContext, TransactionalWriter } from '../../src/runtime/sink.js';
import { deadLetterSink } from '../../src/sinks/dead-letter-sink.js';
import { postgresSink, type PostgresSinkOptions, type PostgresSinkStats, type PostgresSinkTxn } from '../../src/sinks/postgres-sink.js';
import { committedRecords, tempDir } from '../support/files.js';
import { listSource } from '../support/inline.js';
import { postgresAvailability, startPostgresServer, type PostgresServer } from '../support/postgres-server.js';

const availability = postgresAvailability();
let server: PostgresServer;
let admin: pg.Client;
let seq = 0;

interface Live<T> extends TransactionalWriter<T, PostgresSinkTxn> {
  stats(): PostgresSinkStats;
}

interface Row {
  id: number;
  name: string;
  qty: number;
}

const writers: Array<{ close?: () => unknown }> = [];

/** A fresh table `t<n>` (id int primary key, name text not null, qty int check (qty >= 0)). */
async function table(): Promise<string> {
  const name = `t${++seq}`;
  await admin.query(`create table ${name} (id int primary key, name text not null, qty int not null check (qty >= 0))`);
  return name;
}

async function openWriter<T = Row>(
  options: Partial<PostgresSinkOptions<T>> & { table: string },
  restored?: unknown,
  step = 'out',
): Promise<Live<T>> {
  const sink = postgresSink<T>({
    connection: server.url,
    columns: ['id', 'name', 'qty'],
    reconnect: { baseDelayMs: 20, maxDelayMs: 200 },
    ...options,
  } as PostgresSinkOptions<T>);
  const ctx: SinkContext = { job: 'pg-test', name: step, signal: new AbortController().signal, restored, now: () => Date.now() };
  const writer = (await sink.open(ctx)) as Live<T>;
  writers.push(writer);
  return writer;
}

async function rows(name: string): Promise<Row[]> {
  return (await admin.query(`select id, name, qty from ${name} order by id`)).rows as Row[];
}

const b = <T>(records: T[]) => batch(records, records.map(() => Number.NaN), 'src');
const make = (from: number, to: number, qty = 1): Row[] => Array.from({ length: to - from }, (_, i) => ({ id: from + i, name: `n${from + i}`, qty }));

function collectDead(into: DeadLetter[]): Sink<DeadLetter> {
  return { name: 'dead', open: () => ({ write: (x) => void into.push(...x.records) }) };
}

describe.skipIf(availability.skip)(`postgresSink${availability.skip ? ` (skipped: ${availability.reason})` : ''}`, () => {
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
    for (const w of writers.splice(0)) await w.close?.();
  });

  it('writes nothing before commit; commit inserts the rows and a marker; a repeated commit is a no-op', async () => {
    const t = await table();
    const w = await openWriter({ table: t, batchSize: 7 });
    await w.write(b(make(0, 20)));
    const txn = await w.preCommit(1);
    expect(await rows(t)).toEqual([]);
    await w.commit(txn);
    expect(await rows(t)).toEqual(make(0, 20));
    await w.commit(txn); // recovery re-commits the restored checkpoint's transaction
    const again = await openWriter({ table: t }, txn); // … from a new process
    await again.commit(txn);
    expect(await rows(t)).toEqual(make(0, 20));
    expect(w.stats()).toMatchObject({ rows: 20, commits: 1, repeated: 1 });
    expect(again.stats()).toMatchObject({ rows: 0, commits: 0, repeated: 1 });
    const markers = await admin.query('select job, sink, lineage, checkpoint_id, rows from weir_commits where lineage = $1', [txn.lineage]);
    expect(markers.rows).toEqual([{ job: 'pg-test', sink: 'out', lineage: txn.lineage, checkpoint_id: '1', rows: 20 }]);
  });

  it('each checkpoint commits its own rows; an empty checkpoint writes no marker', async () => {
    const t = await table();
    const w = await openWriter({ table: t });
    await w.write(b(make(0, 3)));
    const t1 = await w.preCommit(1);
    await w.write(b(make(3, 5)));
    const t2 = await w.preCommit(2);
    const t3 = await w.preCommit(3);
    await w.commit(t1);
    await w.commit(t2);
    await w.commit(t3);
    expect(await rows(t)).toEqual(make(0, 5));
    expect((await admin.query('select count(*)::int as n from weir_commits where lineage = $1', [t1.lineage])).rows[0].n).toBe(2);
  });

  it('upsert: DO UPDATE with the last row of a key winning, and DO NOTHING', async () => {
    const t = await table();
    const up = await openWriter({ table: t, upsert: { conflict: ['id'], update: ['name', 'qty'] } });
    await up.write(b([{ id: 1, name: 'a', qty: 1 }, { id: 2, name: 'b', qty: 2 }, { id: 1, name: 'a2', qty: 3 }]));
    await up.commit(await up.preCommit(1));
    expect(await rows(t)).toEqual([{ id: 1, name: 'a2', qty: 3 }, { id: 2, name: 'b', qty: 2 }]);
    await up.write(b([{ id: 2, name: 'b2', qty: 5 }]));
    await up.commit(await up.preCommit(2));
    const keep = await openWriter({ table: t, upsert: { conflict: ['id'] } }, undefined, 'keep');
    await keep.write(b([{ id: 1, name: 'ignored', qty: 9 }, { id: 3, name: 'c', qty: 0 }]));
    await keep.commit(await keep.preCommit(1));
    expect(await rows(t)).toEqual([{ id: 1, name: 'a2', qty: 3 }, { id: 2, name: 'b2', qty: 5 }, { id: 3, name: 'c', qty: 0 }]);
  });

  it('maps columns with functions', async () => {
    const t = await table();
    const w = await openWriter<{ key: string; n: number }>({
      table: t,
      columns: { id: (r) => r.n, name: (r) => r.key.toUpperCase(), qty: (r) => r.n * 2 },
    });
    await w.write(b([{ key: 'x', n: 1 }, { key: 'y', n: 2 }]));
    await w.commit(await w.preCommit(1));
    expect(await rows(t)).toEqual([{ id: 1, name: 'X', qty: 2 }, { id: 2, name: 'Y', qty: 4 }]);
  });

  it('bad rows (constraint violations) go to deadLetters, the rest is committed, nothing loops', async () => {
    const t = await table();
    await admin.query(`insert into ${t} values (5, 'existing', 1)`);
    const dead: DeadLetter[] = [];
    const w = await openWriter({ table: t, batchSize: 8, deadLetters: collectDead(dead) });
    const input = make(0, 40);
    input[5].qty = 1; // duplicate key 5
    input[17].qty = -1; // check constraint
    (input[30] as { name: string | null }).name = null; // not null
    await w.write(b(input));
    await w.commit(await w.preCommit(1));
    expect((await rows(t)).map((r) => r.id)).toEqual(make(0, 40).map((r) => r.id).filter((id) => id !== 17 && id !== 30));
    expect(dead.map((d) => (d.record as Row).id)).toEqual([5, 17, 30]);
    expect(dead.map((d) => d.error.code)).toEqual(['WEIR_PG_23505', 'WEIR_PG_23514', 'WEIR_PG_23502']);
    expect(dead[0].error.message).toMatch(/refused a row \(SQLSTATE 23505\): duplicate key value/);
    expect(w.stats()).toMatchObject({ rows: 37, deadLettered: 3 });
    const marker = await admin.query('select rows, dead_letters from weir_commits where sink = $1 and checkpoint_id = 1 order by committed_at desc limit 1', ['out']);
    expect(marker.rows[0]).toEqual({ rows: 37, dead_letters: 3 });
  });

  it('dead letters into the dead-letter file sink: exactly once across a repeated commit', async () => {
    const t = await table();
    const tmp = tempDir();
    try {
      const w = await openWriter({ table: t, deadLetters: deadLetterSink({ dir: tmp.dir }) });
      await w.write(b([{ id: 1, name: 'a', qty: -5 }, { id: 2, name: 'b', qty: 1 }]));
      const txn = await w.preCommit(4);
      await w.commit(txn);
      await w.commit(txn);
      expect(committedRecords<DeadLetter>(tmp.dir).map((d) => d.record)).toEqual([{ id: 1, name: 'a', qty: -5 }]);
      expect(await rows(t)).toEqual([{ id: 2, name: 'b', qty: 1 }]);
    } finally {
      tmp.cleanup();
    }
  });

  it('without deadLetters a bad row fails the commit with a RecordError (no retry loop)', async () => {
    const t = await table();
    const w = await openWriter({ table: t });
    await w.write(b([{ id: 1, name: 'a', qty: -1 }, { id: 2, name: 'b', qty: 1 }]));
    const err = await Promise.resolve(w.commit(await w.preCommit(1))).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(RecordError);
    expect((err as Error).message).toMatch(/SQLSTATE 23514.*no deadLetters sink is configured/);
    expect(await rows(t)).toEqual([]);
    expect(w.stats().connection.retries).toBe(0);
  });

  it('a throwing column mapping dead-letters the record with the commit', async () => {
    const t = await table();
    const dead: DeadLetter[] = [];
    const w = await openWriter<{ id: number; name?: string }>({
      table: t,
      columns: { id: (r) => r.id, name: (r) => r.name!.trim(), qty: () => 0 },
      deadLetters: collectDead(dead),
    });
    await w.write(b([{ id: 1, name: ' a ' }, { id: 2 }]));
    expect(dead).toEqual([]);
    await w.commit(await w.preCommit(1));
    expect(await rows(t)).toEqual([{ id: 1, name: 'a', qty: 0 }]);
    expect(dead.map((d) => [d.record, d.error.code])).toEqual([[{ id: 2 }, 'WEIR_USER_FUNCTION']]);
  });

  it('two writers committing the same transaction at once write it once', async () => {
    const t = await table();
    const w1 = await openWriter({ table: t });
    await w1.write(b(make(0, 500)));
    const txn = await w1.preCommit(1);
    const w2 = await openWriter({ table: t }, txn);
    await Promise.all([w1.commit(txn), w2.commit(txn)]);
    expect(await rows(t)).toHaveLength(500);
    expect(w1.stats().commits + w2.stats().commits).toBe(1);
  });

  it('a fresh start (no restored transaction) is a new lineage: its checkpoint 1 is not mistaken for the old one', async () => {
    const t = await table();
    const a = await openWriter({ table: t });
    await a.write(b(make(0, 2)));
    const first = await a.preCommit(1);
    await a.commit(first);
    const b2 = await openWriter({ table: t }); // e.g. --fresh: checkpoint ids start again at 1
    await b2.write(b(make(2, 4)));
    const second = await b2.preCommit(1);
    expect(second.lineage).not.toBe(first.lineage);
    await b2.commit(second);
    expect(await rows(t)).toEqual(make(0, 4));
  });

  it('rides out a PostgreSQL restart during a commit: rows once, outage logged and counted', async () => {
    const t = await table();
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }) => {
      if (w.code?.startsWith('WEIR_CONNECTION')) warnings.push(w.code);
    };
    process.on('warning', onWarning);
    try {
      const w = await openWriter({ table: t, batchSize: 50 });
      await w.write(b(make(0, 100)));
      await w.commit(await w.preCommit(1));
      await w.write(b(make(100, 5000)));
      const txn = await w.preCommit(2);
      await server.stop();
      const committing = w.commit(txn);
      await new Promise((r) => setTimeout(r, 500));
      await server.start();
      await committing;
      await admin.end().catch(() => undefined);
      admin = new pg.Client({ connectionString: server.url });
      admin.on('error', () => undefined);
      await admin.connect();
      expect(await rows(t)).toHaveLength(5000);
      await w.commit(txn);
      expect(await rows(t)).toHaveLength(5000);
      expect(w.stats().connection.outages).toBeGreaterThanOrEqual(1);
      await new Promise((r) => setImmediate(r));
      expect(warnings).toEqual(expect.arrayContaining(['WEIR_CONNECTION_LOST', 'WEIR_CONNECTION_RESTORED']));
    } finally {
      process.off('warning', onWarning);
    }
  }, 60_000);

  it('fails at open when the table, a column or the conflict target does not exist', async () => {
    const t = await table();
    await expect(openWriter({ table: 'nope' })).rejects.toThrow(ConnectorError);
    await expect(openWriter({ table: 'nope' })).rejects.toThrow(/cannot insert into "nope" \(id, name, qty\) on postgres 127\.0\.0\.1:\d+\/postgres: relation "nope" does not exist/);
    await expect(openWriter({ table: t, columns: ['id', 'nam', 'qty'] })).rejects.toThrow(/column "nam" of relation "t\d+" does not exist/);
    await expect(openWriter({ table: t, upsert: { conflict: ['name'] } })).rejects.toThrow(/no unique or exclusion constraint matching the ON CONFLICT/);
  });

  it('in a job: with checkpoints (exactly once) and without (committed at the end)', async () => {
    const t1 = await table();
    const tmp = tempDir();
    try {
      await pipeline('pg-job')
        .source(listSource(make(0, 300), { chunk: 11 }))
        .sink(postgresSink({ connection: server.url, table: t1, columns: ['id', 'name', 'qty'] }), { name: 'rows' })
        .run({ stateDir: tmp.dir, checkpointInterval: 5 });
      expect(await rows(t1)).toEqual(make(0, 300));
      const t2 = await table();
      await pipeline('pg-job-2')
        .source(listSource(make(0, 50), { chunk: 11 }))
        .sink(postgresSink({ connection: server.url, table: t2, columns: ['id', 'name', 'qty'] }))
        .run();
      expect(await rows(t2)).toEqual(make(0, 50));
    } finally {
      tmp.cleanup();
    }
  });

  it('validates options in the factory, naming the option and the value', () => {
    const c = { connection: 'postgres://u@127.0.0.1:1/db', table: 't', columns: ['a'] };
    expect(() => postgresSink({ ...c, connection: 'mysql://x' })).toThrow(ConfigError);
    expect(() => postgresSink({ ...c, connection: 'mysql://x' })).toThrow(/connection must be a postgres:\/\/ or postgresql:\/\/ URL, got protocol "mysql:"/);
    expect(() => postgresSink({ ...c, table: 'a.b.c' })).toThrow(/table must be 'table' or 'schema.table' \(no dots in names\), got "a.b.c"/);
    expect(() => postgresSink({ ...c, columns: [] })).toThrow(/columns must name at least one column, got \[\]/);
    expect(() => postgresSink({ ...c, columns: { a: 'x' } as never })).toThrow(/columns.a must be a function of the record, got "x"/);
    expect(() => postgresSink({ ...c, columns: ['a', 'a'] })).toThrow(/columns must not repeat a name/);
    expect(() => postgresSink({ ...c, upsert: { conflict: ['b'] } })).toThrow(/upsert names column "b", which is not in columns \(a\)/);
    expect(() => postgresSink({ ...c, upsert: { conflict: [] } })).toThrow(/upsert must be \{ conflict/);
    expect(() => postgresSink({ ...c, batchSize: 0 })).toThrow(/batchSize must be a positive integer, got 0/);
    expect(() => postgresSink({ ...c, markerTable: '' })).toThrow(/markerTable must be a name of 1 to 63 characters, got ""/);
    expect(() => postgresSink({ ...c, reconnect: { baseDelayMs: 0 } })).toThrow(/reconnect.baseDelayMs must be a positive number of ms, got 0/);
  });
});
