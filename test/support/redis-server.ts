import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants, mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A throwaway redis-server for tests: loopback only, a free port, its data (AOF) in a temp dir.
 * `restart()` stops it gracefully and starts it again on the same port and directory, so what
 * was written survives, as after a real server restart.
 */
export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly dir: string;
  /** Graceful stop (SIGTERM: the AOF is flushed). Idempotent. */
  stop(): Promise<void>;
  /** Start again after `stop()`, same port and data. */
  start(): Promise<void>;
  /** stop, wait `downMs`, start. */
  restart(downMs?: number): Promise<void>;
  /** Stop and delete the data directory. */
  cleanup(): Promise<void>;
}

/** Whether the Redis tests can run here: `skip` holds a one-line reason when not. */
export interface Availability {
  readonly skip: boolean;
  readonly reason: string;
}

/** Where `name` is on PATH, or undefined. */
export function findProgram(name: string, extraDirs: readonly string[] = []): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), ...extraDirs].filter((d) => d.length > 0);
  for (const dir of dirs) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      if (statSync(path).isFile()) return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Can redis-server run here? When it is missing the tests skip with a one-line reason — except
 * with CI=true, where nothing may skip: then `skip` is false and starting the server fails the
 * tests with the reason.
 */
export function redisAvailability(): Availability {
  if (findProgram('redis-server') !== undefined) return { skip: false, reason: '' };
  const reason = 'redis-server is not installed (apt-get install redis-server)';
  if (process.env.CI === 'true') return { skip: false, reason };
  console.warn(`skipping Redis tests: ${reason}`);
  return { skip: true, reason };
}

/** A TCP port nothing listens on right now (loopback). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}

/** Start a redis-server on a free loopback port with its data in a fresh temp dir. */
export async function startRedisServer(): Promise<RedisServer> {
  const program = findProgram('redis-server');
  if (program === undefined) throw new Error('redis-server is not installed (apt-get install redis-server); CI=true requires it');
  const dir = mkdtempSync(join(tmpdir(), 'weir-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  let log = '';

  const start = async (): Promise<void> => {
    if (child !== undefined) return;
    log = '';
    const args = [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--dir', dir,
      '--appendonly', 'yes',
      '--appendfsync', 'everysec',
      '--save', '',
      '--daemonize', 'no',
      '--loglevel', 'warning',
    ];
    const proc = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    child = proc;
    proc.once('exit', () => {
      if (child === proc) child = undefined;
    });
    const deadline = Date.now() + 20_000;
    while (!(await ping(port))) {
      if (child !== proc) throw new Error(`redis-server exited at start: ${log.trim()}`);
      if (Date.now() > deadline) throw new Error(`redis-server did not answer PING on port ${port}: ${log.trim()}`);
      await sleep(25);
    }
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    if (proc === undefined) return;
    const exited = once(proc, 'exit');
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
    child = undefined;
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
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

/** True when a Redis server on `port` answers PING with PONG (not LOADING). */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let data = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      data += d.toString();
      if (data.includes('\r\n')) done(data.startsWith('+PONG'));
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
