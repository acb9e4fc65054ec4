import type { Admin, Kafka as KafkaClient, KafkaConfig, Message, Producer, TopicMessages, Transaction } from 'kafkajs';
import type { Batch } from '../runtime/elements.js';
import { CheckpointError, ConfigError, ConnectorError, RecordError, WeirError, describe, show } from '../runtime/errors.js';
import { hasTraceContext, injectContext, recordHeaders, extractContext } from '../runtime/observability/trace-context.js';
import type { Sink, SinkContext, TransactionalWriter } from '../runtime/sink.js';
import { toSerializer, type KafkaSerializer, type KafkaValueFormat } from './kafka-serializers.js';

/** Connection settings passed through to kafkajs (TLS, SASL, timeouts, retries). */
export type KafkaSinkConnectionOptions = Pick<KafkaConfig, 'ssl' | 'sasl' | 'connectionTimeout' | 'authenticationTimeout' | 'requestTimeout' | 'retry'>;

/**
 * Where a checkpoint's source offsets come from: a Kafka source (`sources.kafka(...)` is one).
 * The exactly-once sink commits them to `groupId` inside the checkpoint's transaction.
 */
export interface KafkaOffsetSource {
  readonly groupId: string;
  /** The offsets the latest barrier of job `job` covered, for the partitions this process owns. */
  barrierOffsets(job: string, task?: string): Array<{ topic: string; partition: number; offset: number }> | undefined;
}

/** Options of {@link kafkaSink}. */
export interface KafkaSinkOptions<T> {
  /** Bootstrap brokers, `host:port`. */
  brokers: string[];
  /** Topic to write to, or a function choosing it per record. */
  topic: string | ((record: T) => string);
  /**
   * Message key: a field name or a function (string, Buffer, number or null). Records are
   * partitioned by key (murmur2, like the Java client); without a key, round robin.
   */
  key?: string | ((record: T) => string | Buffer | number | null | undefined);
  /** What is written as the value: the whole record by default, or what this function returns. */
  value?: (record: T) => unknown;
  /** How the value is encoded: `'json'` (default), `'string'`, `'raw'` or a serializer (e.g. `avroSerializer`). */
  format?: KafkaValueFormat;
  /** Message headers per record. */
  headers?: (record: T) => Record<string, string | Buffer> | undefined;
  /**
   * Carry trace context in W3C headers (`traceparent`): a record with trace headers of its own
   * (a Kafka source's `headers` field) continues its trace; others get the active span's (the
   * sampled batch span). No-op without an OpenTelemetry SDK. Default true.
   */
  traceContext?: boolean;
  /** Explicit partition per record (overrides partitioning by key). */
  partition?: (record: T) => number;
  /** Message timestamp: the record's event time (default; processing time when it has none) or processing time. */
  timestamp?: 'event' | 'now';
  /** `'none'` (default) or `'gzip'`. */
  compression?: 'none' | 'gzip';
  /**
   * `'at-least-once'` (default): an idempotent producer; every checkpoint waits until what was
   * sent is acknowledged. `'exactly-once'`: a transactional producer, one transaction per
   * checkpoint, committed once the checkpoint is durable (consumers must read `read_committed`).
   */
  semantic?: 'at-least-once' | 'exactly-once';
  /**
   * Exactly-once: the transactional id. Default `<job>.<step>`. It must be unique per running
   * process and the same across its restarts: a restarted process then fences its predecessor.
   * When a job runs as several processes, give each its own stable id (e.g. `orders.sink-3`).
   */
  transactionalId?: string;
  /** Exactly-once: how long the broker keeps a transaction open. Must exceed the checkpoint interval plus recovery time. Default 60,000 ms. */
  transactionTimeoutMs?: number;
  /**
   * Exactly-once: Kafka sources whose checkpoint offsets are committed to their group inside the
   * same transaction, so the output and the input offsets become visible atomically.
   */
  sendOffsetsOf?: KafkaOffsetSource | KafkaOffsetSource[];
  /** Batches sent without waiting for their acknowledgement. Default 4. */
  maxInFlightBatches?: number;
  /** kafkajs client id. Default `weir-<job>-<step>`. */
  clientId?: string;
  /** TLS, SASL, timeouts, retries: passed to kafkajs. */
  connection?: KafkaSinkConnectionOptions;
  /** kafkajs's console logging. Default `'nothing'`: failures surface as job errors. */
  logLevel?: 'nothing' | 'error' | 'warn' | 'info' | 'debug';
  /** Step name. Default `'kafka'`. */
  name?: string;
}

/**
 * What a {@link kafkaSink} pre-commits: plain data, stored in the checkpoint. With exactly-once it
 * names the producer session that holds the open transaction, so a restarted process can commit
 * it; with at-least-once only `checkpointId` and `records` are meaningful.
 */
export interface KafkaSinkTxn {
  readonly checkpointId: number;
  /** Undefined for at-least-once. */
  readonly transactionalId: string | undefined;
  readonly producerId: number;
  readonly producerEpoch: number;
  /** Records in the transaction. */
  readonly records: number;
  /** Source offsets committed inside the transaction. */
  readonly offsets: ReadonlyArray<{ readonly groupId: string; readonly topic: string; readonly partition: number; readonly offset: number }>;
  /**
   * Exactly-once: where the transaction also committed its checkpoint id, as the offset of
   * partition 0 of `topic` in group `groupId`, so recovery can tell whether it happened.
   */
  readonly marker?: { readonly groupId: string; readonly topic: string };
}

const WHAT = 'sinks.kafka';

/**
 * Write records to Kafka with kafkajs (imported when the sink opens).
 *
 * Each batch becomes one produce request per topic (pipelined: up to `maxInFlightBatches` are in
 * flight), compressed as asked, partitioned by key (or `partition`), with headers and trace
 * context. Values are the record (or `value(record)`) encoded by `format`.
 *
 * **At-least-once** (default): an idempotent producer (no duplicates from its own retries). At
 * each checkpoint barrier the sink waits for every send to be acknowledged, so a completed
 * checkpoint never misses output; after a crash, what was sent after the restored checkpoint is
 * sent again.
 *
 * **Exactly-once**: a transactional producer (`transactionalId`), one transaction per checkpoint.
 * `preCommit` waits for the sends, adds the checkpoint's source offsets (`sendOffsetsOf`) and a
 * marker (the checkpoint id, as the committed offset of partition 0 of the output topic in group
 * `weir.txn.<transactionalId>`) to the transaction, and returns `{ transactionalId, producerId,
 * producerEpoch, checkpointId, offsets, marker }`; writes after it wait until the coordinator
 * commits (the checkpoint is durable) or aborts. `commit` commits the transaction; repeating it
 * is a no-op.
 *
 * Recovery: `open` first settles the restored checkpoint's transaction. If the committed group
 * offsets show it happened (the marker, or the source offsets it carried), there is nothing to
 * do. Otherwise it is committed by sending EndTxn(commit) for the stored producer id and epoch,
 * as Flink does (kafkajs has no public call for this: its internal cluster client is used). Only
 * then does the producer initialize, which fences any zombie of the previous process and aborts
 * the open transactions of newer, incomplete checkpoints. If the broker already aborted the
 * transaction (it outlived `transactionTimeoutMs`), `open` fails with a message naming the
 * checkpoint to resume from. Consumers see the output only with `isolation.level=read_committed`.
 * Exactly-once needs checkpoints (`checkpointInterval` below `transactionTimeoutMs`): without
 * them the one transaction is committed only at the end of a bounded input.
 *
 * @example
 * ```ts
 * const orders = sources.kafka({ brokers, topic: 'orders', groupId: 'totals' });
 * await pipeline('totals')
 *   .source(orders, { timestamp: 'timestamp', watermark: watermarks.boundedOutOfOrderness(1000) })
 *   .keyBy((r) => r.key)
 *   .window(windows.tumbling(60_000))
 *   .aggregate({ n: agg.count() })
 *   .sink(sinks.kafka({ brokers, topic: 'totals', key: 'key', semantic: 'exactly-once', sendOffsetsOf: orders }))
 *   .run({ checkpointInterval: 5000 });
 * ```
 */
export function kafkaSink<T = unknown>(options: KafkaSinkOptions<T>): Sink<T> {
  const settings = validate(options);
  return {
    name: settings.name,
    async open(ctx: SinkContext) {
      const writer = new KafkaSinkWriter<T>(settings, ctx);
      await writer.start();
      return writer;
    },
  };
}

interface Settings<T> {
  readonly brokers: string[];
  readonly topic: string | ((record: T) => string);
  readonly key: ((record: T) => string | Buffer | number | null | undefined) | undefined;
  readonly value: ((record: T) => unknown) | undefined;
  readonly serializer: KafkaSerializer;
  readonly headers: ((record: T) => Record<string, string | Buffer> | undefined) | undefined;
  readonly traceContext: boolean;
  readonly partition: ((record: T) => number) | undefined;
  readonly eventTime: boolean;
  readonly gzip: boolean;
  readonly exactlyOnce: boolean;
  readonly transactionalId: string | undefined;
  readonly transactionTimeoutMs: number;
  readonly sendOffsetsOf: readonly KafkaOffsetSource[];
  readonly maxInFlightBatches: number;
  readonly clientId: string | undefined;
  readonly connection: KafkaSinkConnectionOptions;
  readonly logLevel: 'nothing' | 'error' | 'warn' | 'info' | 'debug';
  readonly name: string;
}

function validate<T>(options: KafkaSinkOptions<T>): Settings<T> {
  if (options === null || typeof options !== 'object') throw new ConfigError(`${WHAT}: options must be an object, got ${show(options)}`);
  const { brokers, topic } = options;
  if (!Array.isArray(brokers) || brokers.length === 0 || !brokers.every((b) => typeof b === 'string' && /^[^:\s]+:\d+$/.test(b))) {
    throw new ConfigError(`${WHAT}: brokers must be a non-empty array of "host:port" strings, got ${show(brokers)}`);
  }
  if (!(typeof topic === 'function' || (typeof topic === 'string' && /^[A-Za-z0-9._-]+$/.test(topic)))) {
    throw new ConfigError(`${WHAT}: topic must be a topic name (letters, digits, '.', '_', '-') or a function of the record, got ${show(topic)}`);
  }
  const fn = <K extends keyof KafkaSinkOptions<T>>(field: K): KafkaSinkOptions<T>[K] => {
    const value = options[field];
    if (value !== undefined && typeof value !== 'function') throw new ConfigError(`${WHAT}: ${field} must be a function of the record, got ${show(value)}`);
    return value;
  };
  let key: Settings<T>['key'];
  if (typeof options.key === 'string') {
    if (options.key.length === 0) throw new ConfigError(`${WHAT}: key must be a field name or a function, got ""`);
    const field = options.key;
    key = (record) => (record as Record<string, string | number | null | undefined>)[field];
  } else {
    key = fn('key') as Settings<T>['key'];
  }
  const oneOf = <V extends string>(field: keyof KafkaSinkOptions<T>, allowed: readonly V[], fallback: V): V => {
    const value = options[field];
    if (value === undefined) return fallback;
    if (!allowed.includes(value as V)) throw new ConfigError(`${WHAT}: ${field} must be ${allowed.map((a) => `'${a}'`).join(' or ')}, got ${show(value)}`);
    return value as V;
  };
  const positive = (field: keyof KafkaSinkOptions<T>, fallback: number): number => {
    const value = options[field];
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) throw new ConfigError(`${WHAT}: ${field} must be a positive integer, got ${show(value)}`);
    return value;
  };
  const exactlyOnce = oneOf('semantic', ['at-least-once', 'exactly-once'], 'at-least-once') === 'exactly-once';
  const transactionalId = options.transactionalId;
  if (transactionalId !== undefined) {
    if (typeof transactionalId !== 'string' || transactionalId.length === 0) throw new ConfigError(`${WHAT}: transactionalId must be a non-empty string, got ${show(transactionalId)}`);
    if (!exactlyOnce) throw new ConfigError(`${WHAT}: transactionalId needs semantic: 'exactly-once', got semantic ${show(options.semantic ?? 'at-least-once')}`);
  }
  const sendOffsetsOf = options.sendOffsetsOf === undefined ? [] : Array.isArray(options.sendOffsetsOf) ? options.sendOffsetsOf : [options.sendOffsetsOf];
  for (const s of sendOffsetsOf) {
    if (s === null || typeof s !== 'object' || typeof s.groupId !== 'string' || typeof s.barrierOffsets !== 'function') {
      throw new ConfigError(`${WHAT}: sendOffsetsOf must be Kafka sources (sources.kafka(...)), got ${show(s)}`);
    }
  }
  if (sendOffsetsOf.length > 0 && !exactlyOnce) throw new ConfigError(`${WHAT}: sendOffsetsOf needs semantic: 'exactly-once' (offsets are sent inside the transaction)`);
  if (options.traceContext !== undefined && typeof options.traceContext !== 'boolean') throw new ConfigError(`${WHAT}: traceContext must be a boolean, got ${show(options.traceContext)}`);
  const connection = options.connection ?? {};
  if (connection === null || typeof connection !== 'object') throw new ConfigError(`${WHAT}: connection must be an object of kafkajs settings, got ${show(connection)}`);
  for (const field of ['clientId', 'name'] as const) {
    const value = options[field];
    if (value !== undefined && (typeof value !== 'string' || value.length === 0)) throw new ConfigError(`${WHAT}: ${field} must be a non-empty string, got ${show(value)}`);
  }
  return {
    brokers: [...brokers],
    topic,
    key,
    value: fn('value') as Settings<T>['value'],
    serializer: toSerializer(options.format ?? 'json', 'format'),
    headers: fn('headers') as Settings<T>['headers'],
    traceContext: options.traceContext ?? true,
    partition: fn('partition') as Settings<T>['partition'],
    eventTime: oneOf('timestamp', ['event', 'now'], 'event') === 'event',
    gzip: oneOf('compression', ['none', 'gzip'], 'none') === 'gzip',
    exactlyOnce,
    transactionalId,
    transactionTimeoutMs: positive('transactionTimeoutMs', 60_000),
    sendOffsetsOf,
    maxInFlightBatches: positive('maxInFlightBatches', 4),
    clientId: options.clientId,
    connection,
    logLevel: oneOf('logLevel', ['nothing', 'error', 'warn', 'info', 'debug'], 'nothing'),
    name: options.name ?? 'kafka',
  };
}

type KafkaJs = typeof import('kafkajs');

/** What the writer learns about its transactional producer's session. */
interface ProducerSession {
  producerId: number;
  producerEpoch: number;
}

/** kafkajs error types that mean a transaction can no longer be committed by this session. */
const TXN_GONE = new Set(['PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH', 'INVALID_PRODUCER_ID_MAPPING', 'INVALID_TXN_STATE', 'UNKNOWN_PRODUCER_ID']);

/** The live writer of a {@link kafkaSink}. */
class KafkaSinkWriter<T> implements TransactionalWriter<T, KafkaSinkTxn> {
  readonly #s: Settings<T>;
  readonly #ctx: SinkContext;
  readonly #step: string;
  readonly #txnId: string | undefined;
  #kafkajs: KafkaJs | undefined;
  #kafka: KafkaClient | undefined;
  #producer: Producer | undefined;
  readonly #session: ProducerSession = { producerId: -1, producerEpoch: -1 };
  /** Exactly-once: the open transaction of the current checkpoint epoch. */
  #txn: Transaction | undefined;
  /** Exactly-once: the pre-committed transaction, waiting for commit or abort. */
  #sealed: { checkpointId: number; txn: Transaction } | undefined;
  /** Writes wait on this while a transaction is sealed. */
  #gate: { promise: Promise<void>; open: () => void } | undefined;
  /** Highest checkpoint id whose transaction is known committed. */
  #committed = -1;
  #records = 0;
  /** Exactly-once: a topic the open transaction wrote to (for its marker). */
  #markerTopic: string | undefined;
  #inFlight: Array<Promise<void>> = [];
  #error: WeirError | undefined;
  #closed = false;

  constructor(settings: Settings<T>, ctx: SinkContext) {
    this.#s = settings;
    this.#ctx = ctx;
    this.#step = ctx.name;
    this.#txnId = settings.exactlyOnce ? (settings.transactionalId ?? `${ctx.job}.${ctx.name}`) : undefined;
  }

  async start(): Promise<void> {
    const s = this.#s;
    const mod = (await import('kafkajs')) as KafkaJs & { default?: KafkaJs };
    const kafkajs = (mod.default ?? mod) as KafkaJs;
    this.#kafkajs = kafkajs;
    await s.serializer.prepare?.();
    const kafka = new kafkajs.Kafka({
      ...s.connection,
      brokers: s.brokers,
      clientId: s.clientId ?? `weir-${this.#ctx.job}-${this.#step}`,
      logLevel: { nothing: 0, error: 1, warn: 2, info: 4, debug: 5 }[s.logLevel],
    });
    this.#kafka = kafka;
    const restored = restoredTxn(this.#ctx.restored, this.#step);
    if (restored !== undefined) this.#committed = restored.checkpointId - 1;
    try {
      // Finish the restored checkpoint's transaction before our producer's InitProducerId would abort it.
      if (restored !== undefined && s.exactlyOnce) await this.#resumeCommit(restored);
      if (restored !== undefined) this.#committed = restored.checkpointId;
      if (this.#txnId !== undefined) captureProducerSession(kafka, this.#session, this.#step);
      const producer = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        transactionalId: this.#txnId,
        transactionTimeout: s.exactlyOnce ? s.transactionTimeoutMs : undefined,
        allowAutoTopicCreation: false,
        createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
      });
      this.#producer = producer;
      await producer.connect();
    } catch (err) {
      await this.#producer?.disconnect().catch(() => undefined);
      throw this.#external(`cannot start the producer on ${s.brokers.join(',')}`, err);
    }
  }

  write(batch: Batch<T>): void | Promise<void> {
    if (this.#error !== undefined) throw this.#error;
    if (batch.records.length === 0) return;
    if (this.#gate !== undefined) return this.#gate.promise.then(() => this.#send(batch));
    return this.#send(batch);
  }

  async preCommit(checkpointId: number): Promise<KafkaSinkTxn> {
    if (!(Number.isSafeInteger(checkpointId) && checkpointId >= 0)) {
      throw new CheckpointError(`sink "${this.#step}": checkpoint id must be a non-negative integer, got ${show(checkpointId)}`, { step: this.#step });
    }
    if (this.#gate !== undefined) await this.#gate.promise;
    await this.#drain();
    const records = this.#records;
    this.#records = 0;
    if (!this.#s.exactlyOnce) return { checkpointId, transactionalId: undefined, producerId: -1, producerEpoch: -1, records, offsets: [] };
    const offsets = this.#barrierOffsets();
    if (this.#txn === undefined && offsets.length === 0) {
      return { checkpointId, transactionalId: this.#txnId, producerId: -1, producerEpoch: -1, records: 0, offsets: [] };
    }
    const txn = this.#txn ?? (await this.#begin());
    // The checkpoint id, committed with the output: recovery reads it back to learn whether this
    // transaction happened (see #happened).
    const marker = { groupId: `weir.txn.${this.#txnId}`, topic: this.#markerTopic ?? offsets[0].topic };
    try {
      for (const group of groupOffsets(offsets)) await txn.sendOffsets(group);
      await txn.sendOffsets({ consumerGroupId: marker.groupId, topics: [{ topic: marker.topic, partitions: [{ partition: 0, offset: String(checkpointId) }] }] });
    } catch (err) {
      throw this.#external(`checkpoint ${checkpointId}: cannot add offsets to the transaction`, err);
    }
    this.#txn = undefined;
    this.#markerTopic = undefined;
    this.#sealed = { checkpointId, txn };
    let open!: () => void;
    this.#gate = { promise: new Promise<void>((resolve) => (open = resolve)), open };
    const { producerId, producerEpoch } = this.#session;
    return { checkpointId, transactionalId: this.#txnId, producerId, producerEpoch, records, offsets, marker };
  }

  async commit(txn: KafkaSinkTxn): Promise<void> {
    const t = checkTxn(txn, this.#step);
    const sealed = this.#sealed;
    if (sealed !== undefined && sealed.checkpointId === t.checkpointId) {
      try {
        await sealed.txn.commit();
      } catch (err) {
        throw this.#external(`commit of checkpoint ${t.checkpointId} failed`, err);
      }
      this.#committed = Math.max(this.#committed, t.checkpointId);
      this.#unseal();
      return;
    }
    // Already committed (a repeated commit, or the restored transaction finished in open()), or empty.
    if (t.checkpointId <= this.#committed || t.transactionalId === undefined || t.producerId < 0) return;
    await this.#resumeCommit(t);
    this.#committed = t.checkpointId;
  }

  async abort(txn: KafkaSinkTxn): Promise<void> {
    const t = checkTxn(txn, this.#step);
    const sealed = this.#sealed;
    // A transaction of an earlier process was aborted when our producer initialized (fencing).
    if (sealed === undefined || sealed.checkpointId !== t.checkpointId) return;
    try {
      await sealed.txn.abort();
    } catch (err) {
      throw this.#external(`abort of checkpoint ${t.checkpointId} failed`, err);
    } finally {
      this.#unseal();
    }
  }

  async flush(): Promise<void> {
    // End of input without checkpoints: make everything written visible now.
    if (this.#gate !== undefined) await this.#gate.promise;
    await this.#drain();
    const txn = this.#txn;
    this.#txn = undefined;
    if (txn !== undefined) {
      try {
        await txn.commit();
      } catch (err) {
        throw this.#external('commit at end of input failed', err);
      }
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled(this.#inFlight);
    // An open (not pre-committed) transaction belongs to no checkpoint: abort it. A sealed one is
    // left to the broker: it is either in a complete checkpoint (recovery commits it) or not
    // (the next producer with this id aborts it).
    const txn = this.#txn;
    this.#txn = undefined;
    if (txn !== undefined) await txn.abort().catch(() => undefined);
    this.#gate?.open();
    await this.#producer?.disconnect().catch(() => undefined);
  }

  // ---- sending ---------------------------------------------------------------------------

  #send(batch: Batch<T>): void | Promise<void> {
    // A write that waited for a commit that never came (the job failed and closed the writer).
    if (this.#closed) throw this.#error ?? new ConnectorError(this.#step, 'write after close', { retryable: false });
    const topicMessages = this.#messages(batch);
    if (this.#s.exactlyOnce && this.#txn === undefined) return this.#begin().then(() => this.#dispatch(topicMessages));
    return this.#dispatch(topicMessages);
  }

  #dispatch(topicMessages: TopicMessages[]): void | Promise<void> {
    const sender = this.#txn ?? this.#producer!;
    const compression = this.#s.gzip ? this.#kafkajs!.CompressionTypes.GZIP : this.#kafkajs!.CompressionTypes.None;
    const sent: Promise<void> = sender.sendBatch({ topicMessages, acks: -1, compression }).then(
      () => {
        this.#inFlight.splice(this.#inFlight.indexOf(sent), 1);
      },
      (err: unknown) => {
        this.#inFlight.splice(this.#inFlight.indexOf(sent), 1);
        this.#error ??= this.#external('produce failed', err);
      },
    );
    this.#inFlight.push(sent);
    // Pipelining: only wait when too many batches are unacknowledged (backpressure).
    if (this.#inFlight.length >= this.#s.maxInFlightBatches) {
      return this.#inFlight[0].then(() => {
        if (this.#error !== undefined) throw this.#error;
      });
    }
  }

  /** One message per record, grouped by topic. */
  #messages(batch: Batch<T>): TopicMessages[] {
    const s = this.#s;
    const records = batch.records;
    const timestamps = batch.timestamps;
    const now = String(Date.now());
    // Trace context of the batch (its sampled span, when tracing is on): computed once per batch.
    let batchTrace: Record<string, string> | undefined;
    if (s.traceContext) {
      const carrier = injectContext({} as Record<string, string>);
      if (Object.keys(carrier).length > 0) batchTrace = carrier;
    }
    const byTopic = typeof s.topic === 'string' ? undefined : new Map<string, Message[]>();
    const single: Message[] = [];
    for (let i = 0; i < records.length; i++) {
      const record = records[i];
      let message: Message;
      try {
        const raw = s.value === undefined ? record : s.value(record);
        const value = s.serializer.serialize(raw);
        message = { value };
        if (s.key !== undefined) {
          const k = s.key(record);
          if (k !== null && k !== undefined) message.key = typeof k === 'number' ? String(k) : k;
        }
        if (s.partition !== undefined) message.partition = s.partition(record);
        let headers: Record<string, string | Buffer> | undefined = s.headers?.(record);
        if (s.traceContext) {
          const own = recordHeaders(record);
          if (own !== undefined && hasTraceContext(own)) {
            headers = injectContext({ ...headers } as Record<string, string | Buffer>, extractContext(own));
          } else if (batchTrace !== undefined) {
            headers = headers === undefined ? batchTrace : { ...headers, ...batchTrace };
          }
        }
        if (headers !== undefined) message.headers = headers;
        const t = timestamps[i];
        message.timestamp = s.eventTime && Number.isFinite(t) ? String(Math.trunc(t)) : now;
        if (byTopic !== undefined) {
          const topic = (s.topic as (record: T) => string)(record);
          if (typeof topic !== 'string' || topic.length === 0) throw new TypeError(`topic must be a non-empty string, got ${show(topic)}`);
          let list = byTopic.get(topic);
          if (list === undefined) byTopic.set(topic, (list = []));
          list.push(message);
        } else {
          single.push(message);
        }
      } catch (err) {
        throw new RecordError(this.#step, `cannot encode record ${show(record)}: ${describe(err)}`, err);
      }
    }
    this.#records += records.length;
    const out = byTopic === undefined ? [{ topic: s.topic as string, messages: single }] : [...byTopic].map(([topic, messages]) => ({ topic, messages }));
    this.#markerTopic ??= out[0]?.topic;
    return out;
  }

  async #begin(): Promise<Transaction> {
    try {
      this.#txn = await this.#producer!.transaction();
      return this.#txn;
    } catch (err) {
      throw this.#external('cannot begin a transaction', err);
    }
  }

  async #drain(): Promise<void> {
    while (this.#inFlight.length > 0) await Promise.allSettled(this.#inFlight);
    if (this.#error !== undefined) throw this.#error;
  }

  #unseal(): void {
    this.#sealed = undefined;
    const gate = this.#gate;
    this.#gate = undefined;
    gate?.open();
  }

  #barrierOffsets(): Array<{ groupId: string; topic: string; partition: number; offset: number }> {
    const out: Array<{ groupId: string; topic: string; partition: number; offset: number }> = [];
    for (const source of this.#s.sendOffsetsOf) {
      for (const o of source.barrierOffsets(this.#ctx.job, this.#ctx.task) ?? []) out.push({ groupId: source.groupId, ...o });
    }
    return out;
  }

  // ---- recovery --------------------------------------------------------------------------

  /**
   * Finish a transaction of an earlier producer session (the restored checkpoint's). If the
   * committed group offsets show it happened (its checkpoint marker, or the source offsets it
   * carried), nothing is left to do. Otherwise it is committed with EndTxn(commit) for its
   * producer id and epoch: kafkajs has no public call for that, so its cluster client is used (see
   * {@link privateCluster}). When the broker refuses, the transaction was aborted (it outlived
   * `transactionTimeoutMs`, or another producer took the id) and its output is lost: fail, naming
   * the checkpoint to resume from.
   */
  async #resumeCommit(t: KafkaSinkTxn): Promise<void> {
    if (t.transactionalId === undefined || t.producerId < 0 || (t.records === 0 && t.offsets.length === 0)) return;
    if (await this.#happened(t)) return;
    const cluster = privateCluster(this.#kafka!, this.#step);
    try {
      await cluster.connect();
      const coordinator = await cluster.findGroupCoordinator({ groupId: t.transactionalId, coordinatorType: 1 });
      await coordinator.endTxn({ transactionalId: t.transactionalId, producerId: t.producerId, producerEpoch: t.producerEpoch, transactionResult: true });
    } catch (err) {
      const type = (err as { type?: string }).type;
      if (type === undefined || !TXN_GONE.has(type)) throw this.#external(`cannot commit the transaction of restored checkpoint ${t.checkpointId}`, err);
      throw new ConnectorError(
        this.#step,
        `the transaction of restored checkpoint ${t.checkpointId} (transactional id ${show(t.transactionalId)}, ${t.records} records) ` +
          `can no longer be committed (${type}): the broker aborted it (it outlived transactionTimeoutMs = ${this.#s.transactionTimeoutMs}) ` +
          `or another producer took the id. Its output is lost; resume from the checkpoint before it (--from ${t.checkpointId - 1}) ` +
          `to write it again, and raise transactionTimeoutMs above the checkpoint interval plus restart time`,
        { cause: err, retryable: false },
      );
    } finally {
      await cluster.disconnect().catch(() => undefined);
    }
  }

  /**
   * True when the committed group offsets show that transaction `t` was committed: its marker
   * group holds its checkpoint id or more, or every source offset it carried was committed
   * (which, for partitions another process took over, also means that process redid the output).
   */
  async #happened(t: KafkaSinkTxn): Promise<boolean> {
    const checks: Array<{ groupId: string; topic: string; partition: number; offset: number }> = [];
    if (t.marker !== undefined) checks.push({ groupId: t.marker.groupId, topic: t.marker.topic, partition: 0, offset: t.checkpointId });
    const admin: Admin = this.#kafka!.admin();
    try {
      await admin.connect();
      const committed = async (group: { consumerGroupId: string; topics: Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }> }) => {
        const found = new Map<string, number>();
        for (const x of await admin.fetchOffsets({ groupId: group.consumerGroupId, topics: group.topics.map((y) => y.topic) })) {
          for (const p of x.partitions) found.set(`${x.topic}:${p.partition}`, Number(p.offset));
        }
        return group.topics.every((x) => x.partitions.every((p) => (found.get(`${x.topic}:${p.partition}`) ?? -1) >= Number(p.offset)));
      };
      for (const group of groupOffsets(checks)) if (await committed(group)) return true;
      if (t.offsets.length === 0) return false;
      for (const group of groupOffsets(t.offsets)) if (!(await committed(group))) return false;
      return true;
    } catch (err) {
      throw this.#external(`cannot read committed offsets to recover checkpoint ${t.checkpointId}`, err);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  #external(message: string, cause: unknown): WeirError {
    if (cause instanceof WeirError) return cause;
    return new ConnectorError(this.#step, `${message}: ${describe(cause)}`, { cause });
  }
}

/** Offsets grouped as kafkajs' sendOffsets takes them: one entry per consumer group. */
function groupOffsets(
  offsets: ReadonlyArray<{ groupId: string; topic: string; partition: number; offset: number }>,
): Array<{ consumerGroupId: string; topics: Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }> }> {
  const groups = new Map<string, Map<string, Array<{ partition: number; offset: string }>>>();
  for (const o of offsets) {
    let topics = groups.get(o.groupId);
    if (topics === undefined) groups.set(o.groupId, (topics = new Map()));
    let partitions = topics.get(o.topic);
    if (partitions === undefined) topics.set(o.topic, (partitions = []));
    partitions.push({ partition: o.partition, offset: String(o.offset) });
  }
  return [...groups].map(([consumerGroupId, topics]) => ({ consumerGroupId, topics: [...topics].map(([topic, partitions]) => ({ topic, partitions })) }));
}

/** The transaction handed in on restore (what `preCommit` returned), checked. */
function restoredTxn(restored: unknown, step: string): KafkaSinkTxn | undefined {
  if (restored === undefined || restored === null) return undefined;
  return checkTxn(restored, step);
}

function checkTxn(value: unknown, step: string): KafkaSinkTxn {
  const t = value as KafkaSinkTxn;
  const ok =
    t !== null &&
    typeof t === 'object' &&
    Number.isSafeInteger(t.checkpointId) &&
    (t.transactionalId === undefined || typeof t.transactionalId === 'string') &&
    Number.isSafeInteger(t.producerId) &&
    Number.isSafeInteger(t.producerEpoch) &&
    Number.isSafeInteger(t.records) &&
    Array.isArray(t.offsets) &&
    (t.marker === undefined || (typeof t.marker.groupId === 'string' && typeof t.marker.topic === 'string'));
  if (!ok) throw new CheckpointError(`sink "${step}": not a Kafka sink transaction: ${show(value)}`, { step });
  return t;
}

// ---- kafkajs internals -----------------------------------------------------------------------
//
// Exactly-once recovery needs two things kafkajs 2.2.4 does not expose: the producer id and epoch
// of its transactional session (stored in the checkpoint), and an EndTxn request for a session
// that is not its own (to commit the restored checkpoint's transaction). Both go through the
// cluster client a Kafka instance creates for each producer, reached by its private symbol.

/** The parts of kafkajs' internal cluster and broker clients used here. */
interface InternalBroker {
  initProducerId(request: { transactionalId?: string; transactionTimeout?: number }): Promise<{ producerId: number | string; producerEpoch: number }>;
  endTxn(request: { transactionalId: string; producerId: number; producerEpoch: number; transactionResult: boolean }): Promise<unknown>;
}
interface InternalCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  findGroupCoordinator(request: { groupId: string; coordinatorType: number }): Promise<InternalBroker>;
}
type CreateCluster = (options: Record<string, unknown>) => InternalCluster;

function clusterFactory(kafka: KafkaClient, step: string): { symbol: symbol; create: CreateCluster } {
  const symbol = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  const create = symbol === undefined ? undefined : (kafka as unknown as Record<symbol, unknown>)[symbol];
  if (symbol === undefined || typeof create !== 'function') {
    throw new ConnectorError(step, 'exactly-once needs kafkajs 2.2.x (its internal cluster client was not found)', { retryable: false });
  }
  return { symbol, create: create as CreateCluster };
}

/** A cluster client of its own (for EndTxn), built like the producers' ones. */
function privateCluster(kafka: KafkaClient, step: string): InternalCluster {
  return clusterFactory(kafka, step).create({});
}

/**
 * Make the next producer of `kafka` report its transactional session into `session`: the
 * transaction coordinator's InitProducerId answer is copied as it arrives.
 */
function captureProducerSession(kafka: KafkaClient, session: ProducerSession, step: string): void {
  const { symbol, create } = clusterFactory(kafka, step);
  (kafka as unknown as Record<symbol, CreateCluster>)[symbol] = (options) => {
    const cluster = create(options);
    const find = cluster.findGroupCoordinator.bind(cluster);
    cluster.findGroupCoordinator = async (request) => {
      const broker = await find(request);
      if (request.coordinatorType === 1 && !(WRAPPED in broker)) {
        const init = broker.initProducerId.bind(broker);
        Object.defineProperty(broker, WRAPPED, { value: true });
        broker.initProducerId = async (r) => {
          const result = await init(r);
          session.producerId = Number(result.producerId);
          session.producerEpoch = result.producerEpoch;
          return result;
        };
      }
      return broker;
    };
    return cluster;
  };
}

const WRAPPED = Symbol('weir:kafka-session-captured');
