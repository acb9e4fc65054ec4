import type { Batch } from '../runtime/elements.js';
import type { DeadLetter } from '../runtime/error-policy.js';
import { CheckpointError, ConfigError, RecordError, UserFunctionError, WeirError, describe, show } from '../runtime/errors.js';
import type { Sink, SinkContext, SinkWriter, TransactionalWriter } from '../runtime/sink.js';
import { ConnectionRetry, type ConnectionStats, type ReconnectOptions, type ReconnectSettings } from '../connectors/connection-retry.js';
import { redisConnection, type RedisClientLike, type RedisConnection, type RedisEndpoint } from '../connectors/redis/redis-connection.js';
import { DeadLetterOutput } from './dead-letter-output.js';

/** A value Redis stores: strings as they are, numbers as decimal text, Buffers as bytes. */
export type RedisValue = string | number | Buffer;

/** Options every mode of {@link redisSink} shares. */
export interface RedisSinkCommonOptions {
  /** `redis://host:port/db` or `{ host, port, password, db }`. */
  connection: RedisConnection;
  /** Records per pipeline (one round trip). Default 1000. */
  batchSize?: number;
  /**
   * Where records go that Redis refuses for good (WRONGTYPE, an invalid id…) or whose mapping
   * throws. Without it such a record fails the job.
   */
  deadLetters?: Sink<DeadLetter>;
  /** Backoff through connection loss. */
  reconnect?: ReconnectOptions;
  /** Step name. Default `'redis'`. */
  name?: string;
}

/** Append each record to a stream with XADD. */
export interface RedisStreamSinkOptions<T> extends RedisSinkCommonOptions {
  /** Stream key, or a function of the record. */
  stream: string | ((record: T) => string);
  /**
   * The entry's fields. Default: the record's own properties, strings as they are, other values
   * as JSON (a record that is not an object becomes `{ value: <JSON> }`).
   */
  fields?: (record: T) => Record<string, RedisValue>;
  /**
   * The entry id, `<ms>-<seq>`, increasing per stream. With ids, writing is idempotent: Redis
   * refuses an id that is not above the stream's last, so a record written again after a retry or
   * a restart is skipped (and counted as a duplicate). Default: `*` (Redis assigns; at-least-once).
   */
  id?: (record: T) => string;
  /** Trim each stream to about this many entries (XADD MAXLEN ~). Default: no trimming. */
  maxLen?: number;
  /** Trim to exactly maxLen (MAXLEN =, slower) instead of about. Default false. */
  exactTrim?: boolean;
}

/** SET a string key per record. */
export interface RedisKeySinkOptions<T> extends RedisSinkCommonOptions {
  key: (record: T) => string;
  value: (record: T) => RedisValue;
  /** Expire keys after this many ms (SET … PX). Default: never. */
  ttlMs?: number;
}

/** HSET fields of a hash per record. */
export interface RedisHashSinkOptions<T> extends RedisSinkCommonOptions {
  key: (record: T) => string;
  hash: (record: T) => Record<string, RedisValue>;
  /** Expire hashes after this many ms (PEXPIRE after HSET). Default: never. */
  ttlMs?: number;
}

/** Options of {@link redisSink}: exactly one of `stream`, `value` (with `key`) or `hash` (with `key`). */
export type RedisSinkOptions<T> = RedisStreamSinkOptions<T> | RedisKeySinkOptions<T> | RedisHashSinkOptions<T>;

/** Counters of a live writer, for metrics and tests. */
export interface RedisSinkStats {
  /** Records written (duplicates excluded). */
  readonly written: number;
  /** Records skipped because their explicit stream id was already written. */
  readonly duplicates: number;
  readonly deadLettered: number;
  readonly connection: ConnectionStats;
}

/** What the sink stores in a checkpoint: only the dead-letter sink's transaction, when it has one. */
export interface RedisSinkTxn {
  readonly checkpointId: number;
  readonly deadLetters?: unknown;
}

const WHAT = 'sinks.redis';
const DUPLICATE_ID = /equal or smaller than the target stream top item/;

/**
 * A Redis sink: XADD to a stream (with MAXLEN trimming), SET string keys, or HSET hashes.
 *
 * Delivery is at-least-once: each batch is sent in pipelines of `batchSize` records and `write`
 * resolves only when Redis acknowledged every command, so a checkpoint barrier never passes
 * unwritten records. Commands whose reply is lost to a connection error are sent again after a
 * backoff (`reconnect`; logged and counted in `stats()`); commands Redis already confirmed are
 * not. SET and HSET are idempotent, so repeats do no harm; XADD is idempotent when the records
 * carry their own increasing `id`s (a repeat is refused by Redis and counted as a duplicate),
 * otherwise a repeat after a lost reply or a restart appends the entry again.
 *
 * A record Redis refuses for good (WRONGTYPE, a malformed id) or whose mapping throws goes to
 * `deadLetters`, or fails the job without one. The writer takes part in checkpoints only to
 * pre-commit and commit the dead-letter sink's own transaction.
 *
 * @example
 * ```ts
 * stream.sink(redisSink({ connection: 'redis://127.0.0.1:6379', stream: 'totals', maxLen: 100_000,
 *   fields: (r) => ({ user: r.key, n: r.n }) }));
 * stream.sink(redisSink({ connection: 'redis://127.0.0.1:6379', key: (r) => `user:${r.key}`, hash: (r) => ({ n: r.n }), ttlMs: 3_600_000 }));
 * ```
 */
export function redisSink<T>(options: RedisSinkOptions<T>): Sink<T> {
  const settings = validate(options);
  return {
    name: settings.name,
    async open(ctx: SinkContext): Promise<SinkWriter<T>> {
      const writer = new RedisSinkWriter<T>(settings, ctx);
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

type Mode<T> =
  | { readonly kind: 'stream'; readonly stream: string | ((record: T) => string); readonly fields: (record: T) => Record<string, RedisValue>; readonly id: ((record: T) => string) | undefined; readonly trim: Array<string | number> }
  | { readonly kind: 'key'; readonly key: (record: T) => string; readonly value: (record: T) => RedisValue; readonly ttlMs: number | undefined }
  | { readonly kind: 'hash'; readonly key: (record: T) => string; readonly hash: (record: T) => Record<string, RedisValue>; readonly ttlMs: number | undefined };

interface Settings<T> {
  readonly endpoint: RedisEndpoint;
  readonly mode: Mode<T>;
  readonly batchSize: number;
  readonly deadLetters: Sink<DeadLetter> | undefined;
  readonly reconnect: ReconnectSettings;
  readonly name: string;
}

function fn(value: unknown, field: string): void {
  if (typeof value !== 'function') throw new ConfigError(`${WHAT}: ${field} must be a function of the record, got ${show(value)}`);
}

function validate<T>(options: RedisSinkOptions<T>): Settings<T> {
  if (options === null || typeof options !== 'object') throw new ConfigError(`${WHAT}: options must be an object, got ${show(options)}`);
  const endpoint = redisConnection.parse(options.connection, WHAT);
  const o = options as Partial<RedisStreamSinkOptions<T> & RedisKeySinkOptions<T> & RedisHashSinkOptions<T>>;
  const modes = [o.stream !== undefined && 'stream', o.value !== undefined && 'value', o.hash !== undefined && 'hash'].filter(Boolean);
  if (modes.length !== 1) {
    throw new ConfigError(`${WHAT}: give exactly one of stream (XADD), value (SET, with key) or hash (HSET, with key), got ${modes.length === 0 ? 'none' : modes.join(' and ')}`);
  }
  const ttlMs = o.ttlMs;
  if (ttlMs !== undefined && !(Number.isSafeInteger(ttlMs) && ttlMs > 0)) throw new ConfigError(`${WHAT}: ttlMs must be a positive integer of ms, got ${show(ttlMs)}`);
  let mode: Mode<T>;
  if (o.stream !== undefined) {
    if (!(typeof o.stream === 'function' || (typeof o.stream === 'string' && o.stream.length > 0))) {
      throw new ConfigError(`${WHAT}: stream must be a non-empty key or a function of the record, got ${show(o.stream)}`);
    }
    if (o.fields !== undefined) fn(o.fields, 'fields');
    if (o.id !== undefined) fn(o.id, 'id');
    if (ttlMs !== undefined) throw new ConfigError(`${WHAT}: ttlMs applies to key and hash writes, not streams (use maxLen)`);
    const { maxLen, exactTrim } = o;
    if (maxLen !== undefined && !(Number.isSafeInteger(maxLen) && maxLen > 0)) throw new ConfigError(`${WHAT}: maxLen must be a positive integer, got ${show(maxLen)}`);
    if (exactTrim !== undefined && typeof exactTrim !== 'boolean') throw new ConfigError(`${WHAT}: exactTrim must be a boolean, got ${show(exactTrim)}`);
    const trim = maxLen === undefined ? [] : ['MAXLEN', exactTrim === true ? '=' : '~', maxLen];
    mode = { kind: 'stream', stream: o.stream, fields: o.fields ?? defaultFields, id: o.id, trim };
  } else {
    fn(o.key, 'key');
    if (o.value !== undefined) {
      fn(o.value, 'value');
      mode = { kind: 'key', key: o.key!, value: o.value, ttlMs };
    } else {
      fn(o.hash, 'hash');
      mode = { kind: 'hash', key: o.key!, hash: o.hash!, ttlMs };
    }
  }
  const batchSize = o.batchSize ?? 1000;
  if (!(Number.isSafeInteger(batchSize) && batchSize > 0)) throw new ConfigError(`${WHAT}: batchSize must be a positive integer, got ${show(batchSize)}`);
  const deadLetters = o.deadLetters;
  if (deadLetters !== undefined && (deadLetters === null || typeof deadLetters !== 'object' || typeof deadLetters.open !== 'function')) {
    throw new ConfigError(`${WHAT}: deadLetters must be a sink (an object with open()), got ${show(deadLetters)}`);
  }
  const name = o.name ?? 'redis';
  if (typeof name !== 'string' || name.length === 0) throw new ConfigError(`${WHAT}: name must be a non-empty string, got ${show(name)}`);
  return { endpoint, mode, batchSize, deadLetters, reconnect: ConnectionRetry.options(o.reconnect, WHAT), name };
}

/** The record's own properties as stream fields: strings as they are, anything else as JSON. */
function defaultFields(record: unknown): Record<string, RedisValue> {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) return { value: JSON.stringify(record) ?? 'null' };
  const out: Record<string, RedisValue> = {};
  for (const [k, v] of Object.entries(record)) {
    if (v === undefined) continue;
    out[k] = typeof v === 'string' || Buffer.isBuffer(v) ? v : (JSON.stringify(v) ?? 'null');
  }
  return out;
}

/** One command of a pipeline and the record it writes. */
interface Command {
  readonly args: Array<string | number | Buffer>;
  readonly record: number;
}

/** The live writer of a {@link redisSink}. */
class RedisSinkWriter<T> implements TransactionalWriter<T, RedisSinkTxn> {
  readonly #s: Settings<T>;
  readonly #ctx: SinkContext;
  readonly #step: string;
  readonly #retry: ConnectionRetry;
  #client: RedisClientLike | undefined;
  #dead: DeadLetterOutput | undefined;
  #written = 0;
  #duplicates = 0;
  #deadLettered = 0;
  #closed = false;

  constructor(settings: Settings<T>, ctx: SinkContext) {
    this.#s = settings;
    this.#ctx = ctx;
    this.#step = ctx.name;
    this.#retry = new ConnectionRetry(settings.reconnect, { step: ctx.name, server: settings.endpoint.display, signal: ctx.signal, explain: redisConnection.explain });
  }

  async start(): Promise<void> {
    // Loaded here, not at module load: a job that never opens a Redis sink never loads ioredis.
    const mod = (await import('ioredis')) as unknown as { Redis?: unknown; default?: unknown };
    const Redis = (mod.Redis ?? mod.default) as new (options: Record<string, unknown>) => RedisClientLike;
    const client = new Redis(redisConnection.clientOptions(this.#s.endpoint, `weir:${this.#ctx.job}:${this.#step}`));
    client.on('error', () => undefined);
    this.#client = client;
    // Fail at start, not at the first batch, when the server is unreachable for good.
    await this.#retry.run('PING', async () => {
      await redisConnection.ready(client);
      await client.call('PING', []);
    }, redisConnection.decide);
    if (this.#s.deadLetters !== undefined) {
      // The newest restored transaction carries the dead-letter sink's state.
      const txns = restoredTxns(this.#ctx.restored, this.#step).filter((t) => t.deadLetters !== undefined);
      this.#dead = await DeadLetterOutput.open(this.#s.deadLetters, this.#ctx, txns.slice(-1).map((t) => t.deadLetters));
    }
  }

  /** Counters for metrics and tests. */
  stats(): RedisSinkStats {
    return { written: this.#written, duplicates: this.#duplicates, deadLettered: this.#deadLettered, connection: this.#retry.stats() };
  }

  write(b: Batch<T>): void | Promise<void> {
    if (b.records.length === 0) return;
    return this.#write(b);
  }

  async preCommit(checkpointId: number): Promise<RedisSinkTxn> {
    const deadTxn = await this.#dead?.preCommit(checkpointId);
    return deadTxn === undefined ? { checkpointId } : { checkpointId, deadLetters: deadTxn };
  }

  async commit(txn: RedisSinkTxn): Promise<void> {
    await this.#dead?.commit(checkTxn(txn, this.#step).deadLetters);
  }

  async abort(txn: RedisSinkTxn): Promise<void> {
    await this.#dead?.abort(checkTxn(txn, this.#step).deadLetters);
  }

  async flush(): Promise<void> {
    await this.#dead?.flush();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#client?.disconnect(false);
    this.#client = undefined;
    await this.#dead?.close();
  }

  async #write(b: Batch<T>): Promise<void> {
    const records = b.records;
    const dead: DeadLetter[] = [];
    const deadTimes: number[] = [];
    const fail = (i: number, error: WeirError): void => {
      if (this.#dead === undefined) throw error;
      dead.push({ record: records[i], error: { code: error.code, message: error.message, step: this.#step }, source: { name: b.source ?? null } });
      deadTimes.push(b.timestamps[i]);
    };
    for (let start = 0; start < records.length; start += this.#s.batchSize) {
      const end = Math.min(records.length, start + this.#s.batchSize);
      const commands: Command[] = [];
      for (let i = start; i < end; i++) {
        try {
          this.#commands(records[i], i, commands);
        } catch (err) {
          fail(i, new UserFunctionError(this.#step, err));
        }
      }
      await this.#send(commands, fail);
    }
    if (dead.length > 0) {
      await this.#dead!.write(dead, deadTimes, b.source);
      this.#deadLettered += dead.length;
    }
  }

  /** The command(s) writing record `i`. */
  #commands(record: T, i: number, out: Command[]): void {
    const mode = this.#s.mode;
    if (mode.kind === 'stream') {
      const key = typeof mode.stream === 'string' ? mode.stream : mode.stream(record);
      const id = mode.id === undefined ? '*' : mode.id(record);
      const args: Array<string | number | Buffer> = [key, ...mode.trim, id];
      for (const [field, value] of Object.entries(mode.fields(record))) args.push(field, value);
      out.push({ args: ['XADD', ...args], record: i });
    } else if (mode.kind === 'key') {
      const args: Array<string | number | Buffer> = ['SET', mode.key(record), mode.value(record)];
      if (mode.ttlMs !== undefined) args.push('PX', mode.ttlMs);
      out.push({ args, record: i });
    } else {
      const key = mode.key(record);
      const args: Array<string | number | Buffer> = ['HSET', key];
      for (const [field, value] of Object.entries(mode.hash(record))) args.push(field, value);
      out.push({ args, record: i });
      if (mode.ttlMs !== undefined) out.push({ args: ['PEXPIRE', key, mode.ttlMs], record: i });
    }
  }

  /**
   * Send commands in one pipeline; repeat, after a backoff, only those whose reply was a
   * connection error or a transient refusal (LOADING…): what Redis confirmed is never sent twice.
   */
  async #send(commands: Command[], fail: (i: number, error: WeirError) => void): Promise<void> {
    let pending = commands;
    const refused = new Set<number>();
    await this.#retry.run(
      'pipeline',
      async () => {
        const client = this.#client!;
        await redisConnection.ready(client);
        // ['call', NAME, …args]: ioredis pipelines take method names; `call` sends any command.
        const replies = (await client.pipeline(pending.map((c) => ['call', ...c.args])).exec()) ?? [];
        const again: Command[] = [];
        let firstRetryable: unknown;
        for (let k = 0; k < pending.length; k++) {
          const command = pending[k];
          const err = replies[k]?.[0] ?? null;
          if (err === null) {
            if (command.args[0] !== 'PEXPIRE') this.#written++;
            continue;
          }
          if (command.args[0] === 'XADD' && DUPLICATE_ID.test(err.message)) {
            this.#duplicates++;
            continue;
          }
          if (redisConnection.decide(err) === 'retry') {
            again.push(command);
            firstRetryable ??= err;
            continue;
          }
          if (!refused.has(command.record)) {
            refused.add(command.record);
            fail(command.record, new RecordError(this.#step, `Redis refused ${show(command.args[0])} for a record: ${describe(err)}`, err));
          }
        }
        pending = again;
        if (firstRetryable !== undefined) throw firstRetryable;
      },
      redisConnection.decide,
    );
  }
}

/** The transactions handed in on restore: one (what `preCommit` returned), a list, or none. */
function restoredTxns(restored: unknown, step: string): RedisSinkTxn[] {
  if (restored === undefined || restored === null) return [];
  if (Array.isArray(restored)) return restored.map((txn) => checkTxn(txn, step));
  return [checkTxn(restored, step)];
}

function checkTxn(value: unknown, step: string): RedisSinkTxn {
  const txn = value as RedisSinkTxn;
  if (txn === null || typeof txn !== 'object' || !Number.isSafeInteger(txn.checkpointId)) {
    throw new CheckpointError(`sink "${step}": not a Redis sink transaction: ${show(value)}`, { step });
  }
  return txn;
}
