import type { DeadLetter } from '../runtime/error-policy.js';
import { CheckpointError, ConfigError, ConnectorError, RecordError, UserFunctionError, show } from '../runtime/errors.js';
import type { Source, SourceChunk, SourceContext, SourceProgress, SourceReader } from '../runtime/source.js';
import { ConnectionRetry, type ConnectionStats, type ReconnectOptions, type ReconnectSettings } from '../connectors/connection-retry.js';
import { redisConnection, type RedisClientLike, type RedisConnection, type RedisEndpoint } from '../connectors/redis/redis-connection.js';
import { streamId } from './redis-stream-id.js';

/** One Redis stream entry as the source emits it (without `decode`). */
export interface RedisStreamEntry {
  /** The stream's key. */
  readonly stream: string;
  /** The entry id, `<ms>-<seq>`. */
  readonly id: string;
  /** The entry's field/value pairs. */
  readonly fields: Record<string, string>;
  /** Event time in ms: the `timestampField`'s value, else the ms part of the id. */
  readonly timestamp: number;
}

/** Options of {@link redisStreamSource}. */
export interface RedisStreamSourceOptions<T = RedisStreamEntry> {
  /** `redis://host:port/db` or `{ host, port, password, db }`. */
  connection: RedisConnection;
  /** Stream key(s) to read. Each stream is one split (its own watermark). */
  streams: string | readonly string[];
  /** Consumer group; created (with MKSTREAM) when missing. */
  group: string;
  /**
   * This reader's consumer name in the group. Must be stable across restarts (its pending
   * entries are found by it) and unique per process when several processes share the group.
   * Default `<job>.<step>`.
   */
  consumer?: string;
  /** Where a group created by this source starts: `'0'` (the whole stream, default), `'$'` (new entries only) or an id. */
  startId?: string;
  /** Event time from this field (a number of ms, or a date string); default: the id's ms part. */
  timestampField?: string;
  /** Turn an entry into the record to emit (e.g. parse a JSON field). A throw dead-letters the entry. Default: the entry. */
  decode?: (entry: RedisStreamEntry) => T;
  /** Stop at the last entry each stream held when the job first started (kept across restarts). Default false. */
  bounded?: boolean;
  /**
   * Stop after this many entries in total, waiting for them as an unbounded reader would (new
   * entries, claims). The source then counts as bounded. With `bounded` too, whichever comes first.
   */
  count?: number;
  /** How long one read waits for new entries (XREADGROUP BLOCK), in ms. Default 250. */
  blockMs?: number;
  /**
   * Claim entries another consumer of the group left pending for at least this long, in ms
   * (the consumer died). `0` turns claiming off. Default 60_000. Must be well above the checkpoint
   * interval plus the longest outage you want to ride out (see the exactly-once notes).
   */
  claimIdleMs?: number;
  /** How often to look for claimable entries, in ms. Default min(claimIdleMs / 2, 10_000). */
  claimIntervalMs?: number;
  /** Backoff through connection loss. */
  reconnect?: ReconnectOptions;
  /** Step name. Default `'redis-stream'`. */
  name?: string;
}

/**
 * The source's checkpointed position: per stream the last id this consumer emitted from its own
 * deliveries, the claimed ids emitted and not yet acknowledged, and (bounded) the end id.
 */
export interface RedisStreamPosition {
  readonly streams: Record<string, { readonly lastId: string; readonly claimed: readonly string[]; readonly endId?: string }>;
  /** Entries emitted in total (for `count`). */
  readonly emitted: number;
}

/** Counters of a live reader, for metrics and tests. */
export interface RedisStreamStats {
  readonly emitted: number;
  readonly claimed: number;
  readonly acked: number;
  readonly connection: ConnectionStats;
}

const WHAT = 'sources.redisStream';
const ACK_CHUNK = 5_000;
const PENDING_PAGE = 1_000;
const CLAIM_PAGE = 1_000;

/**
 * A replayable source over Redis Streams, read through a consumer group (XREADGROUP), taking part
 * in exactly-once.
 *
 * **Position and acknowledgement.** The checkpoint holds, per stream, `lastId` — the last id this
 * consumer emitted from its own deliveries — and the ids of claimed entries emitted but not yet
 * acknowledged. Entries are XACKed only once a checkpoint covering them is complete
 * (`onCheckpointComplete`, in batches), so everything emitted after the last complete checkpoint
 * is still in the consumer's pending entries list (PEL) when the job restarts.
 *
 * **Restore, and why nothing is lost or duplicated.** On open, the reader
 * 1. acknowledges what the restored checkpoint covers: this consumer's pending entries with
 *    id ≤ `lastId` (found with XPENDING) and the checkpoint's claimed ids;
 * 2. re-reads its own PEL after `lastId` with `XREADGROUP … STREAMS key <lastId>` — that form
 *    returns only this consumer's pending entries with a greater id, in id order: exactly the
 *    entries emitted after the checkpoint (or delivered to it without it ever seeing the reply);
 * 3. re-reads the PEL of its claims consumer (`<consumer>.claimed`) from the start;
 * 4. then continues with `>` (entries never delivered to the group).
 * New deliveries come in id order, so "emitted before the barrier" is exactly "id ≤ lastId" for
 * the consumer's own entries: step 1 drops what the committed output already holds, steps 2–4 give
 * everything else once. Claimed entries have arbitrary ids, which is why they are claimed into a
 * separate consumer name and listed by id in the checkpoint. The same resume (2 and 3) runs after
 * every connection error, because a reply lost on the wire may have delivered entries the reader
 * never saw. Nothing is re-read with XRANGE: that would also return entries delivered to the
 * group's other consumers.
 *
 * **Claiming.** Every `claimIntervalMs`, entries of *other* consumers pending for at least
 * `claimIdleMs` are found with XPENDING (IDLE) and taken with XCLAIM (XAUTOCLAIM cannot leave this
 * reader's own slow entries alone: after an outage they look idle too). Limits, in the nature of
 * a dead consumer: entries that consumer had already committed but not yet acknowledged (it died
 * between a checkpoint's completion and its XACK) are processed again by the claimer; and a
 * consumer that is alive but stalled for longer than `claimIdleMs` loses entries to claimers.
 * Restoring a checkpoint older than the latest cannot replay entries acknowledged since.
 *
 * **Bounded.** With `bounded` the reader ends at the last id each stream held at the job's first
 * start (kept in the checkpoint), once its pending entries were re-read: it does not wait for
 * other consumers' entries to become claimable. Entries after the end that a read returns stay
 * pending for this consumer, not emitted. With `count` it ends after that many entries, however
 * long they take to arrive (or to be claimed).
 *
 * **Connection loss.** Every Redis call retries with exponential backoff (`reconnect`), logged as
 * warnings and counted in `stats()`; the job continues when the server is back (its streams must
 * have been persisted: AOF or RDB).
 *
 * Entries that cannot be used — deleted before they were re-read, a bad `timestampField`, a
 * throwing `decode` — are dead letters with `source.position = { stream, id }`, and are acked with
 * the checkpoint like any other.
 *
 * @example
 * ```ts
 * pipeline('orders')
 *   .source(redisStreamSource({ connection: 'redis://127.0.0.1:6379', streams: 'orders', group: 'weir',
 *     decode: (e) => JSON.parse(e.fields.json) as Order }), { timestamp: 'at', watermark: watermarks.boundedOutOfOrderness(2000) })
 *   .sink(sinks.console());
 * ```
 */
export function redisStreamSource<T = RedisStreamEntry>(options: RedisStreamSourceOptions<T>): Source<T> {
  const settings = validate(options);
  return {
    name: settings.name,
    bounded: settings.bounded || settings.count !== undefined,
    replayable: true,
    async open(ctx: SourceContext): Promise<SourceReader<T>> {
      const reader = new RedisStreamReader<T>(settings, ctx);
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

interface Settings<T> {
  readonly endpoint: RedisEndpoint;
  readonly streams: readonly string[];
  readonly group: string;
  readonly consumer: string | undefined;
  readonly startId: string;
  readonly timestampField: string | undefined;
  readonly decode: ((entry: RedisStreamEntry) => T) | undefined;
  readonly bounded: boolean;
  readonly count: number | undefined;
  readonly blockMs: number;
  readonly claimIdleMs: number;
  readonly claimIntervalMs: number;
  readonly reconnect: ReconnectSettings;
  readonly name: string;
}

function validate<T>(options: RedisStreamSourceOptions<T>): Settings<T> {
  if (options === null || typeof options !== 'object') throw new ConfigError(`${WHAT}: options must be an object, got ${show(options)}`);
  const endpoint = redisConnection.parse(options.connection, WHAT);
  const streams = typeof options.streams === 'string' ? [options.streams] : options.streams;
  if (!Array.isArray(streams) || streams.length === 0 || streams.some((s) => typeof s !== 'string' || s.length === 0)) {
    throw new ConfigError(`${WHAT}: streams must be a non-empty stream key or a non-empty array of them, got ${show(options.streams)}`);
  }
  if (new Set(streams).size !== streams.length) throw new ConfigError(`${WHAT}: streams must not repeat a key, got ${show(streams)}`);
  const { group, consumer, timestampField, decode, count } = options;
  if (typeof group !== 'string' || group.length === 0) throw new ConfigError(`${WHAT}: group must be a non-empty string, got ${show(group)}`);
  if (consumer !== undefined && (typeof consumer !== 'string' || consumer.length === 0)) {
    throw new ConfigError(`${WHAT}: consumer must be a non-empty string, got ${show(consumer)}`);
  }
  const startId = options.startId ?? '0';
  if (startId !== '$' && startId !== '0' && !streamId.isValid(startId)) {
    throw new ConfigError(`${WHAT}: startId must be '0', '$' or an entry id '<ms>-<seq>', got ${show(startId)}`);
  }
  if (timestampField !== undefined && (typeof timestampField !== 'string' || timestampField.length === 0)) {
    throw new ConfigError(`${WHAT}: timestampField must be a non-empty field name, got ${show(timestampField)}`);
  }
  if (decode !== undefined && typeof decode !== 'function') throw new ConfigError(`${WHAT}: decode must be a function (entry) => record, got ${show(decode)}`);
  if (count !== undefined && !(Number.isSafeInteger(count) && count >= 0)) throw new ConfigError(`${WHAT}: count must be a non-negative integer, got ${show(count)}`);
  const bounded = options.bounded ?? false;
  if (typeof bounded !== 'boolean') throw new ConfigError(`${WHAT}: bounded must be a boolean, got ${show(bounded)}`);
  const blockMs = options.blockMs ?? 250;
  if (!(Number.isSafeInteger(blockMs) && blockMs > 0)) throw new ConfigError(`${WHAT}: blockMs must be a positive integer of ms, got ${show(blockMs)}`);
  const claimIdleMs = options.claimIdleMs ?? 60_000;
  if (!(Number.isSafeInteger(claimIdleMs) && claimIdleMs >= 0)) throw new ConfigError(`${WHAT}: claimIdleMs must be a non-negative integer of ms (0: never claim), got ${show(claimIdleMs)}`);
  const claimIntervalMs = options.claimIntervalMs ?? Math.max(1, Math.min(Math.floor(claimIdleMs / 2), 10_000));
  if (!(Number.isSafeInteger(claimIntervalMs) && claimIntervalMs > 0)) {
    throw new ConfigError(`${WHAT}: claimIntervalMs must be a positive integer of ms, got ${show(claimIntervalMs)}`);
  }
  const name = options.name ?? 'redis-stream';
  if (typeof name !== 'string' || name.length === 0) throw new ConfigError(`${WHAT}: name must be a non-empty string, got ${show(name)}`);
  return {
    endpoint,
    streams,
    group,
    consumer,
    startId,
    timestampField,
    decode,
    bounded,
    count,
    blockMs,
    claimIdleMs,
    claimIntervalMs,
    reconnect: ConnectionRetry.options(options.reconnect, WHAT),
    name,
  };
}

/** What the reader knows about one stream. */
interface StreamState {
  readonly key: string;
  /** Last id emitted from this consumer's own deliveries. */
  lastId: string;
  /** Bounded: the last id the stream held at the first start ('0-0' when empty). */
  endId: string | undefined;
  /** Bounded: nothing more of this stream will be emitted from its own deliveries. */
  done: boolean;
  /** Re-reading this consumer's PEL after lastId before reading new entries. */
  mainHistory: boolean;
  /** Re-reading the claims consumer's PEL from claimCursor. */
  claimHistory: boolean;
  claimCursor: string;
  /** XPENDING scan cursor for claiming ('-' or '(<id>'). */
  claimScan: string;
  /** Own ids emitted since the last position(). */
  openMain: string[];
  /** Claimed ids emitted since the last position(). */
  openClaimed: string[];
  /** Claimed ids emitted and not yet acknowledged. */
  readonly claimedOpen: Set<string>;
}

/** Ids sealed by one position() call, acknowledged when the next checkpoint completes. */
type Seal = Array<{ readonly state: StreamState; readonly main: string[]; readonly claimed: string[] }>;

type RawEntry = [id: string, fields: string[] | null] | null;

/**
 * A chunk read but not yet handed to the runtime, with the position change it makes. The change
 * is applied when the chunk is returned, never before: a barrier may fall between two chunks of
 * one XREADGROUP reply, and position() must not count entries still waiting here.
 */
interface Pending<T> {
  readonly chunk: SourceChunk<T>;
  readonly state: StreamState;
  /** Ids the chunk consumes (emitted records and dead letters), in order. */
  readonly ids: string[];
  readonly claimed: boolean;
}

/** The live reader of a {@link redisStreamSource}. */
class RedisStreamReader<T> implements SourceReader<T> {
  readonly #s: Settings<T>;
  readonly #ctx: SourceContext;
  readonly #step: string;
  readonly #consumer: string;
  readonly #claimsConsumer: string;
  readonly #retry: ConnectionRetry;
  readonly #streams: StreamState[];
  /** Claimed ids the restored checkpoint covers: acknowledged in start(). */
  readonly #restoredClaimed: Map<string, readonly string[]>;
  #Redis: (new (options: Record<string, unknown>) => unknown) | undefined;
  /** Blocking reads (XREADGROUP BLOCK ties up its connection). */
  #reader: RedisClientLike | undefined;
  /** Everything else: acks, claims, XPENDING. */
  #control: RedisClientLike | undefined;
  #queue: Pending<T>[] = [];
  #seals: Seal[] = [];
  #emitted = 0;
  #claimed = 0;
  #acked = 0;
  #nextClaimAt = 0;
  /** Consumers whose entries were claimed already (warned about once each). */
  readonly #claimedFrom = new Set<string>();
  /** The last step was a blocking read for new entries. */
  #waited = false;
  #closed = false;

  constructor(settings: Settings<T>, ctx: SourceContext) {
    this.#s = settings;
    this.#ctx = ctx;
    this.#step = ctx.name;
    this.#consumer = settings.consumer ?? `${ctx.job}.${ctx.name}`;
    this.#claimsConsumer = `${this.#consumer}.claimed`;
    this.#retry = new ConnectionRetry(settings.reconnect, { step: ctx.name, server: settings.endpoint.display, signal: ctx.signal, explain: redisConnection.explain });
    const restored = checkPosition(ctx.restored, ctx.name);
    this.#emitted = restored?.emitted ?? 0;
    this.#streams = settings.streams.map((key) => {
      const saved = restored?.streams[key];
      return {
        key,
        lastId: saved?.lastId ?? '0-0',
        endId: saved?.endId,
        done: false,
        mainHistory: true,
        claimHistory: true,
        claimCursor: '0-0',
        claimScan: '-',
        openMain: [],
        openClaimed: [],
        claimedOpen: new Set<string>(),
      };
    });
    this.#restoredClaimed = new Map(settings.streams.map((key) => [key, restored?.streams[key]?.claimed ?? []]));
  }

  /** Connect, create the group, acknowledge what the restored checkpoint covers, fix the end ids. */
  async start(): Promise<void> {
    // Loaded here, not at module load: a job that never opens a Redis source never loads ioredis.
    const mod = (await import('ioredis')) as unknown as { Redis?: unknown; default?: unknown };
    this.#Redis = (mod.Redis ?? mod.default) as new (options: Record<string, unknown>) => unknown;
    this.#reader = this.#client('reader');
    this.#control = this.#client('control');
    const s = this.#s;
    for (const state of this.#streams) {
      await this.#run('XGROUP CREATE', async (c) => {
        try {
          await c.call('XGROUP', ['CREATE', state.key, s.group, s.startId, 'MKSTREAM']);
        } catch (err) {
          if (!(err instanceof Error && err.message.startsWith('BUSYGROUP'))) throw err;
        }
      });
      await this.#ack(state, this.#restoredClaimed.get(state.key) ?? []);
      await this.#ackCoveredOwnEntries(state);
      if (s.bounded && state.endId === undefined) {
        const last = (await this.#run('XREVRANGE', (c) => c.call('XREVRANGE', [state.key, '+', '-', 'COUNT', 1]))) as RawEntry[];
        state.endId = last.length > 0 && last[0] !== null ? last[0][0] : '0-0';
      }
    }
    this.#restoredClaimed.clear();
    this.#nextClaimAt = Date.now();
  }

  /** Counters for metrics and tests. */
  stats(): RedisStreamStats {
    return { emitted: this.#emitted, claimed: this.#claimed, acked: this.#acked, connection: this.#retry.stats() };
  }

  read(max: number): SourceChunk<T> | null | Promise<SourceChunk<T> | null> {
    const queued = this.#queue.shift();
    if (queued !== undefined) return this.#hand(queued);
    if (this.#finished()) return null;
    return this.#read(max);
  }

  /** Hand a chunk to the runtime: from now on the position includes it. */
  #hand(p: Pending<T>): SourceChunk<T> {
    const st = p.state;
    if (p.claimed) {
      for (const id of p.ids) {
        st.openClaimed.push(id);
        st.claimedOpen.add(id);
      }
    } else {
      for (const id of p.ids) st.openMain.push(id);
      st.lastId = p.ids[p.ids.length - 1];
    }
    this.#emitted += p.ids.length;
    return p.chunk;
  }

  position(): RedisStreamPosition {
    const streams: Record<string, { lastId: string; claimed: string[]; endId?: string }> = {};
    const seal: Seal = [];
    for (const state of this.#streams) {
      streams[state.key] =
        state.endId === undefined
          ? { lastId: state.lastId, claimed: [...state.claimedOpen] }
          : { lastId: state.lastId, claimed: [...state.claimedOpen], endId: state.endId };
      if (state.openMain.length > 0 || state.openClaimed.length > 0) {
        seal.push({ state, main: state.openMain, claimed: state.openClaimed });
        state.openMain = [];
        state.openClaimed = [];
      }
    }
    this.#seals.push(seal);
    return { streams, emitted: this.#emitted };
  }

  progress(): SourceProgress {
    return this.#s.count === undefined ? { done: this.#emitted, unit: 'records' } : { done: this.#emitted, total: this.#s.count, unit: 'records' };
  }

  /**
   * The checkpoint of the oldest unacknowledged position() is complete: XACK its ids. Checkpoints
   * complete in barrier order (one in flight at a time), so the oldest seal is the one completed;
   * if that ever drifted, acking an older seal is still safe (a later checkpoint covers it too).
   * May run after close() (the runtime completes the final checkpoint after the source ended): a
   * short-lived connection then does the acks.
   */
  async onCheckpointComplete(): Promise<void> {
    const seal = this.#seals.shift();
    if (seal === undefined || seal.length === 0) return;
    const reopened = this.#closed && this.#control === undefined;
    if (reopened) this.#control = this.#client('final-ack');
    try {
      for (const { state, main, claimed } of seal) {
        await this.#ack(state, main);
        await this.#ack(state, claimed);
        for (const id of claimed) state.claimedOpen.delete(id);
      }
    } finally {
      if (reopened) {
        this.#control?.disconnect(false);
        this.#control = undefined;
      }
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#reader?.disconnect(false);
    this.#control?.disconnect(false);
    this.#reader = undefined;
    this.#control = undefined;
  }

  #client(role: string): RedisClientLike {
    const Redis = this.#Redis!;
    const client = new Redis(redisConnection.clientOptions(this.#s.endpoint, `weir:${this.#ctx.job}:${this.#step}:${role}`)) as RedisClientLike;
    // Connection errors surface through the commands (and ConnectionRetry); without a listener
    // ioredis would print every reconnect failure.
    client.on('error', () => undefined);
    return client;
  }

  #finished(): boolean {
    if (this.#queue.length > 0) return false;
    if (this.#s.count !== undefined && this.#emitted >= this.#s.count) return true;
    return this.#s.bounded && this.#streams.every((st) => st.done && !st.claimHistory);
  }

  async #read(max: number): Promise<SourceChunk<T> | null> {
    for (;;) {
      const chunks = await this.#retry.run('XREADGROUP', () => this.#readOnce(max), redisConnection.decide);
      if (chunks.length > 0) {
        for (let i = 1; i < chunks.length; i++) this.#queue.push(chunks[i]);
        return this.#hand(chunks[0]);
      }
      if (this.#finished()) return null;
      // Unbounded and a blocking read found nothing new: an empty chunk lets the runtime pass
      // barriers and idle time. (Steps that only ended a phase, e.g. an empty PEL, read on.)
      if (this.#waited) return { records: [], split: this.#streams[0].key };
    }
  }

  /**
   * One step of reading: own PEL, claims PEL, claiming, then new entries. Runs only with the
   * queue empty, so the position and the PELs agree on everything handed out.
   */
  async #readOnce(max: number): Promise<Pending<T>[]> {
    this.#waited = false;
    try {
      const n = this.#limit(max);
      if (n === 0) return [];
      for (const st of this.#streams) if (st.mainHistory && !st.done) return await this.#readOwnHistory(st, n);
      for (const st of this.#streams) if (st.claimHistory) return await this.#readClaimHistory(st, n);
      if (this.#s.claimIdleMs > 0 && Date.now() >= this.#nextClaimAt) {
        this.#nextClaimAt = Date.now() + this.#s.claimIntervalMs;
        const claimed = await this.#claim(n);
        if (claimed.length > 0) return claimed;
      }
      return await this.#readNew(n);
    } catch (err) {
      if (redisConnection.decide(err) === 'retry') {
        // A reply lost on the wire may have delivered (or claimed) entries we never saw: they are
        // in a PEL now, so resume from the PELs exactly as after a restart.
        for (const st of this.#streams) {
          st.mainHistory = true;
          st.claimHistory = true;
          st.claimCursor = '0-0';
        }
      }
      throw err;
    }
  }

  /** How many entries the next read may emit. */
  #limit(max: number): number {
    const count = this.#s.count;
    return count === undefined ? max : Math.max(0, Math.min(max, count - this.#emitted));
  }

  async #readOwnHistory(st: StreamState, n: number): Promise<Pending<T>[]> {
    const reply = await this.#readGroup(this.#consumer, n, false, [st.key], [st.lastId]);
    const entries = entriesOf(reply, st.key);
    if (entries.length === 0) {
      st.mainHistory = false;
      return [];
    }
    return this.#emit(st, entries, false, n);
  }

  async #readClaimHistory(st: StreamState, n: number): Promise<Pending<T>[]> {
    const reply = await this.#readGroup(this.#claimsConsumer, n, false, [st.key], [st.claimCursor]);
    const entries = entriesOf(reply, st.key);
    if (entries.length === 0) {
      st.claimHistory = false;
      return [];
    }
    st.claimCursor = entries[entries.length - 1]![0];
    const fresh = entries.filter((e) => e !== null && !st.claimedOpen.has(e[0]));
    return fresh.length === 0 ? [] : this.#emit(st, fresh, true, n);
  }

  async #readNew(n: number): Promise<Pending<T>[]> {
    const active = this.#streams.filter((st) => !st.done);
    if (active.length === 0) return [];
    const bounded = this.#s.bounded;
    this.#waited = !bounded;
    const reply = await this.#readGroup(
      this.#consumer,
      n,
      !bounded,
      active.map((st) => st.key),
      active.map(() => '>'),
    );
    const chunks: Pending<T>[] = [];
    let budget = n; // COUNT applies per stream: `count` is shared by all
    for (const st of active) {
      const entries = entriesOf(reply, st.key);
      if (entries.length === 0) {
        // Bounded reads do not block: nothing new means everything up to now was delivered.
        if (bounded) st.done = true;
        continue;
      }
      const pending = this.#emit(st, entries, false, budget);
      for (const p of pending) budget -= p.ids.length;
      chunks.push(...pending);
    }
    return chunks;
  }

  /** Claim other consumers' entries idle for claimIdleMs into the claims consumer. */
  async #claim(n: number): Promise<Pending<T>[]> {
    const chunks: Pending<T>[] = [];
    for (const st of this.#streams) {
      if (chunks.length > 0) break;
      const pending = (await this.#call(this.#control!, 'XPENDING', [st.key, this.#s.group, 'IDLE', this.#s.claimIdleMs, st.claimScan, '+', CLAIM_PAGE])) as Array<
        [string, string, number, number]
      >;
      st.claimScan = pending.length < CLAIM_PAGE ? '-' : `(${pending[pending.length - 1][0]}`;
      const ids = pending.filter((p) => p[1] !== this.#consumer && p[1] !== this.#claimsConsumer).map((p) => p[0]);
      if (ids.length === 0) continue;
      const take = ids.slice(0, n);
      // XCLAIM re-checks the idle time atomically: an entry its owner touched meanwhile stays.
      const claimed = (await this.#call(this.#control!, 'XCLAIM', [st.key, this.#s.group, this.#claimsConsumer, this.#s.claimIdleMs, ...take])) as RawEntry[];
      const entries = claimed.filter((e) => e !== null);
      if (entries.length === 0) continue;
      this.#claimed += entries.length;
      const taken = new Set(take);
      const owners = [...new Set(pending.filter((p) => taken.has(p[0])).map((p) => p[1]))].filter((o) => !this.#claimedFrom.has(o));
      if (owners.length > 0) {
        // Once per dead consumer: a large PEL is claimed over many rounds.
        for (const o of owners) this.#claimedFrom.add(o);
        process.emitWarning(
          `weir: step "${this.#step}": claiming entries of stream "${st.key}" left pending for ≥ ${this.#s.claimIdleMs} ms by consumer(s) ${owners.map((o) => `"${o}"`).join(', ')} (first ${entries.length})`,
          { code: 'WEIR_REDIS_CLAIMED' },
        );
      }
      chunks.push(...this.#emit(st, entries, true, n));
    }
    return chunks;
  }

  /**
   * Turn up to `limit` entries into a chunk. Own entries past a bounded end, and entries past
   * the limit, are left out (they stay pending for this consumer and are re-read later).
   */
  #emit(st: StreamState, entries: RawEntry[], claimed: boolean, limit: number): Pending<T>[] {
    const s = this.#s;
    const records: T[] = [];
    const timestamps: number[] = [];
    const ids: string[] = [];
    let deadLetters: DeadLetter[] | undefined;
    for (const raw of entries) {
      if (raw === null) continue;
      if (ids.length >= limit) break;
      const id = raw[0];
      if (!claimed && st.endId !== undefined && streamId.compare(id, st.endId) > 0) {
        st.done = true;
        break;
      }
      ids.push(id);
      const flat = raw[1];
      if (flat === null) {
        (deadLetters ??= []).push(this.#deadLetter(st.key, id, null, new RecordError(this.#step, `entry ${id} of stream "${st.key}" was deleted (XDEL or trimming) before it was processed`)));
        continue;
      }
      const fields: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]] = flat[i + 1];
      let timestamp: number;
      if (s.timestampField === undefined) {
        timestamp = streamId.ms(id);
      } else {
        timestamp = parseTime(fields[s.timestampField]);
        if (Number.isNaN(timestamp)) {
          const message = `entry ${id} of stream "${st.key}": timestampField "${s.timestampField}" must hold a number of ms or a date, got ${show(fields[s.timestampField])}`;
          (deadLetters ??= []).push(this.#deadLetter(st.key, id, fields, new RecordError(this.#step, message)));
          continue;
        }
      }
      const entry: RedisStreamEntry = { stream: st.key, id, fields, timestamp };
      if (s.decode === undefined) {
        records.push(entry as unknown as T);
      } else {
        try {
          records.push(s.decode(entry));
        } catch (err) {
          (deadLetters ??= []).push(this.#deadLetter(st.key, id, fields, new UserFunctionError(`${this.#step}.decode`, err)));
          continue;
        }
      }
      timestamps.push(timestamp);
    }
    if (ids.length === 0) return [];
    const chunk: SourceChunk<T> = deadLetters === undefined ? { records, timestamps, split: st.key } : { records, timestamps, split: st.key, deadLetters };
    return [{ chunk, state: st, ids, claimed }];
  }

  #deadLetter(stream: string, id: string, fields: Record<string, string> | null, error: RecordError | UserFunctionError): DeadLetter {
    return {
      record: { stream, id, fields },
      error: { code: error.code, message: error.message, step: this.#step },
      source: { name: this.#step, position: { stream, id } },
    };
  }

  /** XREADGROUP for `keys` from `ids` (own history ids, or '>'), blocking only for new entries. */
  async #readGroup(consumer: string, n: number, block: boolean, keys: string[], ids: string[]): Promise<unknown> {
    const args: Array<string | number> = ['GROUP', this.#s.group, consumer, 'COUNT', n];
    if (block) args.push('BLOCK', this.#s.blockMs);
    args.push('STREAMS', ...keys, ...ids);
    const client = this.#reader!;
    await redisConnection.ready(client);
    const reply = client.call('XREADGROUP', args);
    if (!block) return reply;
    return abortable(reply, this.#ctx.signal);
  }

  async #call(client: RedisClientLike, command: string, args: Array<string | number>): Promise<unknown> {
    await redisConnection.ready(client);
    return client.call(command, args);
  }

  /** A control-connection operation with retries. */
  #run<R>(operation: string, op: (client: RedisClientLike) => Promise<R>): Promise<R> {
    return this.#retry.run(
      operation,
      async () => {
        const client = this.#control;
        if (client === undefined) throw new ConnectorError(this.#step, 'the Redis connection is closed', { retryable: false });
        await redisConnection.ready(client);
        return op(client);
      },
      redisConnection.decide,
    );
  }

  async #ack(st: StreamState, ids: readonly string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += ACK_CHUNK) {
      const part = ids.slice(i, i + ACK_CHUNK);
      // XACK is idempotent: repeating it after a lost reply is harmless.
      const n = await this.#run('XACK', (c) => c.call('XACK', [st.key, this.#s.group, ...part]));
      this.#acked += Number(n);
    }
  }

  /** Restore step 1: this consumer's pending entries up to lastId are covered by the checkpoint. */
  async #ackCoveredOwnEntries(st: StreamState): Promise<void> {
    if (st.lastId === '0-0') return;
    let start = '-';
    for (;;) {
      const page = (await this.#run('XPENDING', (c) =>
        c.call('XPENDING', [st.key, this.#s.group, start, st.lastId, PENDING_PAGE, this.#consumer]),
      )) as Array<[string, string, number, number]>;
      if (page.length === 0) return;
      await this.#ack(
        st,
        page.map((p) => p[0]),
      );
      if (page.length < PENDING_PAGE) return;
      start = `(${page[page.length - 1][0]}`;
    }
  }
}

/** The entries of `key` in an XREADGROUP reply (null or [[key, entries], …]). */
function entriesOf(reply: unknown, key: string): RawEntry[] {
  if (reply === null || !Array.isArray(reply)) return [];
  for (const item of reply as Array<[string, RawEntry[]]>) if (item[0] === key) return item[1] ?? [];
  return [];
}

/** A field value as ms since the epoch: a number, or a date string; NaN otherwise. */
function parseTime(value: string | undefined): number {
  if (value === undefined || value.length === 0) return Number.NaN;
  const n = Number(value);
  return Number.isNaN(n) ? Date.parse(value) : n;
}

/** `promise`, or a rejection with the signal's reason as soon as `signal` aborts. */
function abortable<R>(promise: Promise<R>, signal: AbortSignal): Promise<R> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<R>((resolve, reject) => {
    const onAbort = (): void => {
      // The read is abandoned: whatever it delivers stays in the PEL and is re-read next start.
      promise.catch(() => undefined);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** Check a restored position's shape. */
function checkPosition(value: unknown, step: string): RedisStreamPosition | undefined {
  if (value === undefined || value === null) return undefined;
  const p = value as RedisStreamPosition;
  const ok =
    typeof p === 'object' &&
    Number.isSafeInteger(p.emitted) &&
    p.streams !== null &&
    typeof p.streams === 'object' &&
    Object.values(p.streams).every(
      (s) => s !== null && typeof s === 'object' && streamId.isValid(s.lastId) && Array.isArray(s.claimed) && (s.endId === undefined || streamId.isValid(s.endId)),
    );
  if (!ok) throw new CheckpointError(`source "${step}": not a Redis stream position: ${show(value)}`, { step });
  return p;
}
