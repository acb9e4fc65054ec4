import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import pg from 'pg';
import { seededRandom } from '../support/crash-episodes.js';
import { tempDir } from '../support/files.js';
import { postgresAvailability, startPostgresServer, type PostgresServer } from '../support/postgres-server.js';
import { redisAvailability, sleep, startRedisServer, type RedisServer } from '../support/redis-server.js';

// Redis → (window) → PostgreSQL jobs run as child processes against real servers on loopback:
// SIGKILLed at random moments, a consumer that dies for good, and both servers restarted mid-run.

const windowJob = fileURLToPath(new URL('../fixtures/redis-postgres-window-job.js', import.meta.url));
const copyJob = fileURLToPath(new URL('../fixtures/redis-postgres-copy-job.js', import.meta.url));
/** SIGKILLs of the crash test; the soak script raises it with WEIR_CRASH_KILLS. */
const KILLS = Number(process.env.WEIR_CRASH_KILLS ?? 12);
/**
 * How long each server stays down in the restart test. The issue's scenario is 30 s
 * (WEIR_OUTAGE_MS=30000); the suite uses a short outage: the code path — failed commands,
 * backoff capped at maxDelayMs, reconnect, resume from the PEL / re-commit — is the same.
 */
const OUTAGE_MS = Number(process.env.WEIR_OUTAGE_MS ?? 2500);

const redisOk = redisAvailability();
const postgresOk = postgresAvailability();
const skip = redisOk.skip || postgresOk.skip;
const reason = [redisOk.reason, postgresOk.reason].filter(Boolean).join('; ');

let redis: RedisServer;
let postgres: PostgresServer;
let admin: Redis;
let db: pg.Client;
const tmp = tempDir('weir-redis-pg-');

interface Run {
  readonly code: number | null;
  readonly signal: string | null;
  readonly stderr: string;
}

function start(job: string, config: object, stateDir: string, flags: string[] = []): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, [job, JSON.stringify(config), '--state-dir', stateDir, ...flags], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as string | null, stderr }));
  return { child, done };
}

async function run(job: string, config: object, stateDir: string, flags: string[], killAfterMs?: number): Promise<Run> {
  const { child, done } = start(job, config, stateDir, flags);
  const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  const result = await done;
  clearTimeout(timer);
  return result;
}

/** Reconnect the test's own PostgreSQL client (after a server restart). */
async function reconnectDb(): Promise<void> {
  await db?.end().catch(() => undefined);
  db = new pg.Client({ connectionString: postgres.url });
  db.on('error', () => undefined);
  await db.connect();
}

/** Entries pending in the group (0 while the job has not created it yet). */
async function pending(stream: string, group: string): Promise<number> {
  try {
    return Number(((await admin.xpending(stream, group)) as [number])[0]);
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('NOGROUP')) return 0;
    throw err;
  }
}

describe.skipIf(skip)(`Redis → PostgreSQL jobs${skip ? ` (skipped: ${reason})` : ''}`, () => {
  beforeAll(async () => {
    [redis, postgres] = await Promise.all([startRedisServer(), startPostgresServer()]);
    admin = new Redis(redis.url);
    admin.on('error', () => undefined);
    await reconnectDb();
  });
  afterAll(async () => {
    admin?.disconnect();
    await db?.end().catch(() => undefined);
    await Promise.all([redis?.cleanup(), postgres?.cleanup()]);
    tmp.cleanup();
  });

  it(`Redis → window → PostgreSQL killed ${KILLS} times at random: the table equals an uninterrupted run's`, async () => {
    const stream = 'clicks';
    const count = 120_000;
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return Math.floor((seed / 2 ** 31) * n);
    };
    for (let i = 0; i < count; i += 5000) {
      const p = admin.pipeline();
      for (let j = i; j < Math.min(count, i + 5000); j++) {
        p.xadd(stream, '*', 'user', `u${rnd(40)}`, 'amount', String(rnd(100)), 't', String(1_700_000_000_000 + j * 5 - rnd(300) * 5));
      }
      await p.exec();
    }
    const createTable = (name: string) => db.query(`create table ${name} (user_id text not null, window_start bigint not null, n int not null, total double precision not null)`);
    const table = async (name: string): Promise<string[]> =>
      (await db.query(`select user_id, window_start, n, total from ${name} order by user_id, window_start`)).rows.map((r) => JSON.stringify(r));
    const config = (name: string) => ({ redis: redis.url, postgres: postgres.url, stream, group: name, table: name });
    const flags = ['--checkpoint-interval', '25', '--batch-size', '256'];

    await createTable('clean');
    const started = Date.now();
    const clean = await run(windowJob, config('clean'), `${tmp.dir}/clean-state`, flags);
    const cleanMs = Date.now() - started;
    expect(clean.stderr).toBe('');
    expect(clean.code).toBe(0);
    const expected = await table('clean');
    expect(expected.length).toBeGreaterThan(10_000);
    expect(new Set(expected).size).toBe(expected.length);
    expect(await pending(stream, 'clean')).toBe(0);

    let kills = 0;
    /** Kills that left some, but not all, of the output committed: the interesting ones. */
    let midway = 0;
    const random = seededRandom(12345);
    for (let episode = 0; kills < KILLS; episode++) {
      expect(episode).toBeLessThan(KILLS * 4);
      const name = `crash_${episode}`;
      await createTable(name);
      for (let attempt = 0; ; attempt++) {
        expect(attempt).toBeLessThan(100);
        // Kill somewhere in the first 80% of a clean run's duration, counting ~300 ms of start-up.
        const killAt = attempt < 30 ? 150 + Math.floor(random() * Math.max(300, cleanMs * 0.8)) : undefined;
        const result = await run(windowJob, config(name), `${tmp.dir}/${name}-state`, flags, killAt);
        if (result.signal === 'SIGKILL') {
          kills++;
          // What is committed after a crash is part of the right answer: nothing duplicated, nothing wrong.
          const partial = await table(name);
          if (partial.length > 0 && partial.length < expected.length) midway++;
          expect(new Set(partial).size).toBe(partial.length);
          const allowed = new Set(expected);
          for (const row of partial) expect(allowed.has(row)).toBe(true);
          continue;
        }
        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
        break;
      }
      expect(await table(name)).toEqual(expected);
      expect(await pending(stream, name)).toBe(0);
    }
    expect(kills).toBeGreaterThanOrEqual(KILLS);
    if (process.env.WEIR_DEBUG_JOBS) console.log(`clean run ${cleanMs} ms, ${kills} kills, ${midway} with part of the output committed`);
    expect(midway).toBeGreaterThan(0);
  }, 600_000);

  it('a consumer that dies for good: another claims its pending entries after claimIdleMs; every entry once', async () => {
    const stream = 'orders';
    const count = 3000;
    const p = admin.pipeline();
    for (let i = 0; i < count; i++) p.xadd(stream, '*', 'n', String(i));
    await p.exec();
    await db.query('create table claimed (id text not null, n int not null)');
    const base = { redis: redis.url, postgres: postgres.url, stream, group: 'workers', table: 'claimed' };

    // Consumer "a" reads (its entries go pending) but never completes a checkpoint, then dies.
    const a = start(copyJob, { ...base, consumer: 'a' }, `${tmp.dir}/a-state`, ['--checkpoint-interval', '600000', '--batch-size', '100']);
    const deadline = Date.now() + 20_000;
    while ((await pending(stream, 'workers')) < 500) {
      expect(Date.now()).toBeLessThan(deadline);
      await sleep(10);
    }
    a.child.kill('SIGKILL');
    expect((await a.done).signal).toBe('SIGKILL');
    const left = await pending(stream, 'workers');
    expect(left).toBeGreaterThanOrEqual(500);

    // Consumer "b" takes the rest with '>' and a's pending entries once they are idle for 500 ms.
    const b = await run(copyJob, { ...base, consumer: 'b', count, claimIdleMs: 500, claimIntervalMs: 100 }, `${tmp.dir}/b-state`, ['--checkpoint-interval', '50']);
    expect(b.code).toBe(0);
    expect(b.stderr).toMatch(/claiming entries of stream "orders" left pending for ≥ 500 ms by consumer\(s\) "a"/);
    const rows = (await db.query('select id, n from claimed')).rows as Array<{ id: string; n: number }>;
    expect(rows).toHaveLength(count);
    expect(new Set(rows.map((r) => r.n)).size).toBe(count);
    expect(await pending(stream, 'workers')).toBe(0);
  }, 120_000);

  it(`a Redis restart and a PostgreSQL restart (${OUTAGE_MS} ms down each) during a run: nothing lost, nothing twice`, async () => {
    const stream = 'events';
    const count = 20_000;
    await db.query('create table restarted (id text not null, n int not null)');
    const job = start(
      copyJob,
      { redis: redis.url, postgres: postgres.url, stream, group: 'restart', consumer: 'r', table: 'restarted', count },
      `${tmp.dir}/restart-state`,
      ['--checkpoint-interval', '100', '--batch-size', '200'],
    );
    // The producer writes ~2,000 entries/s with explicit ids, so its own retries cannot add twice.
    const producer = (async () => {
      for (let i = 0; i < count; i += 100) {
        for (;;) {
          try {
            const p = admin.pipeline();
            for (let j = i; j < i + 100; j++) p.xadd(stream, `${j + 1}-1`, 'n', String(j));
            const replies = (await p.exec()) ?? [];
            const failed = replies.find(([err]) => err !== null && !/equal or smaller/.test(err.message));
            if (failed !== undefined) throw failed[0];
            break;
          } catch {
            await sleep(100);
          }
        }
        await sleep(50);
      }
    })();
    await sleep(2000);
    await redis.restart(OUTAGE_MS);
    await sleep(2000);
    await postgres.restart(OUTAGE_MS);
    await producer;
    const result = await job.done;
    if (process.env.WEIR_DEBUG_JOBS) console.log(result.stderr);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/WEIR_CONNECTION_LOST.*lost the connection to redis 127\.0\.0\.1/);
    expect(result.stderr).toMatch(/WEIR_CONNECTION_LOST.*lost the connection to postgres 127\.0\.0\.1/);
    expect(result.stderr).toMatch(/WEIR_CONNECTION_RESTORED/);
    await reconnectDb();
    const rows = (await db.query('select id, n from restarted order by n')).rows as Array<{ id: string; n: number }>;
    expect(rows).toHaveLength(count);
    expect(rows.map((r) => r.n)).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(rows.map((r) => r.id)).toEqual(Array.from({ length: count }, (_, i) => `${i + 1}-1`));
    expect(await pending(stream, 'restart')).toBe(0);
  }, 180_000);
});
