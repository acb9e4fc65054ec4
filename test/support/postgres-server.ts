import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findProgram, freePort, sleep, type Availability } from './redis-server.js';

/**
 * A throwaway PostgreSQL cluster for tests: `initdb` into a temp dir, `pg_ctl start` on a free
 * loopback port with its unix socket in the same temp dir, trust authentication for the
 * superuser `weir`. initdb and postgres refuse to run as root, so as root (CI) they run as the
 * `postgres` system user (created by Debian's postgresql package) or `nobody`, which owns the
 * temp dir. `restart()` is a real server restart on the same port and data.
 */
export interface PostgresServer {
  readonly port: number;
  /** `postgres://weir@127.0.0.1:<port>/postgres` */
  readonly url: string;
  readonly dir: string;
  /** `pg_ctl stop -m fast`: connected clients are disconnected (SQLSTATE 57P01). Idempotent. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** stop, wait `downMs`, start. */
  restart(downMs?: number): Promise<void>;
  /** Stop and delete the cluster. */
  cleanup(): Promise<void>;
}

/** Debian keeps the server binaries off PATH. */
function binDirs(): string[] {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => join(root, v, 'bin'));
}

function programs(): { initdb: string; pgCtl: string } | undefined {
  const initdb = findProgram('initdb', binDirs());
  const pgCtl = findProgram('pg_ctl', binDirs());
  return initdb !== undefined && pgCtl !== undefined ? { initdb, pgCtl } : undefined;
}

/**
 * Can a PostgreSQL cluster be started here? Missing programs skip the tests with a one-line
 * reason, except with CI=true, where starting fails the tests instead.
 */
export function postgresAvailability(): Availability {
  if (programs() !== undefined) return { skip: false, reason: '' };
  const reason = 'PostgreSQL server programs (initdb, pg_ctl) are not installed (apt-get install postgresql)';
  if (process.env.CI === 'true') return { skip: false, reason };
  console.warn(`skipping PostgreSQL tests: ${reason}`);
  return { skip: true, reason };
}

/** The unprivileged account to run the server as, when we are root. */
function serverUser(): { name: string; uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    const uid = spawnSync('id', ['-u', name], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
    if (uid.status === 0 && gid.status === 0) return { name, uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  }
  throw new Error('running as root and neither a "postgres" nor a "nobody" user exists to run PostgreSQL as');
}

/** Run a server program, as the unprivileged user when we are root. */
function run(program: string, args: string[], user: { name: string } | undefined): { status: number | null; output: string } {
  const [cmd, argv] = user === undefined ? [program, args] : ['runuser', ['-u', user.name, '--', program, ...args]];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

/** initdb a fresh cluster in a temp dir and start it on a free loopback port. */
export async function startPostgresServer(): Promise<PostgresServer> {
  const found = programs();
  if (found === undefined) throw new Error('PostgreSQL server programs (initdb, pg_ctl) are not installed (apt-get install postgresql); CI=true requires them');
  const user = serverUser();
  const dir = mkdtempSync(join(tmpdir(), 'weir-pg-'));
  const data = join(dir, 'data');
  const sockets = join(dir, 'run');
  mkdirSync(sockets);
  if (user !== undefined) {
    chmodSync(dir, 0o755);
    for (const p of [dir, sockets]) chownSync(p, user.uid, user.gid);
  }
  const init = run(found.initdb, ['-D', data, '-U', 'weir', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'], user);
  if (init.status !== 0) throw new Error(`initdb failed: ${init.output.trim()}`);
  const port = await freePort();
  const logFile = join(dir, 'server.log');
  // fsync off: the tests restart the server gracefully and never crash it, and it makes them fast.
  const serverOptions = `-p ${port} -k ${sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=50`;

  const start = async (): Promise<void> => {
    const r = run(found.pgCtl, ['-D', data, '-o', serverOptions, '-l', logFile, '-w', '-t', '60', 'start'], user);
    if (r.status !== 0) throw new Error(`pg_ctl start failed: ${r.output.trim()}\n${readLog(logFile)}`);
  };
  const stop = async (): Promise<void> => {
    if (!existsSync(join(data, 'postmaster.pid'))) return;
    const r = run(found.pgCtl, ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop'], user);
    if (r.status !== 0 && existsSync(join(data, 'postmaster.pid'))) throw new Error(`pg_ctl stop failed: ${r.output.trim()}`);
  };

  await start();
  return {
    port,
    url: `postgres://weir@127.0.0.1:${port}/postgres`,
    dir,
    stop,
    start,
    async restart(downMs = 0) {
      await stop();
      await sleep(downMs);
      await start();
    },
    async cleanup() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '';
  }
}
