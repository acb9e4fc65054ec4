import { ConfigError, show } from '../../runtime/errors.js';

/** What an INSERT does with a row whose conflict columns match an existing row. */
export interface UpsertSpec {
  /** Columns of a unique index or constraint (the ON CONFLICT target). */
  readonly conflict: readonly string[];
  /** Columns to overwrite from the new row; empty: keep the existing row (DO NOTHING). */
  readonly update: readonly string[];
}

/** PostgreSQL's bind-parameter limit per statement. */
export const MAX_PARAMS = 65_535;

/**
 * SQL text for the PostgreSQL connectors: quoted identifiers, the multi-row INSERT of the sink,
 * and the commit-marker table. Identifiers are always quoted, so names keep their exact case.
 *
 * @example
 * ```ts
 * postgresSql.table('public.totals', 'sinks.postgres');        // "public"."totals"
 * postgresSql.insert('"totals"', ['user', 'n'], 2, { conflict: ['user'], update: ['n'] });
 * // INSERT INTO "totals" ("user","n") VALUES ($1,$2),($3,$4) ON CONFLICT ("user") DO UPDATE SET "n" = EXCLUDED."n"
 * ```
 */
export const postgresSql = Object.freeze({
  /** A quoted identifier. */
  ident(name: string): string {
    return `"${name.replace(/"/g, '""')}"`;
  },

  /** Check a column or table name option. */
  checkName(value: unknown, field: string, where: string): string {
    if (typeof value !== 'string' || value.length === 0 || value.length > 63 || value.includes('\0')) {
      throw new ConfigError(`${where}: ${field} must be a name of 1 to 63 characters, got ${show(value)}`);
    }
    return value;
  },

  /** `table` or `schema.table`, quoted. */
  table(value: unknown, where: string, field = 'table'): string {
    if (typeof value !== 'string') throw new ConfigError(`${where}: ${field} must be 'table' or 'schema.table', got ${show(value)}`);
    const parts = value.split('.');
    if (parts.length > 2) throw new ConfigError(`${where}: ${field} must be 'table' or 'schema.table' (no dots in names), got ${show(value)}`);
    return parts.map((p) => postgresSql.ident(postgresSql.checkName(p, field, where))).join('.');
  },

  /** `INSERT INTO <table> (<columns>) VALUES (…), … [ON CONFLICT …]` for `rows` rows of parameters. */
  insert(table: string, columns: readonly string[], rows: number, upsert: UpsertSpec | undefined): string {
    const n = columns.length;
    const tuples: string[] = new Array<string>(rows);
    let p = 1;
    for (let r = 0; r < rows; r++) {
      let tuple = '(';
      for (let c = 0; c < n; c++) tuple += c === 0 ? `$${p++}` : `,$${p++}`;
      tuples[r] = `${tuple})`;
    }
    return `INSERT INTO ${table} (${columns.map(postgresSql.ident).join(',')}) VALUES ${tuples.join(',')}${postgresSql.onConflict(upsert)}`;
  },

  /** The ON CONFLICT clause, or '' without upsert. */
  onConflict(upsert: UpsertSpec | undefined): string {
    if (upsert === undefined) return '';
    const target = ` ON CONFLICT (${upsert.conflict.map(postgresSql.ident).join(',')})`;
    if (upsert.update.length === 0) return `${target} DO NOTHING`;
    return `${target} DO UPDATE SET ${upsert.update.map((c) => `${postgresSql.ident(c)} = EXCLUDED.${postgresSql.ident(c)}`).join(', ')}`;
  },

  /**
   * The commit-marker table: one row per committed checkpoint of a sink. `lineage` tells apart
   * runs that start over (`--fresh`, or several processes of one job) and so reuse checkpoint ids.
   */
  markerTable(table: string): string {
    return (
      `CREATE TABLE IF NOT EXISTS ${table} (` +
      'job text NOT NULL, sink text NOT NULL, lineage text NOT NULL, checkpoint_id bigint NOT NULL, ' +
      'rows integer NOT NULL, dead_letters integer NOT NULL DEFAULT 0, committed_at timestamptz NOT NULL DEFAULT now(), ' +
      'PRIMARY KEY (job, sink, lineage, checkpoint_id))'
    );
  },
});
