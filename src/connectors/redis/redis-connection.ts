import { ConfigError, show } from '../../runtime/errors.js';
import type { RetryDecision } from '../connection-retry.js';

/** Where a Redis connector connects: a `redis://[user:password@]host[:port][/db]` URL or its parts. */
export type RedisConnection = string | RedisConnectionOptions;

/** The parts of a Redis connection. Defaults: `127.0.0.1`, `6379`, database `0`, no credentials. */
export interface RedisConnectionOptions {
  host?: string;
  port?: number;
  username?: string;
  password?: string;
  db?: number;
}

/** A validated Redis endpoint. */
export interface RedisEndpoint {
  readonly host: string;
  readonly port: number;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly db: number;
  /** `redis host:port/db`, for messages: never the credentials. */
  readonly display: string;
}

/** The part of an ioredis client the connectors use (the client is loaded lazily, in `open`). */
export interface RedisClientLike {
  readonly status: string;
  call(command: string, args: Array<string | number | Buffer>): Promise<unknown>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  once(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
  pipeline(commands: Array<Array<string | number | Buffer>>): { exec(): Promise<Array<[Error | null, unknown]> | null> };
  disconnect(reconnect?: boolean): void;
}

/** Time to wait for a (re)connection before an attempt counts as failed, in ms. */
const READY_TIMEOUT_MS = 2_000;

/** Server replies that mean "not now" rather than "never": the server is busy or still loading. */
const TRANSIENT_REPLY = /^(LOADING|BUSY|TRYAGAIN|MASTERDOWN|CLUSTERDOWN|NOREPLICAS)\b/;

/** Node socket error codes of a lost or refused connection. */
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);

/**
 * Options, client settings and error classification shared by the Redis connectors
 * (`sources.redisStream`, `sinks.redis`). The client library itself (ioredis) is imported by each
 * connector in its `open()`, so a job without Redis never loads it.
 *
 * Clients are set up to fail fast and let {@link ConnectionRetry} decide: no offline queue, no
 * automatic resend of commands in flight (a resent XADD would write twice), in-flight commands
 * rejected when the connection drops; ioredis keeps reconnecting in the background.
 *
 * @example
 * ```ts
 * const endpoint = redisConnection.parse('redis://127.0.0.1:6379/0', 'sinks.redis');
 * const { default: Redis } = await import('ioredis');
 * const client = new Redis(redisConnection.clientOptions(endpoint, 'weir:orders'));
 * await redisConnection.ready(client);
 * ```
 */
export const redisConnection = Object.freeze({
  /** Validate a `connection` option; messages start with `where`. */
  parse(value: unknown, where: string): RedisEndpoint {
    let parts: RedisConnectionOptions;
    if (typeof value === 'string') {
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        throw new ConfigError(`${where}: connection must be a redis:// URL or { host, port, password, db }, got ${show(value)}`);
      }
      if (url.protocol !== 'redis:') throw new ConfigError(`${where}: connection must be a redis:// URL, got protocol ${show(url.protocol)}`);
      const path = url.pathname.replace(/^\//, '');
      parts = {
        host: url.hostname === '' ? undefined : url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port === '' ? undefined : Number(url.port),
        username: url.username === '' ? undefined : decodeURIComponent(url.username),
        password: url.password === '' ? undefined : decodeURIComponent(url.password),
        db: path === '' ? undefined : Number(path),
      };
    } else if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      parts = value as RedisConnectionOptions;
    } else {
      throw new ConfigError(`${where}: connection must be a redis:// URL or { host, port, password, db }, got ${show(value)}`);
    }
    const host = parts.host ?? '127.0.0.1';
    if (typeof host !== 'string' || host.length === 0) throw new ConfigError(`${where}: connection.host must be a non-empty string, got ${show(host)}`);
    const port = parts.port ?? 6379;
    if (!(Number.isInteger(port) && port > 0 && port < 65536)) throw new ConfigError(`${where}: connection.port must be an integer in 1..65535, got ${show(port)}`);
    const db = parts.db ?? 0;
    if (!(Number.isInteger(db) && db >= 0)) throw new ConfigError(`${where}: connection.db must be a non-negative integer, got ${show(db)}`);
    for (const field of ['username', 'password'] as const) {
      const v = parts[field];
      if (v !== undefined && typeof v !== 'string') throw new ConfigError(`${where}: connection.${field} must be a string`);
    }
    return { host, port, username: parts.username, password: parts.password, db, display: `redis ${host}:${port}/${db}` };
  },

  /** ioredis constructor options for `endpoint`. */
  clientOptions(endpoint: RedisEndpoint, connectionName: string): Record<string, unknown> {
    return {
      host: endpoint.host,
      port: endpoint.port,
      username: endpoint.username,
      password: endpoint.password,
      db: endpoint.db,
      connectionName: connectionName.replace(/[^\x21-\x7e]/g, '_'),
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 5_000,
      // RESP2: replies have the documented array shapes (RESP3 turns XREADGROUP's into a map).
      protocol: 2,
      // ioredis reconnects on its own in the background; attempts wait for it (see ready()).
      retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 10), 1_000),
    };
  },

  /**
   * Resolves once `client` is connected (at once when it is); rejects with the connection error,
   * or after a short timeout, so that the caller's retry loop counts a failed attempt.
   */
  ready(client: RedisClientLike): Promise<void> {
    if (client.status === 'ready') return Promise.resolve();
    // 'end' only follows our own disconnect() (the retry strategy never gives up): not retryable.
    if (client.status === 'end') return Promise.reject(new Error('the Redis client was closed'));
    return new Promise((resolve, reject) => {
      const done = (err?: unknown): void => {
        clearTimeout(timer);
        client.off('ready', onReady);
        client.off('error', onError);
        if (err === undefined) resolve();
        else reject(err);
      };
      const onReady = (): void => done();
      const onError = (err: unknown): void => done(err);
      const timer = setTimeout(() => done(new RedisNotConnected(`not connected after ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
      client.once('ready', onReady);
      client.once('error', onError);
    });
  },

  /** An error in words for logs: ioredis reports a dropped connection as its own retry limit. */
  explain(err: unknown): string {
    if (err instanceof Error && err.name === 'MaxRetriesPerRequestError') return 'connection closed';
    return err instanceof Error ? err.message : String(err);
  },

  /** Retry after connection problems and transient replies (LOADING…); fail on other replies and bugs. */
  decide(err: unknown): RetryDecision {
    if (!(err instanceof Error)) return 'fail';
    if (err instanceof RedisNotConnected) return 'retry';
    // weir's own errors (a refused record, a closed connector) are decided where they are thrown.
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('WEIR_')) return 'fail';
    if (err.name === 'ReplyError') return TRANSIENT_REPLY.test(err.message) ? 'retry' : 'fail';
    if (err.name === 'MaxRetriesPerRequestError') return 'retry';
    if (typeof code === 'string' && CONNECTION_CODES.has(code)) return 'retry';
    if (/Connection is closed|Stream isn't writeable|connection.*(lost|closed|reset)|socket/i.test(err.message)) return 'retry';
    return 'fail';
  },
});

/** The client is not connected (yet, or any more). */
class RedisNotConnected extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisNotConnected';
  }
}
