import { ConfigError, show } from '../../runtime/errors.js';
import type { RetryDecision } from '../connection-retry.js';

/** Where a PostgreSQL connector connects: a `postgres://user:password@host:port/db` URL or its parts. */
export type PostgresConnection = string | PostgresConnectionOptions;

/** The parts of a PostgreSQL connection (node-postgres names). Missing parts follow libpq's defaults (PG* variables). */
export interface PostgresConnectionOptions {
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  /** TLS: `true`, or node's TLS options. Default off. */
  ssl?: boolean | Record<string, unknown>;
}

/** A validated PostgreSQL endpoint. */
export interface PostgresEndpoint {
  /** node-postgres `Client` config (the timeout added). */
  readonly config: Readonly<Record<string, unknown>>;
  /** `postgres host:port/db`, for messages: never the credentials. */
  readonly display: string;
}

/** What a PostgreSQL error means for the connector. */
export type PostgresErrorKind =
  /** The connection or the server is gone or not ready: retry on a new connection. */
  | 'retry'
  /** The data of a row was refused (SQLSTATE class 22 or 23): dead-letter the row. */
  | 'data'
  /** Anything else (bad SQL, a missing table, permissions): fail the job. */
  | 'fail';

/** The part of a node-postgres `Client` the connectors use (pg is loaded lazily, in `open`). */
export interface PostgresClientLike {
  connect(): Promise<unknown>;
  query(config: string | { text: string; values?: unknown[]; name?: string }, values?: unknown[]): Promise<{ rows: Array<Record<string, unknown>>; rowCount: number | null }>;
  end(): Promise<void>;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

/** SQLSTATEs worth a retry: connection exceptions (08), shutdown/startup (57P0x), serialization, deadlock, resources (53). */
const RETRY_STATES = /^(08|53|57P0[1-4]|40001|40P01|55P03)/;

/** Node socket error codes of a lost or refused connection. */
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);

/**
 * Options and error classification shared by the PostgreSQL connectors (`sources.postgres`,
 * `sinks.postgres`). node-postgres itself is imported by each connector in its `open()`.
 *
 * @example
 * ```ts
 * const endpoint = postgresConnection.parse('postgres://weir@127.0.0.1:5432/app', 'sinks.postgres');
 * const { default: pg } = await import('pg');
 * const client = new pg.Client(endpoint.config);
 * postgresConnection.classify(Object.assign(new Error('dup'), { code: '23505' })); // 'data'
 * ```
 */
export const postgresConnection = Object.freeze({
  /** Validate a `connection` option; messages start with `where`. */
  parse(value: unknown, where: string): PostgresEndpoint {
    if (typeof value === 'string') {
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        throw new ConfigError(`${where}: connection must be a postgres:// URL or { host, port, user, password, database }, got a string that is not a URL`);
      }
      if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
        throw new ConfigError(`${where}: connection must be a postgres:// or postgresql:// URL, got protocol ${show(url.protocol)}`);
      }
      const db = decodeURIComponent(url.pathname.replace(/^\//, ''));
      return {
        config: { connectionString: value, connectionTimeoutMillis: 5_000 },
        display: `postgres ${url.hostname || 'localhost'}:${url.port || '5432'}/${db}`,
      };
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new ConfigError(`${where}: connection must be a postgres:// URL or { host, port, user, password, database }, got ${show(value)}`);
    }
    const o = value as PostgresConnectionOptions;
    for (const field of ['host', 'user', 'password', 'database'] as const) {
      if (o[field] !== undefined && typeof o[field] !== 'string') throw new ConfigError(`${where}: connection.${field} must be a string`);
    }
    if (o.port !== undefined && !(Number.isInteger(o.port) && o.port > 0 && o.port < 65536)) {
      throw new ConfigError(`${where}: connection.port must be an integer in 1..65535, got ${show(o.port)}`);
    }
    if (o.ssl !== undefined && typeof o.ssl !== 'boolean' && (o.ssl === null || typeof o.ssl !== 'object')) {
      throw new ConfigError(`${where}: connection.ssl must be a boolean or TLS options, got ${show(o.ssl)}`);
    }
    return {
      config: { ...o, connectionTimeoutMillis: 5_000 },
      display: `postgres ${o.host ?? 'localhost'}:${o.port ?? 5432}/${o.database ?? ''}`,
    };
  },

  /** Retry, dead-letter the row, or fail: see {@link PostgresErrorKind}. */
  classify(err: unknown): PostgresErrorKind {
    if (!(err instanceof Error)) return 'fail';
    const code = (err as { code?: unknown }).code;
    // weir's own errors (a refused record, a closed connector) are decided where they are thrown.
    if (typeof code === 'string' && code.startsWith('WEIR_')) return 'fail';
    if (typeof code === 'string') {
      if (CONNECTION_CODES.has(code)) return 'retry';
      if (/^[0-9A-Z]{5}$/.test(code)) {
        if (RETRY_STATES.test(code)) return 'retry';
        if (code.startsWith('22') || code.startsWith('23')) return 'data';
        return 'fail';
      }
    }
    if (/Connection terminated|connection error|not queryable|timeout expired|Client was closed|ECONNRESET|socket/i.test(err.message)) return 'retry';
    return 'fail';
  },

  /** For {@link ConnectionRetry}: retry exactly the `'retry'` kind. */
  decide(err: unknown): RetryDecision {
    return postgresConnection.classify(err) === 'retry' ? 'retry' : 'fail';
  },
});
