// Redis Streams → PostgreSQL throughput: one stream of N entries (user, amount) read through a
// consumer group and inserted row for row into a table (id, user_id, amount). Three runs, each on
// its own group and table, same servers, same data:
//   weir exactly-once  redisStreamSource → postgresSink, checkpoints every 1 s (rows + marker per
//                      checkpoint in one SQL transaction, XACK after each checkpoint)
//   weir no checkpoints the same job without checkpoints (at-least-once: rows written at the end)
//   bare client loop   ioredis XREADGROUP COUNT 1024 → pg multi-row INSERTs of 500 rows in one
//                      transaction per read → XACK: what one would write by hand, at-least-once
// Each run ends with the row count checked (= N) and prints entries/s.
//
//   npm run build && node bench/redis-postgres.js [--events N] [--redis redis://…] [--postgres postgres://…]
// Without --redis / --postgres it starts a throwaway redis-server and PostgreSQL cluster on
// loopback (initdb/pg_ctl as the `postgres` user when run as root), and stops them after.
// Not part of `npm run bench` (it needs the servers): bench/run.js finds no `cases` here.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chownSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) await main();

async function main() {
  const args = process.argv.slice(2);
  const flag = (name) => {
    const i = args.indexOf(name);
    return i < 0 ? undefined : args[i + 1];
  };
  const events = Number(flag('--events') ?? 200_000);
  const servers = [];
  try {
    const redisUrl = flag('--redis') ?? (await startRedis(servers));
    const pgUrl = flag('--postgres') ?? (await startPostgres(servers));
    const [{ pipeline }, { redisStreamSource }, { postgresSink }, { Redis }, { default: pg }] = await Promise.all([
      import('../dist/index.js'),
      import('../dist/sources/redis-stream-source.js'),
      import('../dist/sinks/postgres-sink.js'),
      import('ioredis'),
      import('pg'),
    ]);
    const redis = new Redis(redisUrl);
    const db = new pg.Client({ connectionString: pgUrl });
    db.on('error', () => undefined);
    await db.connect();
    const stream = `bench:${Date.now()}`;
    process.stderr.write(`filling ${stream} with ${events} entries… `);
    for (let i = 0; i < events; i += 10_000) {
      const p = redis.pipeline();
      for (let j = i; j < Math.min(events, i + 10_000); j++) p.xadd(stream, '*', 'user', `u${j % 1000}`, 'amount', String(j % 97));
      await p.exec();
    }
    process.stderr.write('done\n');
    const table = async (name) => {
      await db.query(`drop table if exists ${name}`);
      await db.query(`create table ${name} (id text not null, user_id text not null, amount int not null)`);
      return name;
    };
    const count = async (name) => Number((await db.query(`select count(*) as n from ${name}`)).rows[0].n);
    const columns = { id: (e) => e.id, user_id: (e) => e.fields.user, amount: (e) => Number(e.fields.amount) };

    const results = [];
    const measure = async (label, fn, name) => {
      await table(name);
      const start = process.hrtime.bigint();
      await fn(name);
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      const rows = await count(name);
      if (rows !== events) throw new Error(`${label}: ${rows} rows, expected ${events}`);
      results.push({ label, ms, perSec: Math.round((events / ms) * 1000) });
      process.stderr.write(`${label}: ${Math.round(ms)} ms\n`);
    };

    const state = mkdtempSync(join(tmpdir(), 'weir-bench-state-'));
    const weir = (checkpoints) => (name) =>
      pipeline(`bench-${name}`)
        .source(redisStreamSource({ connection: redisUrl, streams: stream, group: name, bounded: true, claimIdleMs: 0 }), { name: 'entries' })
        .sink(postgresSink({ connection: pgUrl, table: name, columns, batchSize: 500 }), { name: 'rows' })
        .run({ args: [], handleSignals: false, ...(checkpoints ? { stateDir: join(state, name), checkpointInterval: 1000 } : {}) });
    await measure('weir exactly-once', weir(true), 'weir_eo');
    await measure('weir no checkpoints', weir(false), 'weir_plain');
    await measure('bare client loop', (name) => bareLoop(Redis, pg, redisUrl, pgUrl, stream, name), 'bare');
    rmSync(state, { recursive: true, force: true });

    const base = results.find((r) => r.label === 'bare client loop').perSec;
    console.log(`\nRedis → PostgreSQL, ${events} entries (node ${process.version}, ${(await import('node:os')).cpus().length} cpus)`);
    console.log('run                    entries/s   vs bare loop');
    for (const r of results) console.log(`${r.label.padEnd(22)} ${String(r.perSec).padStart(9)}   ${(r.perSec / base).toFixed(2)}×`);
    redis.disconnect();
    await db.end();
  } finally {
    for (const stop of servers.reverse()) await stop();
  }
}

/** The hand-written loop: read a page, insert it in one transaction, ack it. */
async function bareLoop(Redis, pg, redisUrl, pgUrl, stream, group) {
  // RESP2: XREADGROUP replies as [[key, entries]] (RESP3 would make them a map).
  const redis = new Redis(redisUrl, { protocol: 2 });
  const db = new pg.Client({ connectionString: pgUrl });
  db.on('error', () => undefined);
  await db.connect();
  await redis.xgroup('CREATE', stream, group, '0');
  for (;;) {
    const reply = await redis.call('XREADGROUP', ['GROUP', group, 'c', 'COUNT', 1024, 'STREAMS', stream, '>']);
    const entries = reply === null ? [] : reply[0][1];
    if (entries.length === 0) break;
    await db.query('BEGIN');
    for (let i = 0; i < entries.length; i += 500) {
      const part = entries.slice(i, i + 500);
      const values = [];
      const tuples = part.map(([id, f], k) => {
        const fields = {};
        for (let j = 0; j < f.length; j += 2) fields[f[j]] = f[j + 1];
        values.push(id, fields.user, Number(fields.amount));
        return `($${k * 3 + 1},$${k * 3 + 2},$${k * 3 + 3})`;
      });
      await db.query(`insert into ${group} (id, user_id, amount) values ${tuples.join(',')}`, values);
    }
    await db.query('COMMIT');
    await redis.call('XACK', [stream, group, ...entries.map((e) => e[0])]);
  }
  redis.disconnect();
  await db.end();
}

async function freePort() {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

async function startRedis(servers) {
  const dir = mkdtempSync(join(tmpdir(), 'weir-bench-redis-'));
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  servers.push(async () => {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  });
  for (let i = 0; ; i++) {
    const ok = await new Promise((resolve) => {
      const s = connect({ host: '127.0.0.1', port }, () => s.write('PING\r\n'));
      s.on('data', (d) => (s.destroy(), resolve(d.toString().startsWith('+PONG'))));
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    if (i > 200) throw new Error('redis-server did not start');
    await new Promise((r) => setTimeout(r, 25));
  }
  return `redis://127.0.0.1:${port}`;
}

async function startPostgres(servers) {
  const bins = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').map((v) => join('/usr/lib/postgresql', v, 'bin')) : [];
  const find = (p) => [...(process.env.PATH ?? '').split(':'), ...bins].map((d) => join(d, p)).find((f) => existsSync(f));
  const initdb = find('initdb');
  const pgCtl = find('pg_ctl');
  if (!initdb || !pgCtl) throw new Error('PostgreSQL server programs not found: apt-get install postgresql, or pass --postgres <url>');
  const dir = mkdtempSync(join(tmpdir(), 'weir-bench-pg-'));
  const asRoot = process.getuid?.() === 0;
  const run = (cmd, argv) => (asRoot ? execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...argv], { stdio: 'pipe' }) : execFileSync(cmd, argv, { stdio: 'pipe' }));
  mkdirSync(join(dir, 'run'));
  if (asRoot) {
    const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout);
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout);
    chmodSync(dir, 0o755);
    chownSync(dir, uid, gid);
    chownSync(join(dir, 'run'), uid, gid);
  }
  const port = await freePort();
  run(initdb, ['-D', join(dir, 'data'), '-U', 'weir', '--auth=trust', '--no-sync']);
  // Durability as a production server would have it (fsync on), so commits cost what they cost.
  run(pgCtl, ['-D', join(dir, 'data'), '-o', `-p ${port} -k ${join(dir, 'run')} -c listen_addresses=127.0.0.1`, '-l', join(dir, 'log'), '-w', 'start']);
  servers.push(async () => {
    run(pgCtl, ['-D', join(dir, 'data'), '-m', 'fast', '-w', 'stop']);
    rmSync(dir, { recursive: true, force: true });
  });
  return `postgres://weir@127.0.0.1:${port}/postgres`;
}
