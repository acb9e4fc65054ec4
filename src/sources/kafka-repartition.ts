import { deserialize, serialize } from 'node:v8';
import type { Admin, KafkaConfig, Message, Producer } from 'kafkajs';
import type { Batch } from '../runtime/elements.js';
import { CheckpointError, ConfigError, ConnectorError, RecordError, WeirError, describe, show } from '../runtime/errors.js';
import type { Sink, SinkContext, TransactionalWriter } from '../runtime/sink.js';
import type { SourceChunk, SourceProgress, SourceReader } from '../runtime/source.js';
import type { KafkaRecord } from './kafka-source.js';

/** Header naming the task that wrote a repartitioned record. */
export const TASK_HEADER = 'weir-task';
/** Header holding the writing task's sequence number of the record (1, 2, 3…). */
export const SEQ_HEADER = 'weir-seq';

/**
 * The topic of a repartition step: `<job>.<step>.repartition`.
 *
 * @example
 * ```ts
 * repartitionTopic('orders', 'keyBy'); // 'orders.keyBy.repartition'
 * ```
 */
export function repartitionTopic(job: string, step: string): string {
  return `${job}.${step}.repartition`;
}

/**
 * Check that every repartition topic exists with as many partitions as the source topics (the
 * largest of them): task n reads partition n of each. A missing topic is created when the cluster
 * allows it (`createTopics`); otherwise, or with another partition count, a {@link ConfigError}
 * names the topic and the count. Returns the partition count.
 */
export async function ensureRepartitionTopics(admin: Admin, job: string, sourceTopics: readonly string[], topics: ReadonlyArray<{ step: string; topic: string }>): Promise<number> {
  for (const { step, topic } of topics) {
    if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic)) {
      throw new ConfigError(`job "${job}": step "${step}" repartitions through topic ${show(topic)}, which is not a valid topic name; rename the job or the step (keyBy option name)`);
    }
  }
  const source = await admin.fetchTopicMetadata({ topics: [...sourceTopics] });
  const partitions = Math.max(...source.topics.map((t) => t.partitions.length));
  const what = `${partitions} partition${partitions === 1 ? '' : 's'} (as many as source topic${sourceTopics.length === 1 ? '' : 's'} ${sourceTopics.map((t) => `"${t}"`).join(', ')})`;
  let existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t.topic));
  if (missing.length > 0) {
    // Not every cluster lets clients create topics (nor does librdkafka's mock): then say what to create.
    await admin
      .createTopics({ topics: missing.map((t) => ({ topic: t.topic, numPartitions: partitions })), waitForLeaders: true, timeout: 5000 })
      .catch(() => undefined);
    existing = new Set(await admin.listTopics());
  }
  for (const { step, topic } of topics) {
    if (!existing.has(topic)) {
      throw new ConfigError(`job "${job}": step "${step}" repartitions through topic "${topic}", which does not exist and could not be created; create it with ${what}`);
    }
    const [meta] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
    const count = meta?.partitions.length ?? 0;
    if (count !== partitions) {
      throw new ConfigError(`job "${job}": step "${step}" repartitions through topic "${topic}", which has ${count} partition${count === 1 ? '' : 's'}; it needs ${what}`);
    }
  }
  return partitions;
}

/** What a repartition reader checkpoints: the Kafka offsets, and per writing task the highest sequence number read. */
export interface RepartitionPosition {
  readonly offsets: unknown;
  readonly seqs: Readonly<Record<string, number>>;
}

/** The offsets part of a restored {@link RepartitionPosition} (for the Kafka reader underneath). */
export function restoredOffsets(restored: unknown, step: string): unknown {
  return restored === undefined || restored === null ? undefined : checkPosition(restored, step).offsets;
}

/** Records of one writing task, waiting to be handed out. */
interface Pending {
  readonly task: string;
  readonly records: Array<KafkaRecord<Buffer, Buffer>>;
  readonly timestamps: number[];
  readonly seqs: number[];
}

/**
 * The reading end of a repartition channel for one task: the records other tasks wrote to this
 * task's partition of the topic, decoded (v8), as chunks of one writing task each (split
 * `upstream:<task>`, so the watermark is the minimum over writing tasks).
 *
 * **Exactly-once without transactions.** Every writer numbers its records (`weir-seq`, per
 * writing task `weir-task`), resumes its numbering at its checkpoint, and replays after a failure
 * exactly the records it wrote after that checkpoint, in the same order, with the same numbers.
 * A partition receives a writer's records in order, so the reader keeps per writer the highest
 * number handed out and drops every record not above it: a replay's duplicates vanish. Those
 * numbers are part of the position, with the offsets. Invariant: the position resumes after the
 * last record handed out (records of a Kafka chunk not handed out yet are read again; the ones
 * already handed out are then dropped by their numbers).
 */
export class RepartitionReader implements SourceReader<unknown> {
  readonly #inner: SourceReader<KafkaRecord<Buffer, Buffer>>;
  readonly #step: string;
  readonly #seqs = new Map<string, number>();
  #announce: string[];
  /** A split announced first: what an empty chunk names (so barriers and idleness move on). */
  readonly #idleSplit: string;
  readonly #pending: Pending[] = [];
  /** `"topic:partition"` and the offset of the first record of `#pending` (where a restore must read again). */
  #pendingFrom: [string, number] | undefined;
  #read = 0;

  /**
   * @param inner the Kafka reader of this task's partition of the topic (raw keys and values)
   * @param restored the checkpointed {@link RepartitionPosition}, or undefined
   * @param upstream the writing tasks' ids (every task of the job), announced as splits first
   */
  constructor(inner: SourceReader<KafkaRecord<Buffer, Buffer>>, restored: unknown, upstream: readonly string[], step: string) {
    this.#inner = inner;
    this.#step = step;
    if (restored !== undefined && restored !== null) for (const [task, seq] of Object.entries(checkPosition(restored, step).seqs)) this.#seqs.set(task, seq);
    this.#announce = upstream.map((u) => `upstream:${u}`);
    if (this.#announce.length === 0) throw new ConfigError(`source "${step}": a repartition reader needs the writing tasks' ids`);
    this.#idleSplit = this.#announce[0];
  }

  read(max: number): SourceChunk<unknown> | null | Promise<SourceChunk<unknown> | null> {
    // Every writing task is a split before any data moves the watermark (like a new partition).
    const split = this.#announce.shift();
    if (split !== undefined) return { records: [], split };
    if (this.#pending.length > 0) return this.#handOut();
    const chunk = this.#inner.read(max);
    return chunk instanceof Promise ? chunk.then((c) => this.#accept(c)) : this.#accept(chunk);
  }

  position(): RepartitionPosition {
    const inner = this.#inner.position() as Record<string, number> | undefined;
    let offsets: unknown = inner;
    if (this.#pendingFrom !== undefined) offsets = { ...inner, [this.#pendingFrom[0]]: this.#pendingFrom[1] };
    return { offsets, seqs: Object.fromEntries(this.#seqs) };
  }

  progress(): SourceProgress {
    return { done: this.#read, unit: 'records' };
  }

  onCheckpointComplete(checkpointId: number): void | Promise<void> {
    return this.#inner.onCheckpointComplete?.(checkpointId);
  }

  close(): void | Promise<void> {
    return this.#inner.close?.();
  }

  /** Group a Kafka chunk by writing task (keeping each writer's order) and hand out the first group. */
  #accept(chunk: SourceChunk<KafkaRecord<Buffer, Buffer>> | null): SourceChunk<unknown> | null {
    if (chunk === null) return null;
    const records = chunk.records;
    // Nothing new: an empty chunk lets barriers and idleness move on; it names a split announced already.
    if (records.length === 0) return { records: [], split: this.#idleSplit };
    const timestamps = chunk.timestamps ?? [];
    const groups = new Map<string, Pending>();
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      const task = header(r, TASK_HEADER);
      const seq = Number(header(r, SEQ_HEADER));
      if (task === undefined || !Number.isSafeInteger(seq)) {
        throw new ConnectorError(this.#step, `record at ${r.topic}:${r.partition} offset ${r.offset} is not a repartitioned record (no ${TASK_HEADER}/${SEQ_HEADER} headers); only weir writes to a repartition topic`, { retryable: false });
      }
      let group = groups.get(task);
      if (group === undefined) groups.set(task, (group = { task, records: [], timestamps: [], seqs: [] }));
      group.records.push(r);
      group.timestamps.push(timestamps[i] ?? r.timestamp);
      group.seqs.push(seq);
    }
    this.#pending.push(...groups.values());
    this.#pendingFrom = [`${records[0].topic}:${records[0].partition}`, records[0].offset];
    return this.#handOut();
  }

  /** The next writer's records, without those already handed out before (a replay's). */
  #handOut(): SourceChunk<unknown> {
    const group = this.#pending.shift()!;
    const split = `upstream:${group.task}`;
    const seen = this.#seqs.get(group.task) ?? 0;
    const records: unknown[] = [];
    const timestamps: number[] = [];
    let last = seen;
    for (let i = 0; i < group.records.length; i++) {
      const seq = group.seqs[i];
      if (seq <= last) continue;
      last = seq;
      const r = group.records[i];
      try {
        records.push(deserialize(r.value!));
      } catch (err) {
        throw new ConnectorError(this.#step, `cannot decode the record at ${r.topic}:${r.partition} offset ${r.offset}: ${describe(err)}`, { cause: err, retryable: false });
      }
      timestamps.push(group.timestamps[i]);
    }
    if (last > seen) this.#seqs.set(group.task, last);
    this.#read += records.length;
    const next = this.#pending[0];
    this.#pendingFrom = next === undefined ? undefined : [`${next.records[0].topic}:${next.records[0].partition}`, minOffset(this.#pending)];
    return { records, timestamps, split };
  }
}

function minOffset(pending: readonly Pending[]): number {
  let min = Number.POSITIVE_INFINITY;
  for (const p of pending) if (p.records[0].offset < min) min = p.records[0].offset;
  return min;
}

function header(r: KafkaRecord<Buffer, Buffer>, name: string): string | undefined {
  const v = r.headers[name];
  if (v === undefined) return undefined;
  const one = Array.isArray(v) ? v[0] : v;
  return typeof one === 'string' ? one : one.toString('utf8');
}

function checkPosition(value: unknown, step: string): RepartitionPosition {
  const p = value as RepartitionPosition;
  const ok =
    p !== null &&
    typeof p === 'object' &&
    p.seqs !== null &&
    typeof p.seqs === 'object' &&
    Object.values(p.seqs).every((s) => Number.isSafeInteger(s) && s >= 0);
  if (!ok) throw new ConfigError(`source "${step}": not a repartition position (expected { offsets, seqs }): ${show(value)}`);
  return p;
}

/** Connection settings of a repartition writer (those of the job's Kafka source). */
export interface RepartitionConnection {
  readonly brokers: string[];
  readonly clientId: string | undefined;
  readonly connection: Pick<KafkaConfig, 'ssl' | 'sasl' | 'connectionTimeout' | 'authenticationTimeout' | 'requestTimeout' | 'retry'>;
  readonly logLevel: 'nothing' | 'error' | 'warn' | 'info' | 'debug';
}

/** What a repartition writer pre-commits: how many records it had numbered at the barrier. */
export interface RepartitionTxn {
  readonly seq: number;
}

/**
 * The writing end of a repartition channel for task `task`: each record goes, v8-serialized, to
 * partition `hash(key) mod partitions` of `topic` (the task owning the key), with its event time
 * as the Kafka timestamp and headers `weir-task` and `weir-seq` (see {@link RepartitionReader}).
 * Sends are acknowledged by all replicas (idempotent producer) before the next batch goes, so a
 * partition holds each writer's records in order; `preCommit` returns the sequence number reached,
 * from which a restored writer resumes numbering.
 */
export function repartitionSink(conn: RepartitionConnection, topic: string, partitions: number, task: string, key: (record: unknown) => unknown): Sink<unknown> {
  return {
    name: topic,
    async open(ctx: SinkContext) {
      const writer = new RepartitionWriter(conn, topic, partitions, task, key, ctx);
      await writer.start();
      return writer;
    },
  };
}

type KafkaJs = typeof import('kafkajs');

class RepartitionWriter implements TransactionalWriter<unknown, RepartitionTxn> {
  readonly #conn: RepartitionConnection;
  readonly #topic: string;
  readonly #partitions: number;
  readonly #task: string;
  readonly #key: (record: unknown) => unknown;
  readonly #ctx: SinkContext;
  #producer: Producer | undefined;
  #seq = 0;

  constructor(conn: RepartitionConnection, topic: string, partitions: number, task: string, key: (record: unknown) => unknown, ctx: SinkContext) {
    this.#conn = conn;
    this.#topic = topic;
    this.#partitions = partitions;
    this.#task = task;
    this.#key = key;
    this.#ctx = ctx;
    const restored = ctx.restored as RepartitionTxn | undefined | null;
    if (restored !== undefined && restored !== null) {
      if (typeof restored !== 'object' || !Number.isSafeInteger(restored.seq) || restored.seq < 0) {
        throw new CheckpointError(`sink "${ctx.name}": not a repartition writer state (expected { seq }): ${show(restored)}`, { step: ctx.name });
      }
      // Replaying from the checkpoint: the same records get the same numbers again.
      this.#seq = restored.seq;
    }
  }

  async start(): Promise<void> {
    const c = this.#conn;
    const mod = (await import('kafkajs')) as KafkaJs & { default?: KafkaJs };
    const kafkajs = (mod.default ?? mod) as KafkaJs;
    const kafka = new kafkajs.Kafka({
      ...c.connection,
      brokers: c.brokers,
      clientId: c.clientId ?? `weir-${this.#ctx.job}-${this.#ctx.name}`,
      logLevel: { nothing: 0, error: 1, warn: 2, info: 4, debug: 5 }[c.logLevel],
    });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    try {
      await producer.connect();
    } catch (err) {
      await producer.disconnect().catch(() => undefined);
      throw this.#external(`cannot start the producer on ${c.brokers.join(',')}`, err);
    }
    this.#producer = producer;
  }

  async write(batch: Batch<unknown>): Promise<void> {
    const records = batch.records;
    if (records.length === 0) return;
    const timestamps = batch.timestamps;
    const now = Date.now();
    const messages: Message[] = new Array<Message>(records.length);
    let seq = this.#seq;
    for (let i = 0; i < records.length; i++) {
      const record = records[i];
      let k: string;
      let value: Buffer;
      try {
        k = keyString(this.#key(record));
        value = serialize(record);
      } catch (err) {
        throw new RecordError(this.#ctx.name, `cannot repartition record ${show(record)}: ${describe(err)}`, err);
      }
      const t = timestamps[i];
      messages[i] = {
        key: k,
        value,
        partition: hash(k) % this.#partitions,
        timestamp: String(Number.isFinite(t) ? Math.trunc(t) : now),
        headers: { [TASK_HEADER]: this.#task, [SEQ_HEADER]: String(++seq) },
      };
    }
    try {
      // One batch at a time: a partition must hold this writer's records in sequence order.
      await this.#producer!.send({ topic: this.#topic, messages, acks: -1 });
    } catch (err) {
      throw this.#external(`cannot write to repartition topic "${this.#topic}"`, err);
    }
    this.#seq = seq;
  }

  preCommit(checkpointId: number): RepartitionTxn {
    if (!(Number.isSafeInteger(checkpointId) && checkpointId >= 0)) {
      throw new CheckpointError(`sink "${this.#ctx.name}": checkpoint id must be a non-negative integer, got ${show(checkpointId)}`, { step: this.#ctx.name });
    }
    // Every write was acknowledged before it returned: nothing in flight.
    return { seq: this.#seq };
  }

  commit(): void {
    // Nothing to do: records are visible at once; a replay's duplicates are dropped by the reader.
  }

  abort(): void {
    // Nothing to undo: what a failed checkpoint's epoch wrote is written again on replay, with the same numbers.
  }

  async close(): Promise<void> {
    const producer = this.#producer;
    this.#producer = undefined;
    await producer?.disconnect().catch(() => undefined);
  }

  #external(message: string, cause: unknown): WeirError {
    if (cause instanceof WeirError) return cause;
    return new ConnectorError(this.#ctx.name, `${message}: ${describe(cause)}`, { cause });
  }
}

/** A key as the Kafka message key: strings as they are, other values as JSON. */
function keyString(key: unknown): string {
  if (typeof key === 'string') return key;
  if (typeof key === 'number' || typeof key === 'bigint' || typeof key === 'boolean') return String(key);
  return JSON.stringify(key) ?? String(key);
}

/** FNV-1a over the key's UTF-16 code units: stable across processes and versions. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
