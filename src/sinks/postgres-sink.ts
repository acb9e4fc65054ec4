import { randomUUID } from 'node:crypto';
import type { Batch } from '../runtime/elements.js';
import type { DeadLetter } from '../runtime/error-policy.js';
import { CheckpointError, ConfigError, ConnectorError, RecordError, UserFunctionError, describe, show } from '../runtime/errors.js';
import { isTransactional, type Sink, type SinkContext, type SinkWriter, type TransactionalWriter } from '../runtime/sink.js';
import { ConnectionRetry, type ConnectionStats, type ReconnectOptions, type ReconnectSettings } from '../connectors/connection-retry.js';
import { postgresConnection, type PostgresClientLike, type PostgresConnection, type PostgresEndpoint } from '../connectors/postgres/postgres-connection.js';
import { PostgresClientSlot } from '../connectors/postgres/postgres-client-slot.js';
import { MAX_PARAMS, postgresSql, type UpsertSpec } from '../connectors/postgres/postgres-sql.js';

/** Options of {@link postgresSink}. */
export interface PostgresSinkOptions<T> {
  /** `postgres://user:password@host:port/db` or `{ host, port, user, password, database }`. */
  connection: PostgresConnection;
  /** Target table, `table` or `schema.table`; it must exist. Names are quoted (exact case). */
  table: string;
  /**
   * The column mapping: column name → function of the record, or a list of column names taken
   * from the record's properties of the same names.
   */
  columns: readonly string[] | Record<string, (record: T) => unknown>;
  /**
   * Upsert instead of plain insert: `conflict` names the columns of a unique index; `update` the
   * columns to overwrite (omitted or empty: keep the existing row, DO NOTHING). Rows of one
   * checkpoint with the same conflict key collapse to the last one.
   */
  upsert?: { conflict: readonly string[]; update?: readonly string[] };
  /** Rows per INSERT statement (capped by PostgreSQL's 65535 parameters). Default 500. */
  batchSize?: number;
  /** Table of commit markers, created when missing. Default `'weir_commits'`. */
  markerTable?: string;
  /**
   * Where rows go that PostgreSQL refuses as data (SQLSTATE class 22 or 23: a constraint
   * violation, a value out of range) or whose mapping throws. Without it such a row fails the job.
   */
  deadLetters?: Sink<DeadLetter>;
  /** Backoff through connection loss. */
  reconnect?: ReconnectOptions;
  /** Step name. Default `'postgres'`. */
  name?: string;
}

/**
 * The transaction a {@link postgresSink} pre-commits: the checkpoint's rows (column values, row
 * after row), stored in the checkpoint until the commit writes them.
 */
export interface PostgresSinkTxn {
  readonly checkpointId: number;
  /** Names the run this checkpoint belongs to; kept across restores, new on a fresh start. */
  readonly lineage: string;
  /** Column count: `values.length / columns` rows. */
  readonly columns: number;
  readonly values: unknown[];
  /** Records whose column mapping threw, dead-lettered by the commit. */
  readonly dead?: DeadLetter[];
}

/** Counters of a live writer, for metrics and tests. */
export interface PostgresSinkStats {
  /** Rows inserted or upserted by commits (repeated commits excluded). */
  readonly rows: number;
  /** Commits that wrote their rows. */
  readonly commits: number;
  /** Commits found already done (their marker existed): the repeat after a crash. */
  readonly repeated: number;
  readonly deadLettered: number;
  readonly connection: ConnectionStats;
}

const WHAT = 'sinks.postgres';
/** Keep this many newest markers per lineage; older ones are pruned now and then. */
const KEEP_MARKERS = 1_000;

/**
 * An exactly-once PostgreSQL sink (DESIGN.md, Exactly-once: rows and a marker row in one SQL
 * transaction): batched INSERTs, or upserts (`ON CONFLICT … DO UPDATE / DO NOTHING`), with a
 * declared column mapping.
 *
 * - `write` maps records to column values and keeps them in memory: nothing touches the
 *   database before the checkpoint that covers the rows is complete.
 * - `preCommit(id)` hands the rows since the last barrier over as the transaction
 *   `{ checkpointId, lineage, columns, values }`, which the checkpoint stores. (Buffering in the
 *   checkpoint suits moderate volumes per checkpoint — a windowed aggregate, or a few hundred
 *   thousand rows; it keeps preCommit free of I/O, which would otherwise hold up the barrier.)
 * - `commit(txn)` runs one SQL transaction: `INSERT INTO <markerTable> (job, sink, lineage,
 *   checkpoint_id) … ON CONFLICT DO NOTHING RETURNING`; when the marker was inserted, the rows
 *   follow in INSERTs of `batchSize` rows, then COMMIT. When the marker already existed the rows
 *   were committed before, with it, atomically: the transaction is rolled back and nothing
 *   happens. So a commit repeated after a crash — the coordinator re-commits the latest
 *   complete checkpoint on recovery — or after a COMMIT whose answer was lost is a no-op, and
 *   two processes committing the same transaction at once serialise on the marker's key.
 *   Checkpoints newer than the latest complete one were never committed (commit follows
 *   completion) and their rows, only in memory, are gone with the crashed process; the restored
 *   sources replay them.
 * - Bad rows: when a statement fails with a data error (SQLSTATE class 22 or 23), the
 *   transaction is rolled back and done again carefully: each INSERT under a SAVEPOINT, a failing
 *   one split in halves until the bad rows are found alone. They go to `deadLetters` (record: the
 *   row as `{ column: value }`) before COMMIT, so they are written at least once — exactly once
 *   with the dead-letter file sink, whose names depend only on the checkpoint id. Nothing loops:
 *   the rows are fixed data, and the careful pass settles every row.
 * - Connection loss: the whole commit is retried on a new connection with backoff
 *   (`reconnect`), logged as warnings and counted in `stats()`; the marker makes the repeat safe.
 *   A commit of an empty checkpoint does nothing (no marker).
 * - `lineage` is random on a fresh start and carried in the transactions, so a job started over
 *   (`--fresh`) or several processes of one job never mistake each other's markers for their own.
 *   Markers older than the newest 1000 of a lineage are pruned.
 * - `flush()` (end of a bounded job without checkpoints) commits what is buffered the same way.
 * - `abort` has nothing to undo (the rows were only in memory).
 *
 * @example
 * ```ts
 * stream.sink(postgresSink({
 *   connection: 'postgres://weir@127.0.0.1:5432/app',
 *   table: 'per_minute',
 *   columns: { page: (r) => r.key, minute: (r) => new Date(r.start), views: (r) => r.n },
 *   upsert: { conflict: ['page', 'minute'], update: ['views'] },
 *   deadLetters: deadLetterSink({ dir: 'out/pg-dead' }),
 * }));
 * ```
 */
export function postgresSink<T>(options: PostgresSinkOptions<T>): Sink<T> {
  const settings = validate(options);
  return {
    name: settings.name,
    async open(ctx: SinkContext): Promise<SinkWriter<T>> {
      const writer = new PostgresSinkWriter<T>(settings, ctx);
      try {
        await writer.start();
      } catch (err) {
        await writer.close();
        throw err;
      }
      return writer;
    },
  };
}

interface Settings<T> {
  readonly endpoint: PostgresEndpoint;
  readonly table: string;
  readonly columns: readonly string[];
  readonly extract: ReadonlyArray<(record: T) => unknown>;
  readonly upsert: UpsertSpec | undefined;
  /** Conflict columns' positions in `columns`, for collapsing rows with the same key. */
  readonly conflictIndexes: readonly number[];
  readonly rowsPerStatement: number;
  readonly markerTable: string;
  readonly deadLetters: Sink<DeadLetter> | undefined;
  readonly reconnect: ReconnectSettings;
  readonly name: string;
}

function validate<T>(options: PostgresSinkOptions<T>): Settings<T> {
  if (options === null || typeof options !== 'object') throw new ConfigError(`${WHAT}: options must be an object, got ${show(options)}`);
  const endpoint = postgresConnection.parse(options.connection, WHAT);
  const table = postgresSql.table(options.table, WHAT);
  const cols = options.columns;
  let columns: string[];
  let extract: Array<(record: T) => unknown>;
  if (Array.isArray(cols)) {
    if (cols.length === 0) throw new ConfigError(`${WHAT}: columns must name at least one column, got []`);
    columns = cols.map((c) => postgresSql.checkName(c, 'columns[]', WHAT));
    extract = columns.map((c) => (record: T) => (record as Record<string, unknown>)[c]);
  } else if (cols !== null && typeof cols === 'object') {
    const entries = Object.entries(cols as Record<string, unknown>);
    if (entries.length === 0) throw new ConfigError(`${WHAT}: columns must map at least one column, got {}`);
    for (const [c, f] of entries) {
      postgresSql.checkName(c, 'columns', WHAT);
      if (typeof f !== 'function') throw new ConfigError(`${WHAT}: columns.${c} must be a function of the record, got ${show(f)}`);
    }
    columns = entries.map(([c]) => c);
    extract = entries.map(([, f]) => f as (record: T) => unknown);
  } else {
    throw new ConfigError(`${WHAT}: columns must be an array of column names or { column: (record) => value }, got ${show(cols)}`);
  }
  if (new Set(columns).size !== columns.length) throw new ConfigError(`${WHAT}: columns must not repeat a name, got ${show(columns)}`);
  let upsert: UpsertSpec | undefined;
  let conflictIndexes: number[] = [];
  if (options.upsert !== undefined) {
    const u = options.upsert;
    if (u === null || typeof u !== 'object' || !Array.isArray(u.conflict) || u.conflict.length === 0) {
      throw new ConfigError(`${WHAT}: upsert must be { conflict: ['column', …], update?: ['column', …] }, got ${show(u)}`);
    }
    const update = u.update ?? [];
    if (!Array.isArray(update)) throw new ConfigError(`${WHAT}: upsert.update must be an array of column names, got ${show(update)}`);
    for (const c of [...u.conflict, ...update]) {
      if (!columns.includes(c)) throw new ConfigError(`${WHAT}: upsert names column ${show(c)}, which is not in columns (${columns.join(', ')})`);
    }
    upsert = { conflict: [...u.conflict], update: [...update] };
    conflictIndexes = u.conflict.map((c) => columns.indexOf(c));
  }
  const batchSize = options.batchSize ?? 500;
  if (!(Number.isSafeInteger(batchSize) && batchSize > 0)) throw new ConfigError(`${WHAT}: batchSize must be a positive integer, got ${show(batchSize)}`);
  const markerTable = postgresSql.table(options.markerTable ?? 'weir_commits', WHAT, 'markerTable');
  const deadLetters = options.deadLetters;
  if (deadLetters !== undefined && (deadLetters === null || typeof deadLetters !== 'object' || typeof deadLetters.open !== 'function')) {
    throw new ConfigError(`${WHAT}: deadLetters must be a sink (an object with open()), got ${show(deadLetters)}`);
  }
  const name = options.name ?? 'postgres';
  if (typeof name !== 'string' || name.length === 0) throw new ConfigError(`${WHAT}: name must be a non-empty string, got ${show(name)}`);
  return {
    endpoint,
    table,
    columns,
    extract,
    upsert,
    conflictIndexes,
    rowsPerStatement: Math.max(1, Math.min(batchSize, Math.floor(MAX_PARAMS / columns.length))),
    markerTable,
    deadLetters,
    reconnect: ConnectionRetry.options(options.reconnect, WHAT),
    name,
  };
}

type PgModule = { Client: new (config: Record<string, unknown>) => PostgresClientLike };

/** The live writer of a {@link postgresSink}. */
class PostgresSinkWriter<T> implements TransactionalWriter<T, PostgresSinkTxn> {
  readonly #s: Settings<T>;
  readonly #ctx: SinkContext;
  readonly #step: string;
  readonly #retry: ConnectionRetry;
  #pg: PgModule | undefined;
  #slot: PostgresClientSlot | undefined;
  /** The connection reported an error: replace it before the next statement. */
  #dead: SinkWriter<DeadLetter> | undefined;
  #lineage = '';
  /** Column values of the rows written since the last barrier, row after row. */
  #values: unknown[] = [];
  #lastCheckpointId = 0;
  #rows = 0;
  #commits = 0;
  #repeated = 0;
  #deadLettered = 0;
  #closed = false;
  /** Records whose mapping threw since the last barrier (dead-lettered with the commit). */
  #mappingDead: DeadLetter[] = [];

  constructor(settings: Settings<T>, ctx: SinkContext) {
    this.#s = settings;
    this.#ctx = ctx;
    this.#step = ctx.name;
    this.#retry = new ConnectionRetry(settings.reconnect, { step: ctx.name, server: settings.endpoint.display, signal: ctx.signal });
  }

  /** Connect, create the marker table, check the target table and the statement, restore the lineage. */
  async start(): Promise<void> {
    const txns = restoredTxns(this.#ctx.restored, this.#step, this.#s.columns.length);
    const latest = txns.reduce<PostgresSinkTxn | undefined>((a, t) => (a === undefined || t.checkpointId > a.checkpointId ? t : a), undefined);
    this.#lineage = latest?.lineage ?? randomUUID();
    this.#lastCheckpointId = latest?.checkpointId ?? 0;
    // Loaded here, not at module load: a job that never opens a PostgreSQL sink never loads pg.
    const mod = (await import('pg')) as unknown as { default?: PgModule } & PgModule;
    this.#pg = mod.default ?? mod;
    const s = this.#s;
    await this.#withClient('setup', async (client) => {
      try {
        await client.query(postgresSql.markerTable(s.markerTable));
      } catch (err) {
        // Two writers creating the table at once: one wins, the other sees a duplicate.
        const code = (err as { code?: string }).code;
        if (code !== '23505' && code !== '42P07') throw err;
      }
      try {
        // Checks the table, the columns and the ON CONFLICT target now, not at the first commit.
        await client.query(`EXPLAIN ${postgresSql.insert(s.table, s.columns, 1, s.upsert)}`, new Array<unknown>(s.columns.length).fill(null));
      } catch (err) {
        if (postgresConnection.classify(err) === 'retry') throw err;
        throw new ConnectorError(this.#step, `cannot insert into ${s.table} (${s.columns.join(', ')}) on ${s.endpoint.display}: ${describe(err)}`, {
          cause: err,
          retryable: false,
        });
      }
    });
    if (s.deadLetters !== undefined) this.#dead = await s.deadLetters.open({ ...this.#ctx, restored: undefined });
  }

  /** Counters for metrics and tests. */
  stats(): PostgresSinkStats {
    return { rows: this.#rows, commits: this.#commits, repeated: this.#repeated, deadLettered: this.#deadLettered, connection: this.#retry.stats() };
  }

  write(b: Batch<T>): void | Promise<void> {
    const records = b.records;
    const extract = this.#s.extract;
    const n = extract.length;
    const values = this.#values;
    for (let i = 0; i < records.length; i++) {
      const record = records[i];
      const at = values.length;
      try {
        for (let c = 0; c < n; c++) values.push(normalize(extract[c](record)));
      } catch (err) {
        values.length = at;
        const error = new UserFunctionError(`${this.#step}.columns`, err);
        if (this.#dead === undefined) throw error;
        this.#mappingDead.push({ record, error: { code: error.code, message: error.message, step: this.#step }, source: { name: b.source ?? null } });
      }
    }
  }

  preCommit(checkpointId: number): PostgresSinkTxn {
    const columns = this.#s.columns.length;
    const dead = this.#mappingDead;
    const txn: PostgresSinkTxn =
      dead.length === 0 ? { checkpointId, lineage: this.#lineage, columns, values: this.#values } : { checkpointId, lineage: this.#lineage, columns, values: this.#values, dead };
    this.#values = [];
    if (dead.length > 0) this.#mappingDead = [];
    this.#lastCheckpointId = checkpointId;
    return txn;
  }

  async commit(txn: PostgresSinkTxn): Promise<void> {
    const checked = checkTxn(txn, this.#step, this.#s.columns.length);
    if (checked.values.length === 0 && (checked.dead?.length ?? 0) === 0) return;
    const order = this.#rowOrder(checked);
    let careful = false;
    await this.#withClient('COMMIT', async (client) => {
      try {
        await this.#commitOnce(client, checked, order, careful);
      } catch (err) {
        if (careful || postgresConnection.classify(err) !== 'data') throw err;
        // A row was refused: do it again row-carefully, to find the bad rows and keep the rest.
        careful = true;
        await this.#commitOnce(client, checked, order, true);
      }
    });
  }

  abort(): void {
    // Nothing reached the database: the rows were only in memory and in the checkpoint.
  }

  async flush(): Promise<void> {
    // End of input without checkpoints: commit what is buffered under the next id.
    await this.commit(this.preCommit(this.#lastCheckpointId + 1));
    await this.#dead?.flush?.();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#slot?.end();
    } finally {
      await this.#dead?.close?.();
    }
  }

  /** One attempt at committing `txn` in one SQL transaction. */
  async #commitOnce(client: PostgresClientLike, txn: PostgresSinkTxn, order: number[], careful: boolean): Promise<void> {
    const s = this.#s;
    await client.query('BEGIN');
    try {
      const marker = await client.query(
        `INSERT INTO ${s.markerTable} (job, sink, lineage, checkpoint_id, rows) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING checkpoint_id`,
        [this.#ctx.job, this.#step, txn.lineage, txn.checkpointId, order.length],
      );
      if (marker.rowCount === 0) {
        await client.query('ROLLBACK');
        this.#repeated++;
        return;
      }
      const dead: DeadLetter[] = txn.dead === undefined ? [] : [...txn.dead];
      if (careful) {
        // Deferred constraints would otherwise only fail at COMMIT, out of reach of savepoints.
        await client.query('SET CONSTRAINTS ALL IMMEDIATE');
        for (let i = 0; i < order.length; i += s.rowsPerStatement) await this.#insertCarefully(client, txn, order, i, Math.min(order.length, i + s.rowsPerStatement), dead);
      } else {
        for (let i = 0; i < order.length; i += s.rowsPerStatement) await this.#insert(client, txn, order, i, Math.min(order.length, i + s.rowsPerStatement));
      }
      const refused = dead.length - (txn.dead?.length ?? 0);
      if (dead.length > 0) {
        await client.query(`UPDATE ${s.markerTable} SET dead_letters = $5, rows = $6 WHERE job = $1 AND sink = $2 AND lineage = $3 AND checkpoint_id = $4`, [
          this.#ctx.job,
          this.#step,
          txn.lineage,
          txn.checkpointId,
          dead.length,
          order.length - refused,
        ]);
        await this.#deadLetter(dead, txn.checkpointId);
      }
      if (txn.checkpointId % 100 === 0) {
        await client.query(`DELETE FROM ${s.markerTable} WHERE job = $1 AND sink = $2 AND lineage = $3 AND checkpoint_id < $4`, [
          this.#ctx.job,
          this.#step,
          txn.lineage,
          txn.checkpointId - KEEP_MARKERS,
        ]);
      }
      await client.query('COMMIT');
      this.#rows += order.length - refused;
      this.#commits++;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  /** Rows `order[from..to)` in one INSERT; full-size statements are prepared once per connection. */
  async #insert(client: PostgresClientLike, txn: PostgresSinkTxn, order: number[], from: number, to: number): Promise<void> {
    const s = this.#s;
    const n = txn.columns;
    const rows = to - from;
    const params = new Array<unknown>(rows * n);
    let p = 0;
    for (let r = from; r < to; r++) {
      const base = order[r] * n;
      for (let c = 0; c < n; c++) params[p++] = txn.values[base + c];
    }
    const text = postgresSql.insert(s.table, s.columns, rows, s.upsert);
    if (rows === s.rowsPerStatement || rows === 1) {
      await client.query({ name: `weir_insert_${rows}`, text, values: params });
    } else {
      await client.query(text, params);
    }
  }

  /** Insert rows under a savepoint; on a data error split them until each bad row is alone. */
  async #insertCarefully(client: PostgresClientLike, txn: PostgresSinkTxn, order: number[], from: number, to: number, dead: DeadLetter[]): Promise<void> {
    await client.query('SAVEPOINT weir_rows');
    try {
      await this.#insert(client, txn, order, from, to);
      await client.query('RELEASE SAVEPOINT weir_rows');
      return;
    } catch (err) {
      if (postgresConnection.classify(err) !== 'data') throw err;
      await client.query('ROLLBACK TO SAVEPOINT weir_rows');
      await client.query('RELEASE SAVEPOINT weir_rows');
      if (to - from === 1) {
        dead.push(this.#rowLetter(txn, order[from], err));
        return;
      }
    }
    const mid = from + Math.ceil((to - from) / 2);
    await this.#insertCarefully(client, txn, order, from, mid, dead);
    await this.#insertCarefully(client, txn, order, mid, to, dead);
  }

  #rowLetter(txn: PostgresSinkTxn, row: number, err: unknown): DeadLetter {
    const record: Record<string, unknown> = {};
    const n = txn.columns;
    for (let c = 0; c < n; c++) record[this.#s.columns[c]] = txn.values[row * n + c];
    const state = (err as { code?: string }).code ?? '';
    const error = new RecordError(this.#step, `${this.#s.table} refused a row (SQLSTATE ${state}): ${describe(err)}`, err);
    return { record, error: { code: `WEIR_PG_${state}`, message: error.message, step: this.#step }, source: { name: null } };
  }

  /** Dead letters of a commit, made durable before the SQL COMMIT (at least once). */
  async #deadLetter(dead: DeadLetter[], checkpointId: number): Promise<void> {
    const sink = this.#dead;
    if (sink === undefined) {
      const first = dead[0];
      throw new RecordError(this.#step, `${first.error.message} (and no deadLetters sink is configured); row: ${show(first.record)}`);
    }
    await sink.write({ kind: 'batch', records: dead, timestamps: new Array<number>(dead.length).fill(Number.NaN), source: undefined });
    if (isTransactional(sink)) await sink.commit(await sink.preCommit(checkpointId));
    this.#deadLettered += dead.length;
  }

  /** Row indexes to write, in order; with DO UPDATE, only the last row of each conflict key. */
  #rowOrder(txn: PostgresSinkTxn): number[] {
    const n = txn.columns;
    const count = txn.values.length / n;
    const upsert = this.#s.upsert;
    if (upsert === undefined || upsert.update.length === 0) {
      const all = new Array<number>(count);
      for (let r = 0; r < count; r++) all[r] = r;
      return all;
    }
    // ON CONFLICT DO UPDATE refuses to touch one row twice in a statement: keep the last.
    const last = new Map<string, number>();
    const key = this.#s.conflictIndexes;
    for (let r = 0; r < count; r++) last.set(JSON.stringify(key.map((c) => txn.values[r * n + c])), r);
    return [...last.values()].sort((a, b) => a - b);
  }

  /** Run `op` on a live connection, with retries through connection loss. */
  #withClient<R>(operation: string, op: (client: PostgresClientLike) => Promise<R>): Promise<R> {
    return this.#retry.run(
      operation,
      async () => {
        if (this.#closed) throw new ConnectorError(this.#step, 'the sink is closed', { retryable: false });
        const client = await this.#connect();
        try {
          return await op(client);
        } catch (err) {
          if (postgresConnection.classify(err) === 'retry') this.#drop();
          throw err;
        }
      },
      postgresConnection.decide,
    );
  }

  #connect(): Promise<PostgresClientLike> {
    this.#slot ??= new PostgresClientSlot(
      () => new this.#pg!.Client({ ...this.#s.endpoint.config, application_name: `weir ${this.#ctx.job}/${this.#step}`.slice(0, 63) }),
    );
    return this.#slot.get();
  }

  #drop(): void {
    this.#slot?.drop();
  }

}

/** Values node-postgres and the v8 serializer both take as they are. */
function normalize(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/** The transactions handed in on restore: one (what `preCommit` returned), a list, or none. */
function restoredTxns(restored: unknown, step: string, columns: number): PostgresSinkTxn[] {
  if (restored === undefined || restored === null) return [];
  if (Array.isArray(restored)) return restored.map((txn) => checkTxn(txn, step, columns));
  return [checkTxn(restored, step, columns)];
}

function checkTxn(value: unknown, step: string, columns: number): PostgresSinkTxn {
  const txn = value as PostgresSinkTxn;
  const ok =
    txn !== null &&
    typeof txn === 'object' &&
    Number.isSafeInteger(txn.checkpointId) &&
    typeof txn.lineage === 'string' &&
    Array.isArray(txn.values) &&
    txn.columns === columns &&
    txn.values.length % columns === 0 &&
    (txn.dead === undefined || Array.isArray(txn.dead));
  if (!ok) {
    const got = txn !== null && typeof txn === 'object' && typeof txn.columns === 'number' ? ` (it has ${txn.columns} columns, the sink ${columns})` : '';
    throw new CheckpointError(`sink "${step}": not a PostgreSQL sink transaction for this column mapping${got}`, { step });
  }
  return txn;
}
