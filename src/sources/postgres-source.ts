import { CheckpointError, ConfigError, ConnectorError, describe, show } from '../runtime/errors.js';
import type { Source, SourceChunk, SourceContext, SourceProgress, SourceReader } from '../runtime/source.js';
import { ConnectionRetry, type ConnectionStats, type ReconnectOptions, type ReconnectSettings } from '../connectors/connection-retry.js';
import { postgresConnection, type PostgresClientLike, type PostgresConnection, type PostgresEndpoint } from '../connectors/postgres/postgres-connection.js';
import { PostgresClientSlot } from '../connectors/postgres/postgres-client-slot.js';

/** Options of {@link postgresSource}. */
export interface PostgresSourceOptions {
  /** `postgres://user:password@host:port/db` or `{ host, port, user, password, database }`. */
  connection: PostgresConnection;
  /**
   * One page of rows: `$1` is the key of the last row read (`startAfter` at first), `$2` the page
   * size; rows must come in strictly increasing `keyColumn` order, e.g.
   * `select id, name from users where id > $1 order by id limit $2`.
   */
  query: string;
  /** The column the query pages by: unique, increasing, never null. */
  keyColumn: string;
  /** `$1` of the first page. Default `0`. */
  startAfter?: unknown;
  /** Rows per query (`$2`), at most. Default 1000. */
  pageSize?: number;
  /** Backoff through connection loss. */
  reconnect?: ReconnectOptions;
  /** Step name. Default `'postgres'`. */
  name?: string;
}

/** The source's checkpointed position: the key of the last row emitted. */
export interface PostgresSourcePosition {
  readonly after: unknown;
  /** Rows emitted so far (progress). */
  readonly rows: number;
  /** The last page was short: the query is exhausted. */
  readonly done: boolean;
}

/** Counters of a live reader, for metrics and tests. */
export interface PostgresSourceStats {
  readonly rows: number;
  readonly pages: number;
  readonly connection: ConnectionStats;
}

const WHAT = 'sources.postgres';

/**
 * A bounded, replayable source over a PostgreSQL query, read in pages by a key column (keyset
 * pagination: no OFFSET, no long-running cursor or transaction).
 *
 * Each `read` runs the query once with `$1` = the key of the last row emitted and `$2` = the page
 * size (at most the runtime's batch size); the rows are emitted as they come (node-postgres
 * objects: `bigint` and `numeric` columns are strings). The position is that last key, so a
 * restored job re-runs the query from exactly after the last row the checkpoint covers: rows are
 * neither lost nor repeated, as long as the key is unique and the query orders by it. A page
 * shorter than asked for ends the input. Rows inserted behind the position while the job runs
 * are not seen (snapshot per page, not per job).
 *
 * Connection loss: the page query is retried with backoff (`reconnect`; logged and counted in
 * `stats()`) on a new connection; reads are idempotent.
 *
 * @example
 * ```ts
 * pipeline('users')
 *   .source(postgresSource({ connection: 'postgres://weir@127.0.0.1:5432/app',
 *     query: 'select id, name, created_at from users where id > $1 order by id limit $2', keyColumn: 'id' }))
 *   .sink(sinks.console());
 * ```
 */
export function postgresSource<T = Record<string, unknown>>(options: PostgresSourceOptions): Source<T> {
  const settings = validate(options);
  return {
    name: settings.name,
    bounded: true,
    replayable: true,
    async open(ctx: SourceContext): Promise<SourceReader<T>> {
      const reader = new PostgresSourceReader<T>(settings, ctx);
      try {
        await reader.start();
      } catch (err) {
        await reader.close();
        throw err;
      }
      return reader;
    },
  };
}

interface Settings {
  readonly endpoint: PostgresEndpoint;
  readonly query: string;
  readonly keyColumn: string;
  readonly startAfter: unknown;
  readonly pageSize: number;
  readonly reconnect: ReconnectSettings;
  readonly name: string;
}

function validate(options: PostgresSourceOptions): Settings {
  if (options === null || typeof options !== 'object') throw new ConfigError(`${WHAT}: options must be an object, got ${show(options)}`);
  const endpoint = postgresConnection.parse(options.connection, WHAT);
  const { query, keyColumn } = options;
  if (typeof query !== 'string' || !query.includes('$1') || !query.includes('$2')) {
    throw new ConfigError(`${WHAT}: query must be SQL using $1 (the last key read) and $2 (the page size), got ${show(query)}`);
  }
  if (typeof keyColumn !== 'string' || keyColumn.length === 0) throw new ConfigError(`${WHAT}: keyColumn must be a non-empty column name, got ${show(keyColumn)}`);
  const startAfter = options.startAfter ?? 0;
  const pageSize = options.pageSize ?? 1000;
  if (!(Number.isSafeInteger(pageSize) && pageSize > 0)) throw new ConfigError(`${WHAT}: pageSize must be a positive integer, got ${show(pageSize)}`);
  const name = options.name ?? 'postgres';
  if (typeof name !== 'string' || name.length === 0) throw new ConfigError(`${WHAT}: name must be a non-empty string, got ${show(name)}`);
  return { endpoint, query, keyColumn, startAfter, pageSize, reconnect: ConnectionRetry.options(options.reconnect, WHAT), name };
}

type PgModule = { Client: new (config: Record<string, unknown>) => PostgresClientLike };

/** The live reader of a {@link postgresSource}. */
class PostgresSourceReader<T> implements SourceReader<T> {
  readonly #s: Settings;
  readonly #ctx: SourceContext;
  readonly #retry: ConnectionRetry;
  #pg: PgModule | undefined;
  #slot: PostgresClientSlot | undefined;
  #after: unknown;
  #rows = 0;
  #pages = 0;
  #done = false;
  #closed = false;

  constructor(settings: Settings, ctx: SourceContext) {
    this.#s = settings;
    this.#ctx = ctx;
    this.#retry = new ConnectionRetry(settings.reconnect, { step: ctx.name, server: settings.endpoint.display, signal: ctx.signal });
    const restored = checkPosition(ctx.restored, ctx.name);
    this.#after = restored === undefined ? settings.startAfter : restored.after;
    this.#rows = restored?.rows ?? 0;
    this.#done = restored?.done ?? false;
  }

  async start(): Promise<void> {
    // Loaded here, not at module load: a job that never opens a PostgreSQL source never loads pg.
    const mod = (await import('pg')) as unknown as { default?: PgModule } & PgModule;
    this.#pg = mod.default ?? mod;
    await this.#retry.run('connect', () => this.#connect(), postgresConnection.decide);
  }

  /** Counters for metrics and tests. */
  stats(): PostgresSourceStats {
    return { rows: this.#rows, pages: this.#pages, connection: this.#retry.stats() };
  }

  read(max: number): SourceChunk<T> | null | Promise<SourceChunk<T> | null> {
    if (this.#done) return null;
    return this.#page(Math.min(max, this.#s.pageSize));
  }

  position(): PostgresSourcePosition {
    return { after: this.#after, rows: this.#rows, done: this.#done };
  }

  progress(): SourceProgress {
    return { done: this.#rows, unit: 'records' };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#slot?.end();
  }

  async #page(limit: number): Promise<SourceChunk<T> | null> {
    const s = this.#s;
    const result = await this.#retry.run(
      'page query',
      async () => {
        const client = await this.#connect();
        try {
          return await client.query(s.query, [this.#after, limit]);
        } catch (err) {
          if (postgresConnection.classify(err) === 'retry') this.#drop();
          else throw new ConnectorError(this.#ctx.name, `query failed on ${s.endpoint.display}: ${describe(err)}`, { cause: err, retryable: false });
          throw err;
        }
      },
      postgresConnection.decide,
    );
    const rows = result.rows;
    this.#pages++;
    if (rows.length > limit) {
      throw new ConnectorError(this.#ctx.name, `the query returned ${rows.length} rows for a page of ${limit}: it must end with "limit $2"`, { retryable: false });
    }
    if (rows.length < limit) this.#done = true;
    if (rows.length === 0) return null;
    const key = s.keyColumn;
    const last = rows[rows.length - 1];
    if (!(key in last)) {
      throw new ConnectorError(this.#ctx.name, `keyColumn ${show(key)} is not a column of the query's rows (columns: ${Object.keys(last).join(', ')})`, { retryable: false });
    }
    const after = last[key];
    if (after === null || after === undefined) throw new ConnectorError(this.#ctx.name, `keyColumn ${show(key)} is null in a row: the paging key must never be null`, { retryable: false });
    this.#after = after;
    this.#rows += rows.length;
    return { records: rows as T[] };
  }

  #connect(): Promise<PostgresClientLike> {
    if (this.#closed) return Promise.reject(new ConnectorError(this.#ctx.name, 'the source is closed', { retryable: false }));
    this.#slot ??= new PostgresClientSlot(
      () => new this.#pg!.Client({ ...this.#s.endpoint.config, application_name: `weir ${this.#ctx.job}/${this.#ctx.name}`.slice(0, 63) }),
    );
    return this.#slot.get();
  }

  #drop(): void {
    this.#slot?.drop();
  }

}

function checkPosition(value: unknown, step: string): PostgresSourcePosition | undefined {
  if (value === undefined || value === null) return undefined;
  const p = value as PostgresSourcePosition;
  if (typeof p !== 'object' || !('after' in p) || !Number.isSafeInteger(p.rows) || typeof p.done !== 'boolean') {
    throw new CheckpointError(`source "${step}": not a PostgreSQL source position: ${show(value)}`, { step });
  }
  return p;
}
