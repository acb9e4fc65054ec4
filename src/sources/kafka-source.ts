import type { Admin, Consumer, EachBatchPayload, Kafka as KafkaClient, KafkaConfig, KafkaMessage } from 'kafkajs';
import type { DeadLetter } from '../runtime/error-policy.js';
import { AbortedError, ConfigError, ConnectorError, WeirError, describe, show } from '../runtime/errors.js';
import type { Source, SourceChunk, SourceContext, SourceProgress, SourceReader } from '../runtime/source.js';
import type { TaskGroup, TaskGroupContext, TaskSource } from '../runtime/task-source.js';
import { MissingSchemaError, toDeserializer, type KafkaDeserializer, type KafkaFormat } from './kafka-deserializers.js';
import { RepartitionReader, ensureRepartitionTopics, repartitionSink, repartitionTopic, restoredOffsets } from './kafka-repartition.js';
import { stickyAssigner, type TopicPartition, type assignSticky } from './kafka-sticky-assignor.js';
import { taskAssigner } from './kafka-task-assignor.js';

/** A record read from Kafka. */
export interface KafkaRecord<V = unknown, K = unknown> {
  readonly topic: string;
  readonly partition: number;
  /** The record's offset in its partition (a JS number: exact below 2^53). */
  readonly offset: number;
  /** Deserialized key; `null` when the record has none. */
  readonly key: K | null;
  /** Deserialized value; `null` for a tombstone. */
  readonly value: V | null;
  /** Headers, UTF-8 decoded (`headers: 'raw'` keeps Buffers); a repeated header is an array. */
  readonly headers: Readonly<Record<string, KafkaHeaderValue>>;
  /** The record's Kafka timestamp (create or log-append time) in ms since the epoch. */
  readonly timestamp: number;
}

/** A header value as {@link KafkaRecord.headers} exposes it. */
export type KafkaHeaderValue = string | Buffer | Array<string | Buffer>;

/** The source's checkpointed position: the next offset to read, per `"topic:partition"`. */
export type KafkaSourcePosition = Record<string, number>;

/** Connection settings passed through to kafkajs (TLS, SASL, timeouts, retries). */
export type KafkaConnectionOptions = Pick<KafkaConfig, 'ssl' | 'sasl' | 'connectionTimeout' | 'authenticationTimeout' | 'requestTimeout' | 'retry'>;

/** kafkajs's own log output, which goes to the console. */
export type KafkaLogLevel = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

/** Options of {@link kafkaSource}. */
export interface KafkaSourceOptions {
  /** Bootstrap brokers, `host:port`. */
  brokers: string[];
  /** The topic to read (or `topics`). */
  topic?: string;
  /** Several topics to read (or `topic`). */
  topics?: string[];
  /**
   * Consumer group. Processes running the same job with the same group split the partitions;
   * checkpointed offsets are also committed to it, so lag tools see progress.
   */
  groupId: string;
  /** kafkajs client id. Default `weir-<job>-<step>`. */
  clientId?: string;
  /** How values are decoded: `'json'` (default), `'string'`, `'raw'` (Buffer) or a deserializer (e.g. `avroDeserializer`). */
  value?: KafkaFormat;
  /** How keys are decoded. Default `'string'`. */
  key?: KafkaFormat;
  /** Header values as UTF-8 strings (default) or raw Buffers. */
  headers?: 'string' | 'raw';
  /**
   * Read up to the end offsets the partitions have when the source opens, then end (for batch
   * jobs and tests). Default false: read forever.
   */
  bounded?: boolean;
  /** Where to start a partition that has neither a checkpointed nor a committed offset. Default `'earliest'`. */
  startFrom?: 'earliest' | 'latest';
  /** Commit the offsets of each completed checkpoint to the group (for lag tools and takeover). Default true. */
  commitOffsets?: boolean;
  /** Skip records of aborted transactions (default) or read everything. */
  isolationLevel?: 'read_committed' | 'read_uncommitted';
  /** Records fetched ahead of the pipeline per partition; beyond it the partition is paused (backpressure). Default 10,000. */
  maxBufferedRecords?: number;
  /** How long a read waits for data before returning an empty chunk (so barriers and idleness move on). Default 100 ms. */
  pollTimeoutMs?: number;
  /** Group session timeout. Default 30,000 ms (kafkajs). */
  sessionTimeoutMs?: number;
  /** Heartbeat interval. Default 3,000 ms (kafkajs). */
  heartbeatIntervalMs?: number;
  /** How long the group waits for members to rejoin during a rebalance. Default 60,000 ms (kafkajs). */
  rebalanceTimeoutMs?: number;
  /** Longest time the broker holds a fetch waiting for data. Default 5,000 ms (kafkajs). */
  maxWaitMs?: number;
  /** Most bytes fetched per partition per request. Default 1 MiB (kafkajs). */
  maxBytesPerPartition?: number;
  /** TLS, SASL, timeouts, retries: passed to kafkajs. */
  connection?: KafkaConnectionOptions;
  /** kafkajs's console logging. Default `'nothing'`: failures surface as job errors. */
  logLevel?: KafkaLogLevel;
  /** Step name. Default `'kafka'`. */
  name?: string;
}

/** A Kafka source: a {@link Source} that can also tell which offsets its last barrier covered. */
export interface KafkaSource<V = unknown, K = unknown> extends TaskSource<KafkaRecord<V, K>> {
  /** The consumer group (a transactional Kafka sink sends offsets to it). */
  readonly groupId: string;
  /**
   * The offsets the latest checkpoint barrier of job `job` covered (what `position()` returned),
   * restricted to the partitions this process owns; `undefined` before the first barrier. The
   * exactly-once Kafka sink sends them with its transaction (`sendOffsetsOf`). In a scaled-out
   * job, those of task `task`.
   */
  barrierOffsets(job: string, task?: string): Array<{ topic: string; partition: number; offset: number }> | undefined;
}

const WHAT = 'sources.kafka';
const DEFAULTS = { maxBufferedRecords: 10_000, pollTimeoutMs: 100 };
/** Longest wait in close() for the completion of a checkpoint whose barrier already passed. */
const CLOSE_WAIT_MS = 30_000;
/** How long a refused group-offset commit is retried, and how often. */
const COMMIT_PATIENCE_MS = 30_000;
const COMMIT_RETRY_MS = 200;
/** Longest raw value kept in a dead letter. */
const MAX_DEAD_LETTER_CHARS = 64 * 1024;
const NO_HEADERS: Readonly<Record<string, KafkaHeaderValue>> = Object.freeze({});

/**
 * Read records from Kafka topics with kafkajs (imported when the source opens).
 *
 * **Positions and exactly-once.** The position is `{ "topic:partition": nextOffset }` for the
 * partitions this process owns. On restore, each partition resumes right after its checkpointed
 * offset, or at the group's committed offset when that is further (another process of the job
 * went on with it meanwhile; to reprocess, reset the group's offsets or use a new group). A
 * partition with neither starts at `startFrom`. After a checkpoint completes (its sinks
 * committed), its offsets are committed to the group, retried through rebalances before the next
 * checkpoint can start, so lag tools see progress and a process taking over a partition starts
 * where the last completed checkpoint of its previous owner ended. With a transactional sink, a
 * Kafka → file or Kafka → PostgreSQL job is exactly-once.
 *
 * **Splits and event time.** Every chunk holds records of one partition and names it as its split
 * (`"topic:partition"`), so the runtime tracks a watermark per partition and emits the minimum over
 * partitions that are not idle (the watermark strategy's `idleMs`). Every newly assigned partition
 * is announced with an empty chunk before any data is handed out: it holds the watermark back
 * until it delivers data or goes idle. Chunks carry the records' Kafka timestamps; `.source(src,
 * { timestamp })` overrides them (`timestamp: 'timestamp'` uses them with a watermark strategy).
 *
 * **Scaling out.** Processes started with the same `groupId` split the partitions, with a sticky
 * assignor ({@link assignSticky}): a member keeps its partitions across rebalances when balance
 * allows, and gives up partitions with nothing in flight first. With `scaleOut` (the job's
 * `TaskJob`) the process runs one task per partition number, each reading through a
 * {@link KafkaTaskReader} that starts at the task's own checkpoint; a partition given up is handed
 * over with a savepoint of its task, and a killed process's tasks resume from their last
 * checkpoints, so nothing is lost or repeated. Without `scaleOut` a process resumes partitions it
 * takes over at the group offsets (its previous owner's last completed checkpoint), which repeats
 * one checkpoint's records if that owner died between its sinks' commit and its offset commit,
 * and keyed state does not move: losing a partition with records in flight then fails the job.
 *
 * **Bounded mode** reads each partition up to the end offset it had when the source opened.
 *
 * Records that cannot be deserialized go to the source's dead-letter output with topic, partition
 * and offset; they never stop the job. `read` never busy-waits: with nothing buffered it waits up
 * to `pollTimeoutMs` for data (honouring the context's signal), then returns an empty chunk. At
 * most `maxBufferedRecords` per partition are fetched ahead; beyond, the partition is paused.
 * On a graceful stop or at end of input, `close` waits for the last checkpoint's completion (and
 * its offset commit) before leaving the group.
 *
 * @example
 * ```ts
 * await pipeline('clicks')
 *   .source(sources.kafka({ brokers: ['localhost:9092'], topic: 'clicks', groupId: 'clicks-job' }), {
 *     timestamp: 'timestamp',
 *     watermark: watermarks.boundedOutOfOrderness(2000, { idleMs: 10_000 }),
 *   })
 *   .map((r) => r.value)
 *   .sink(sinks.file({ dir: 'out', format: 'jsonl' }))
 *   .run({ checkpointInterval: 10_000 });
 * ```
 */
export function kafkaSource<V = unknown, K = string>(options: KafkaSourceOptions): KafkaSource<V, K> {
  const settings = validate(options);
  /** The live reader of each job (and task, in a scaled-out job) in this process (for `barrierOffsets`). */
  const live = new Map<string, { barrierOffsets(): Array<{ topic: string; partition: number; offset: number }> | undefined }>();
  const register = (key: string, reader: KafkaReader<V, K> | KafkaTaskReader<V, K>): void => {
    live.set(key, reader);
    reader.onClose = () => {
      if (live.get(key) === reader) live.delete(key);
    };
  };
  return {
    name: settings.name,
    bounded: settings.bounded,
    replayable: true,
    groupId: settings.groupId,
    async open(ctx: SourceContext) {
      const reader = new KafkaReader<V, K>(settings, ctx);
      await reader.start();
      register(ctx.job, reader);
      return reader;
    },
    async joinTasks(ctx: TaskGroupContext): Promise<TaskGroup<KafkaRecord<V, K>>> {
      const exchanges = (ctx.exchanges ?? []).map((step) => ({ step, topic: repartitionTopic(ctx.job, step) }));
      const member = new KafkaReader<V, K>(settings, { ...ctx, restored: undefined }, (tasks) => ctx.assigned(tasks), exchanges);
      await member.start();
      const tasks = () => Array.from({ length: member.partitionCount }, (_, n) => String(n));
      return {
        task: (id) => ({
          name: settings.name,
          bounded: settings.bounded,
          replayable: true,
          open: (taskCtx: SourceContext) => {
            const reader = new KafkaTaskReader<V, K>(member, id, taskCtx, settings.topics);
            register(`${ctx.job}\u0000${id}`, reader);
            return reader;
          },
        }),
        exchange: (step, id, key) => {
          const topic = repartitionTopic(ctx.job, step);
          if (!exchanges.some((e) => e.topic === topic)) throw new ConfigError(`${WHAT}: step "${step}" was not announced as an exchange when the group was joined`);
          return {
            source: {
              name: step,
              bounded: false,
              replayable: true,
              open: (taskCtx: SourceContext) => {
                const inner = new KafkaTaskReader<Buffer, Buffer>(member as unknown as KafkaReader<Buffer, Buffer>, id, { ...taskCtx, restored: restoredOffsets(taskCtx.restored, step) }, [topic]);
                return new RepartitionReader(inner, taskCtx.restored, tasks(), step);
              },
            },
            sink: repartitionSink(
              { brokers: settings.brokers, clientId: settings.clientId, connection: settings.connection, logLevel: settings.logLevel },
              topic,
              member.partitionCount,
              id,
              key,
            ),
          };
        },
        close: () => member.close(),
      };
    },
    barrierOffsets(job: string, task?: string) {
      return live.get(task === undefined ? job : `${job}\u0000${task}`)?.barrierOffsets();
    },
  };
}

interface Settings {
  readonly brokers: string[];
  readonly topics: string[];
  readonly groupId: string;
  readonly clientId: string | undefined;
  readonly value: KafkaDeserializer;
  readonly key: KafkaDeserializer;
  readonly rawHeaders: boolean;
  readonly bounded: boolean;
  readonly earliest: boolean;
  readonly commitOffsets: boolean;
  readonly readUncommitted: boolean;
  readonly maxBufferedRecords: number;
  readonly pollTimeoutMs: number;
  readonly sessionTimeoutMs: number | undefined;
  readonly heartbeatIntervalMs: number | undefined;
  readonly rebalanceTimeoutMs: number | undefined;
  readonly maxWaitMs: number | undefined;
  readonly maxBytesPerPartition: number | undefined;
  readonly connection: KafkaConnectionOptions;
  readonly logLevel: KafkaLogLevel;
  readonly name: string;
}

function validate(options: KafkaSourceOptions): Settings {
  if (options === null || typeof options !== 'object') throw new ConfigError(`${WHAT}: options must be an object, got ${show(options)}`);
  const { brokers, topic, topics, groupId } = options;
  if (!Array.isArray(brokers) || brokers.length === 0 || !brokers.every((b) => typeof b === 'string' && /^[^:\s]+:\d+$/.test(b))) {
    throw new ConfigError(`${WHAT}: brokers must be a non-empty array of "host:port" strings, got ${show(brokers)}`);
  }
  if ((topic === undefined) === (topics === undefined)) {
    throw new ConfigError(`${WHAT}: give exactly one of topic or topics, got topic ${show(topic)} and topics ${show(topics)}`);
  }
  const list = topic === undefined ? topics : [topic];
  if (!Array.isArray(list) || list.length === 0 || !list.every((t) => typeof t === 'string' && /^[A-Za-z0-9._-]+$/.test(t))) {
    throw new ConfigError(`${WHAT}: ${topic === undefined ? 'topics must be a non-empty array of topic names' : 'topic must be a topic name'} (letters, digits, '.', '_', '-'), got ${show(topic ?? topics)}`);
  }
  if (new Set(list).size !== list.length) throw new ConfigError(`${WHAT}: topics must not repeat a topic, got ${show(topics)}`);
  if (typeof groupId !== 'string' || groupId.length === 0) throw new ConfigError(`${WHAT}: groupId must be a non-empty string, got ${show(groupId)}`);
  const optionalString = (field: 'clientId' | 'name'): string | undefined => {
    const value = options[field];
    if (value !== undefined && (typeof value !== 'string' || value.length === 0)) throw new ConfigError(`${WHAT}: ${field} must be a non-empty string, got ${show(value)}`);
    return value;
  };
  const positive = (field: keyof KafkaSourceOptions, fallback: number | undefined): number | undefined => {
    const value = options[field];
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) throw new ConfigError(`${WHAT}: ${field} must be a positive integer, got ${show(value)}`);
    return value;
  };
  const oneOf = <T extends string>(field: keyof KafkaSourceOptions, allowed: readonly T[], fallback: T): T => {
    const value = options[field];
    if (value === undefined) return fallback;
    if (!allowed.includes(value as T)) throw new ConfigError(`${WHAT}: ${field} must be ${allowed.map((a) => `'${a}'`).join(' or ')}, got ${show(value)}`);
    return value as T;
  };
  for (const field of ['bounded', 'commitOffsets'] as const) {
    if (options[field] !== undefined && typeof options[field] !== 'boolean') throw new ConfigError(`${WHAT}: ${field} must be a boolean, got ${show(options[field])}`);
  }
  const connection = options.connection ?? {};
  if (connection === null || typeof connection !== 'object') throw new ConfigError(`${WHAT}: connection must be an object of kafkajs settings, got ${show(connection)}`);
  const sessionTimeoutMs = positive('sessionTimeoutMs', undefined);
  const heartbeatIntervalMs = positive('heartbeatIntervalMs', undefined);
  if (heartbeatIntervalMs !== undefined && heartbeatIntervalMs >= (sessionTimeoutMs ?? 30_000)) {
    throw new ConfigError(`${WHAT}: heartbeatIntervalMs must be less than sessionTimeoutMs (${sessionTimeoutMs ?? 30_000}), got ${heartbeatIntervalMs}`);
  }
  return {
    brokers: [...brokers],
    topics: [...list],
    groupId,
    clientId: optionalString('clientId'),
    value: toDeserializer(options.value ?? 'json', 'value'),
    key: toDeserializer(options.key ?? 'string', 'key'),
    rawHeaders: oneOf('headers', ['string', 'raw'], 'string') === 'raw',
    bounded: options.bounded ?? false,
    earliest: oneOf('startFrom', ['earliest', 'latest'], 'earliest') === 'earliest',
    commitOffsets: options.commitOffsets ?? true,
    readUncommitted: oneOf('isolationLevel', ['read_committed', 'read_uncommitted'], 'read_committed') === 'read_uncommitted',
    maxBufferedRecords: positive('maxBufferedRecords', DEFAULTS.maxBufferedRecords)!,
    pollTimeoutMs: positive('pollTimeoutMs', DEFAULTS.pollTimeoutMs)!,
    sessionTimeoutMs,
    heartbeatIntervalMs,
    rebalanceTimeoutMs: positive('rebalanceTimeoutMs', undefined),
    maxWaitMs: positive('maxWaitMs', undefined),
    maxBytesPerPartition: positive('maxBytesPerPartition', undefined),
    connection: connection,
    logLevel: oneOf('logLevel', ['nothing', 'error', 'warn', 'info', 'debug'], 'nothing'),
    name: optionalString('name') ?? 'kafka',
  };
}

/** Decoded records of one fetched batch, waiting to be read. */
interface Pending {
  readonly records: KafkaRecord[];
  readonly timestamps: number[];
  /** Offset of each record (to resume mid-chunk). */
  readonly offsets: number[];
  readonly deadLetters: DeadLetter[] | undefined;
  /** Next offset once the whole chunk is read (past trailing control records). */
  readonly nextOffset: number;
  /** Records already handed out from the front. */
  taken: number;
}

/** What one task reader of a scaled-out job reads: partition `partition` of `topics`. */
interface TaskScope {
  readonly partition: number;
  readonly topics: ReadonlySet<string>;
  /** Offset after the last record handed out, per `"topic:partition"` (the reader's position). */
  readonly position: Map<string, number>;
}

/** One assigned partition. */
interface Partition {
  readonly key: string;
  readonly topic: string;
  readonly partition: number;
  /** False until the start offset is known and the consumer was pointed at it. */
  ready: boolean;
  /** Next offset to hand out (the position). */
  emitted: number;
  /** Next offset to buffer: earlier offsets fetched again (after a rebalance or seek) are dropped. */
  fetched: number;
  /** Offset last committed to the group by this process (or the start offset). */
  committed: number;
  /** Bounded mode: the end offset (exclusive). */
  end: number | undefined;
  /** Offset the partition started at in this run (for progress). */
  start: number;
  readonly queue: Pending[];
  buffered: number;
  /** Announced to the runtime as a split (empty chunk). */
  announced: boolean;
  paused: boolean;
}

type KafkaJs = typeof import('kafkajs');

/** The live reader of a {@link kafkaSource}. */
class KafkaReader<V, K> implements SourceReader<KafkaRecord<V, K>> {
  onClose: (() => void) | undefined;
  readonly #s: Settings;
  readonly #ctx: SourceContext;
  readonly #step: string;
  /** Checkpointed positions to resume from; dropped for partitions not assigned at the first assignment. */
  #restored: Map<string, number>;
  readonly #parts = new Map<string, Partition>();
  /** Partitions in the order reads visit them (round robin). */
  #order: Partition[] = [];
  #next = 0;
  #kafkajs: KafkaJs | undefined;
  #client: KafkaClient | undefined;
  #consumer: Consumer | undefined;
  /** When the consumer was recreated after kafkajs gave up (see #join). */
  #restarts: number[] = [];
  #admin: Admin | undefined;
  #assignedOnce = false;
  /** Bounded mode: end offset per partition, from when the source opened. */
  #ends = new Map<string, number>();
  #failure: Error | undefined;
  /** Reads waiting for data (one per task in a scaled-out job). */
  readonly #wakers = new Set<() => void>();
  /** Scaled-out job: told the tasks (partition numbers) this member holds after each assignment. */
  readonly #onTasks: ((tasks: string[]) => void) | undefined;
  /**
   * Scaled-out job: the partitions (`"topic:partition"`) of the tasks' open readers, with each
   * one's restored offset (authoritative) or undefined.
   */
  readonly #openParts = new Map<string, number | undefined>();
  /** Scaled-out job: repartition topics, read by tasks too (raw, unbounded, from the earliest offset). */
  readonly #exchanges: ReadonlyArray<{ step: string; topic: string }>;
  readonly #exchangeTopics: ReadonlySet<string>;
  /** Scaled-out job with repartition topics: the partition count of the source (and repartition) topics. */
  partitionCount = 0;
  /** What the latest `position()` returned, until its checkpoint completes. */
  #barrier: KafkaSourcePosition | undefined;
  #lastBarrier: KafkaSourcePosition | undefined;
  #barrierDone: (() => void) | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #read = 0;
  /** Generation of assignments: async start-offset lookups of an older one are discarded. */
  #generation = 0;

  constructor(settings: Settings, ctx: SourceContext, onTasks?: (tasks: string[]) => void, exchanges: ReadonlyArray<{ step: string; topic: string }> = []) {
    this.#s = settings;
    this.#exchanges = exchanges;
    this.#exchangeTopics = new Set(exchanges.map((e) => e.topic));
    this.#ctx = ctx;
    this.#onTasks = onTasks;
    this.#step = ctx.name;
    this.#restored = parsePosition(ctx.restored, ctx.name);
  }

  async start(): Promise<void> {
    const s = this.#s;
    const mod = (await import('kafkajs')) as KafkaJs & { default?: KafkaJs };
    const kafkajs = (mod.default ?? mod) as KafkaJs;
    await s.value.prepare?.();
    await s.key.prepare?.();
    const client = new kafkajs.Kafka({
      ...s.connection,
      brokers: s.brokers,
      clientId: s.clientId ?? `weir-${this.#ctx.job}-${this.#step}`,
      logLevel: kafkaLogLevel(kafkajs, s.logLevel),
    });
    this.#client = client;
    this.#kafkajs = kafkajs;
    const admin = client.admin();
    this.#admin = admin;
    try {
      await admin.connect();
      if (s.bounded) {
        for (const topic of s.topics) {
          for (const p of await admin.fetchTopicOffsets(topic)) this.#ends.set(`${topic}:${p.partition}`, Number(p.high));
        }
      }
      if (this.#exchanges.length > 0) this.partitionCount = await ensureRepartitionTopics(admin, this.#ctx.job, s.topics, this.#exchanges);
      await this.#join();
    } catch (err) {
      await this.#disconnect();
      throw this.#external(`cannot connect to ${s.brokers.join(',')}`, err);
    }
  }

  /** Create a consumer, join the group and start fetching (reads wait for the assignment). */
  async #join(): Promise<void> {
    const s = this.#s;
    const consumer = this.#client!.consumer({
      groupId: s.groupId,
      sessionTimeout: s.sessionTimeoutMs,
      heartbeatInterval: s.heartbeatIntervalMs,
      rebalanceTimeout: s.rebalanceTimeoutMs,
      maxWaitTimeInMs: s.maxWaitMs,
      maxBytesPerPartition: s.maxBytesPerPartition,
      readUncommitted: s.readUncommitted,
      allowAutoTopicCreation: false,
      // Sticky: a rejoin keeps partitions where they are (round robin as a fallback for mixed groups).
      // Scaled out: all partitions of a task (partition n of every topic) go to one member.
      partitionAssigners: [
        ...(this.#onTasks === undefined ? [] : [taskAssigner(this.#kafkajs!, () => this.#claims())]),
        stickyAssigner(this.#kafkajs!, () => this.#claims()),
        this.#kafkajs!.PartitionAssigners.roundRobin,
      ],
    });
    this.#consumer = consumer;
    const current = () => this.#consumer === consumer && !this.#closed;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      if (current()) this.#onAssignment(e.payload.memberAssignment);
    });
    consumer.on(consumer.events.START_BATCH_PROCESS, (e) => {
      // A fetch holding only control records or aborted data never reaches eachBatch: still move past it.
      if (current() && e.payload.batchSize === 0) this.#skipTo(e.payload.topic, e.payload.partition, Number(e.payload.lastOffset) + 1);
    });
    consumer.on(consumer.events.CRASH, (e) => {
      if (!current() || e.payload.restart) return;
      const error = e.payload.error;
      // kafkajs gives up on protocol errors it deems fatal, some of which a group can return
      // during a rebalance race; a new member joining again is safe: the assignment is checked
      // like any other (records in flight for a partition that moved still fail the job).
      const recent = this.#restarts.filter((t) => Date.now() - t < 60_000);
      if (isGroupMembershipError(error) && recent.length < 5) {
        this.#restarts = [...recent, Date.now()];
        setTimeout(() => {
          if (current()) this.#join().catch((err: unknown) => this.#fail(this.#external('cannot rejoin the group', err)));
        }, 500);
        return;
      }
      this.#fail(this.#external('the Kafka consumer crashed', error));
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [...s.topics, ...this.#exchangeTopics], fromBeginning: s.earliest });
    // Not awaited: joining the group can take a while; reads wait for the assignment.
    consumer
      .run({ autoCommit: false, eachBatchAutoResolve: true, eachBatch: (payload) => (current() ? this.#onBatch(payload) : Promise.resolve()) })
      .catch((err: unknown) => {
        if (current()) this.#fail(this.#external('cannot start consuming', err));
      });
  }

  read(max: number): SourceChunk<KafkaRecord<V, K>> | null | Promise<SourceChunk<KafkaRecord<V, K>> | null> {
    const chunk = this.#take(max, undefined);
    if (chunk !== undefined) return chunk;
    return this.#wait(max, undefined, this.#ctx.signal, () => this.#idleSplit());
  }

  // ---- tasks (scaled-out job: one reader per partition number, see KafkaTaskReader) ---------

  /** A task's reader of `topics` opened: start its partitions at its restored offsets (authoritative). */
  startTask(task: string, restored: ReadonlyMap<string, number>, topics: ReadonlySet<string>): void {
    for (const topic of topics) this.#openParts.set(`${topic}:${task}`, restored.get(`${topic}:${task}`));
    const fresh = this.#order.filter((p) => String(p.partition) === task && topics.has(p.topic) && !p.ready);
    if (fresh.length > 0) this.#startPartitions(fresh, this.#generation).catch((err: unknown) => this.#fail(this.#external('cannot look up start offsets', err)));
  }

  /** A task's reader of `topics` closed. */
  endTask(task: string, topics: ReadonlySet<string>): void {
    for (const topic of topics) this.#openParts.delete(`${topic}:${task}`);
  }

  /** What {@link read} does, for the partitions of one task; its position follows what was handed out. */
  takeTask(scope: TaskScope, max: number): SourceChunk<KafkaRecord<V, K>> | null | undefined {
    return this.#take(max, scope);
  }

  waitTask(scope: TaskScope, max: number, signal: AbortSignal): Promise<SourceChunk<KafkaRecord<V, K>> | null> {
    return this.#wait(max, scope, signal, () => {
      for (const p of this.#partitionsOf(scope)) if (p.announced) return p.key;
      // Given up (or not started yet): a partition the runtime already tracks, from the checkpoint.
      for (const key of scope.position.keys()) return key;
      return undefined;
    });
  }

  #partitionsOf(scope: TaskScope): Partition[] {
    return this.#order.filter((p) => p.partition === scope.partition && scope.topics.has(p.topic));
  }

  /** A task's checkpoint completed: commit its offsets to the group (for lag tools). */
  async commitTask(barrier: KafkaSourcePosition): Promise<void> {
    if (this.#s.commitOffsets) await this.#commit(barrier);
  }

  position(): KafkaSourcePosition {
    const out: KafkaSourcePosition = {};
    if (!this.#assignedOnce) {
      for (const [key, offset] of this.#restored) out[key] = offset;
    }
    for (const p of this.#order) if (p.ready) out[p.key] = p.emitted;
    this.#barrier = out;
    this.#lastBarrier = out;
    return out;
  }

  progress(): SourceProgress {
    if (!this.#s.bounded) return { done: this.#read, unit: 'records' };
    let total = 0;
    for (const p of this.#order) if (p.end !== undefined) total += Math.max(0, p.end - p.start);
    return { done: this.#read, total: Math.max(total, this.#read), unit: 'records' };
  }

  barrierOffsets(): Array<{ topic: string; partition: number; offset: number }> | undefined {
    const barrier = this.#lastBarrier;
    if (barrier === undefined) return undefined;
    const out: Array<{ topic: string; partition: number; offset: number }> = [];
    for (const [key, offset] of Object.entries(barrier)) {
      const p = this.#parts.get(key);
      if (p !== undefined) out.push({ topic: p.topic, partition: p.partition, offset });
    }
    return out;
  }

  async onCheckpointComplete(): Promise<void> {
    const barrier = this.#barrier;
    this.#barrier = undefined;
    try {
      if (barrier !== undefined && this.#s.commitOffsets) await this.#commit(barrier);
    } finally {
      this.#barrierDone?.();
    }
  }

  close(): Promise<void> {
    return (this.#closing ??= this.#close());
  }

  // ---- reading ---------------------------------------------------------------------------

  /**
   * A chunk from the next partition with buffered data (of every assigned partition, or of one
   * task's, whose position then follows), an announcement, the end, or undefined.
   */
  #take(max: number, scope: TaskScope | undefined): SourceChunk<KafkaRecord<V, K>> | null | undefined {
    if (this.#failure !== undefined) throw this.#failure;
    if (scope === undefined) return this.#takeAmong(this.#order, max, true);
    const partitions = this.#partitionsOf(scope);
    const chunk = this.#takeAmong(partitions, max, false);
    for (const p of partitions) if (p.ready) scope.position.set(p.key, p.emitted);
    return chunk;
  }

  /** {@link #take} over `order`: round robin across calls when `rotate`, else from the first. */
  #takeAmong(order: readonly Partition[], max: number, rotate: boolean): SourceChunk<KafkaRecord<V, K>> | null | undefined {
    const n = order.length;
    // Every assigned partition must be a split before any data moves the watermark: records of a
    // partition the runtime does not know yet would otherwise be late. So no data while a start
    // offset is being looked up, and new partitions are announced first, with an empty chunk
    // that registers the split (it holds the watermark back until it has data or goes idle).
    for (let i = 0; i < n; i++) {
      const p = order[i];
      if (!p.ready) return undefined;
      if (!p.announced) {
        p.announced = true;
        if (p.end === undefined || p.emitted < p.end) return { records: [], split: p.key };
      }
    }
    const start = rotate ? this.#next : 0;
    for (let i = 0; i < n; i++) {
      const p = order[(start + i) % n];
      if (p.queue.length === 0) continue;
      if (rotate) this.#next = (start + i + 1) % n;
      return this.#takeFrom(p, max);
    }
    if (this.#s.bounded && this.#assignedOnce && n > 0 && this.#finished(order)) return null;
    return undefined;
  }

  #takeFrom(p: Partition, max: number): SourceChunk<KafkaRecord<V, K>> {
    let records: KafkaRecord[] = [];
    let timestamps: number[] = [];
    let deadLetters: DeadLetter[] | undefined;
    while (p.queue.length > 0 && records.length < max) {
      const head = p.queue[0];
      if (head.deadLetters !== undefined && head.taken === 0) deadLetters = deadLetters === undefined ? head.deadLetters : deadLetters.concat(head.deadLetters);
      const room = max - records.length;
      const left = head.records.length - head.taken;
      if (left <= room) {
        if (head.taken === 0 && records.length === 0) {
          records = head.records;
          timestamps = head.timestamps;
        } else {
          for (let i = head.taken; i < head.records.length; i++) {
            records.push(head.records[i]);
            timestamps.push(head.timestamps[i]);
          }
        }
        p.emitted = head.nextOffset;
        p.queue.shift();
      } else {
        const end = head.taken + room;
        for (let i = head.taken; i < end; i++) {
          records.push(head.records[i]);
          timestamps.push(head.timestamps[i]);
        }
        head.taken = end;
        p.emitted = head.offsets[end];
      }
    }
    const n = records.length;
    p.buffered -= n;
    this.#read += n;
    if (p.paused && p.buffered <= this.#s.maxBufferedRecords / 4) this.#resume(p);
    const chunk: { records: KafkaRecord<V, K>[]; timestamps: number[]; split: string; deadLetters?: DeadLetter[] } = {
      records: records as KafkaRecord<V, K>[],
      timestamps,
      split: p.key,
    };
    if (deadLetters !== undefined) chunk.deadLetters = deadLetters;
    return chunk;
  }

  /** Wait for data, an assignment, the signal or the poll timeout, then read again. */
  async #wait(max: number, scope: TaskScope | undefined, signal: AbortSignal, idleSplit: () => string | undefined): Promise<SourceChunk<KafkaRecord<V, K>> | null> {
    for (;;) {
      if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new AbortedError('source stopped', { cause: signal.reason });
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          this.#wakers.delete(done);
          resolve();
        };
        const timer = setTimeout(done, this.#s.pollTimeoutMs);
        signal.addEventListener('abort', done, { once: true });
        this.#wakers.add(done);
      });
      const chunk = this.#take(max, scope);
      if (chunk !== undefined) return chunk;
      // Nothing arrived: an empty chunk lets barriers and idleness move on. It must name a split
      // the runtime already tracks (an unnamed one would hold the watermark at −∞ for good).
      const split = idleSplit();
      if (split !== undefined) return { records: [], split };
      if (signal.aborted) continue;
    }
  }

  #idleSplit(): string | undefined {
    for (const p of this.#order) if (p.announced) return p.key;
    // Before the first assignment: a restored partition is a split the runtime restored too.
    if (!this.#assignedOnce) for (const key of this.#restored.keys()) return key;
    return undefined;
  }

  #wakeUp(): void {
    for (const wake of [...this.#wakers]) wake();
  }

  #finished(order: readonly Partition[]): boolean {
    for (const p of order) {
      if (!p.ready) return false;
      if (p.end === undefined || p.emitted < p.end) return false;
    }
    return true;
  }

  // ---- fetching --------------------------------------------------------------------------

  async #onBatch({ batch }: EachBatchPayload): Promise<void> {
    const key = `${batch.topic}:${batch.partition}`;
    const p = this.#parts.get(key);
    // Not ours (any more), or its start offset is still being looked up: the seek that follows re-fetches.
    if (p === undefined || !p.ready) return;
    const messages = batch.messages;
    const end = p.end ?? Number.POSITIVE_INFINITY;
    let first = 0;
    while (first < messages.length && Number(messages[first].offset) < p.fetched) first++;
    // Bounded mode: nothing at or after the end offset taken when the source opened.
    let last = messages.length;
    while (last > first && Number(messages[last - 1].offset) >= end) last--;
    const nextOffset = Math.min(Number(batch.lastOffset()) + 1, end);
    if (first === last) {
      this.#skipTo(batch.topic, batch.partition, nextOffset);
    } else {
      let pending = this.#decode(p, messages, first, last, nextOffset);
      if (pending instanceof Promise) {
        pending = await pending;
        if (this.#parts.get(key) !== p || !p.ready) return;
      }
      p.queue.push(pending);
      p.fetched = nextOffset;
      p.buffered += pending.records.length;
      if (!p.paused && p.buffered >= this.#s.maxBufferedRecords) this.#pause(p);
      this.#wakeUp();
    }
    if (p.fetched >= end && !p.paused) this.#pause(p);
  }

  /**
   * Decode messages `first` .. `last - 1`. Synchronous, without a promise per record, unless a
   * deserializer has to fetch a schema first.
   */
  #decode(p: Partition, messages: KafkaMessage[], first: number, last: number, nextOffset: number, resolved = false): Pending | Promise<Pending> {
    const s = this.#s;
    const raw = s.rawHeaders;
    // A repartition topic's keys and values are decoded by its reader (RepartitionReader).
    const exchange = this.#exchangeTopics.has(p.topic);
    const records: KafkaRecord[] = [];
    const timestamps: number[] = [];
    const offsets: number[] = [];
    let deadLetters: DeadLetter[] | undefined;
    for (let i = first; i < last; i++) {
      const m = messages[i];
      const offset = Number(m.offset);
      let key: unknown = null;
      let value: unknown = null;
      try {
        if (exchange) {
          key = m.key;
          value = m.value;
        } else {
          if (m.key != null) key = s.key.deserialize(m.key);
          if (m.value != null) value = s.value.deserialize(m.value);
        }
      } catch (err) {
        if (err instanceof MissingSchemaError && !resolved) return this.#decodeResolving(p, messages, first, last, nextOffset);
        (deadLetters ??= []).push(this.#deadLetter(p, m, offset, err));
        continue;
      }
      const timestamp = Number(m.timestamp);
      records.push({ topic: p.topic, partition: p.partition, offset, key, value, headers: decodeHeaders(m.headers, raw), timestamp });
      timestamps.push(timestamp);
      offsets.push(offset);
    }
    return { records, timestamps, offsets, deadLetters, nextOffset, taken: 0 };
  }

  /** The slow path of {@link #decode}: load every schema the batch needs, then decode it. */
  async #decodeResolving(p: Partition, messages: KafkaMessage[], first: number, last: number, nextOffset: number): Promise<Pending> {
    const s = this.#s;
    for (let i = first; i < last; i++) {
      const m = messages[i];
      for (const [d, data] of [[s.key, m.key], [s.value, m.value]] as const) {
        if (data == null || d.resolve === undefined) continue;
        try {
          d.deserialize(data);
        } catch (err) {
          // A lookup that fails leaves the record bad: decoding it again below makes it a dead letter.
          if (err instanceof MissingSchemaError) await d.resolve(err.schemaId).catch(() => undefined);
        }
      }
    }
    return this.#decode(p, messages, first, last, nextOffset, true) as Pending;
  }

  #deadLetter(p: Partition, m: KafkaMessage, offset: number, err: unknown): DeadLetter {
    return {
      record: {
        topic: p.topic,
        partition: p.partition,
        offset,
        timestamp: Number(m.timestamp),
        key: m.key == null ? null : cut(m.key.toString('utf8')),
        value: m.value == null ? null : cut(m.value.toString('utf8')),
      },
      error: { code: 'WEIR_BAD_RECORD', message: `cannot deserialize the record at ${p.key} offset ${offset}: ${describe(err)}`, step: this.#step },
      source: { name: this.#step, position: { [p.key]: offset } },
    };
  }

  /** Move a partition past offsets that hold no data (control records, aborted transactions). */
  #skipTo(topic: string, partition: number, nextOffset: number): void {
    const p = this.#parts.get(`${topic}:${partition}`);
    if (p === undefined || !p.ready || nextOffset <= p.fetched) return;
    p.fetched = nextOffset;
    p.queue.push({ records: [], timestamps: [], offsets: [nextOffset], deadLetters: undefined, nextOffset, taken: 0 });
    this.#wakeUp();
  }

  #pause(p: Partition): void {
    p.paused = true;
    this.#consumer?.pause([{ topic: p.topic, partitions: [p.partition] }]);
  }

  #resume(p: Partition): void {
    // Bounded mode: a partition fetched up to its end stays paused.
    if (p.end !== undefined && p.fetched >= p.end) return;
    p.paused = false;
    if (p.ready) this.#consumer?.resume([{ topic: p.topic, partitions: [p.partition] }]);
  }

  // ---- assignment ------------------------------------------------------------------------

  /**
   * A (re)join of the group. Runs synchronously inside kafkajs before it fetches: retained
   * partitions are pointed at what was already buffered; new ones are paused until their start
   * offset is looked up (checkpoint, else committed offset, else `startFrom`).
   */
  #onAssignment(assignment: Record<string, number[]>): void {
    const consumer = this.#consumer!;
    const generation = ++this.#generation;
    const assigned = new Set<string>();
    const fresh: Partition[] = [];
    for (const [topic, partitions] of Object.entries(assignment)) {
      for (const partition of partitions) {
        const key = `${topic}:${partition}`;
        assigned.add(key);
        const p = this.#parts.get(key);
        if (p !== undefined && p.ready) {
          // kafkajs restarts from the committed offset after a join: continue after what we buffered.
          consumer.seek({ topic, partition, offset: String(p.fetched) });
          if (p.paused) consumer.pause([{ topic, partitions: [partition] }]);
          continue;
        }
        const created: Partition = p ?? {
          key,
          topic,
          partition,
          ready: false,
          emitted: 0,
          fetched: 0,
          committed: 0,
          end: undefined,
          start: 0,
          queue: [],
          buffered: 0,
          announced: false,
          paused: false,
        };
        this.#parts.set(key, created);
        fresh.push(created);
      }
    }
    for (const p of [...this.#parts.values()]) if (!assigned.has(p.key)) this.#revoke(p);
    this.#order = [...this.#parts.values()];
    this.#next = 0;
    if (!this.#assignedOnce) {
      this.#assignedOnce = true;
      for (const key of [...this.#restored.keys()]) if (!assigned.has(key)) this.#restored.delete(key);
    }
    if (fresh.length > 0) consumer.pause(groupByTopic(fresh));
    // Scaled out: a partition starts when its task's reader opens, at the task's checkpoint.
    const start = this.#onTasks === undefined ? fresh : fresh.filter((p) => this.#openParts.has(p.key));
    if (start.length > 0) {
      this.#startPartitions(start, generation).catch((err: unknown) => this.#fail(this.#external('cannot look up start offsets', err)));
    }
    this.#wakeUp();
    if (this.#onTasks !== undefined) {
      const tasks = [...new Set(this.#order.map((p) => p.partition))].sort((a, b) => a - b).map(String);
      this.#onTasks(tasks);
    }
  }

  /** What this member holds, for the sticky assignor: every partition, and those with nothing in flight. */
  #claims(): { owned: TopicPartition[]; clean: TopicPartition[] } {
    const owned: TopicPartition[] = [];
    const clean: TopicPartition[] = [];
    for (const p of this.#parts.values()) {
      owned.push([p.topic, p.partition]);
      if (!p.ready || p.emitted <= p.committed) clean.push([p.topic, p.partition]);
    }
    return { owned, clean };
  }

  /** A partition went to another process: drop what was buffered (the new owner reads it again). */
  #revoke(p: Partition): void {
    this.#parts.delete(p.key);
    // Scaled out: the task stops with a savepoint of what it handed out; the new owner resumes there.
    if (this.#onTasks !== undefined) return;
    if (p.ready && p.emitted > p.committed) {
      // Records handed out since the last committed checkpoint are in flight in this process and
      // will be committed by its next checkpoint, while the new owner reads them again from the
      // committed offset: exactly-once would break. Fail; the restart resumes from the checkpoint.
      this.#fail(
        new ConnectorError(
          this.#step,
          `partition ${p.key} was reassigned to another member of group "${this.#s.groupId}" while offsets ${p.committed}..${p.emitted - 1} ` +
            `were read but not yet covered by a completed checkpoint; restart the job to resume from its last checkpoint`,
          { retryable: true },
        ),
      );
    }
  }

  async #startPartitions(fresh: Partition[], generation: number): Promise<void> {
    const admin = this.#admin!;
    const topics = [...new Set(fresh.map((p) => p.topic))];
    const committed = new Map<string, number>();
    for (const t of await admin.fetchOffsets({ groupId: this.#s.groupId, topics })) {
      for (const p of t.partitions) committed.set(`${t.topic}:${p.partition}`, Number(p.offset));
    }
    const bounds = new Map<string, { low: number; high: number }>();
    for (const topic of topics) {
      for (const p of await admin.fetchTopicOffsets(topic)) bounds.set(`${topic}:${p.partition}`, { low: Number(p.low), high: Number(p.high) });
    }
    if (generation !== this.#generation && fresh.every((p) => this.#parts.get(p.key) !== p)) return;
    const consumer = this.#consumer!;
    const ready: Partition[] = [];
    for (const p of fresh) {
      if (this.#parts.get(p.key) !== p || p.ready) continue;
      const task = this.#openParts.has(p.key);
      const restored = task ? this.#openParts.get(p.key) : this.#restored.get(p.key);
      const group = committed.get(p.key) ?? -1;
      const bound = bounds.get(p.key) ?? { low: 0, high: 0 };
      const exchange = this.#exchangeTopics.has(p.topic);
      let start: number;
      // A task's checkpoint is authoritative: its output up to there is committed, nothing after.
      if (restored !== undefined && task) start = restored;
      else if (restored !== undefined) start = Math.max(restored, group);
      else if (group >= 0) start = group;
      // A repartition topic holds what other tasks wrote for this one, also before it opened.
      else start = this.#s.earliest || exchange ? bound.low : bound.high;
      start = Math.max(start, bound.low);
      this.#restored.delete(p.key);
      p.emitted = start;
      p.fetched = start;
      p.start = start;
      p.committed = group >= 0 ? group : start;
      const end = this.#ends.get(p.key);
      p.end = this.#s.bounded && !exchange ? (end ?? 0) : undefined;
      p.ready = true;
      // Bounded mode: a partition already read to its end is never fetched again.
      if (p.end !== undefined && start >= p.end) p.paused = true;
      consumer.seek({ topic: p.topic, partition: p.partition, offset: String(start) });
      ready.push(p);
    }
    const resume = ready.filter((p) => !p.paused);
    if (resume.length > 0) consumer.resume(groupByTopic(resume));
    this.#wakeUp();
  }

  // ---- checkpoints and shutdown ------------------------------------------------------------

  /**
   * Commit a completed checkpoint's offsets to the group. Recovery of this process uses the
   * checkpoint itself; the group offsets serve lag tools and, above all, a process taking over a
   * partition: it starts there. So a commit refused during a rebalance is retried (every
   * {@link COMMIT_RETRY_MS}, for the partitions still owned) until it succeeds, for up to
   * {@link COMMIT_PATIENCE_MS}: meanwhile the coordinator starts no new checkpoint, so sinks never
   * commit output more than one checkpoint ahead of the group offsets.
   */
  async #commit(barrier: KafkaSourcePosition): Promise<void> {
    const deadline = Date.now() + COMMIT_PATIENCE_MS;
    for (;;) {
      const consumer = this.#consumer;
      if (consumer === undefined || this.#closed) return;
      const offsets: Array<{ topic: string; partition: number; offset: string }> = [];
      const committing: Array<[Partition, number]> = [];
      for (const [key, offset] of Object.entries(barrier)) {
        const p = this.#parts.get(key);
        if (p === undefined || !p.ready || offset <= p.committed) continue;
        offsets.push({ topic: p.topic, partition: p.partition, offset: String(offset) });
        committing.push([p, offset]);
      }
      if (offsets.length === 0) return;
      try {
        await consumer.commitOffsets(offsets);
        for (const [p, offset] of committing) if (offset > p.committed) p.committed = offset;
        return;
      } catch {
        // Refused (a rebalance in progress, a coordinator moving): try again shortly. After
        // COMMIT_PATIENCE_MS give up; the next checkpoint's commit carries these offsets too.
        if (Date.now() > deadline || failedRun(this.#ctx.signal)) return;
        await new Promise((resolve) => setTimeout(resolve, COMMIT_RETRY_MS));
      }
    }
  }

  async #close(): Promise<void> {
    // A checkpoint whose barrier passed (a savepoint on stop, the final one at end of input) is
    // still completing: leaving the group now would let another member take the partitions and
    // repeat what that checkpoint commits. Wait for it, unless the job failed.
    if (this.#barrier !== undefined && !failedRun(this.#ctx.signal)) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, CLOSE_WAIT_MS);
        this.#barrierDone = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.#closed = true;
    this.onClose?.();
    this.#wakeUp();
    await this.#disconnect();
  }

  async #disconnect(): Promise<void> {
    const consumer = this.#consumer;
    const admin = this.#admin;
    this.#consumer = undefined;
    this.#admin = undefined;
    await Promise.allSettled([consumer?.disconnect(), admin?.disconnect()]);
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    this.#wakeUp();
  }

  #external(message: string, cause: unknown): WeirError {
    if (cause instanceof WeirError) return cause;
    return new ConnectorError(this.#step, `${message}: ${describe(cause)}`, { cause });
  }
}

/**
 * The reader of one task of a scaled-out job: the partitions numbered `task` of the topics the
 * group member ({@link KafkaReader}) was assigned. Its position is its own (it outlives the
 * partitions being given up, so the savepoint that hands the task over records where it stopped).
 */
class KafkaTaskReader<V, K> implements SourceReader<KafkaRecord<V, K>> {
  onClose: (() => void) | undefined;
  readonly #member: KafkaReader<V, K>;
  readonly #task: string;
  readonly #ctx: SourceContext;
  /** Partition `task` of the topics this reader reads (a task's source topics, or one repartition topic). */
  readonly #scope: TaskScope;
  #barrier: KafkaSourcePosition | undefined;
  #read = 0;

  constructor(member: KafkaReader<V, K>, task: string, ctx: SourceContext, topics: readonly string[]) {
    this.#member = member;
    this.#task = task;
    this.#ctx = ctx;
    this.#scope = { partition: Number(task), topics: new Set(topics), position: parsePosition(ctx.restored, ctx.name) };
    member.startTask(task, new Map(this.#scope.position), this.#scope.topics);
  }

  read(max: number): SourceChunk<KafkaRecord<V, K>> | null | Promise<SourceChunk<KafkaRecord<V, K>> | null> {
    const chunk = this.#member.takeTask(this.#scope, max);
    if (chunk !== undefined) return this.#count(chunk);
    return this.#member.waitTask(this.#scope, max, this.#ctx.signal).then((c) => this.#count(c));
  }

  position(): KafkaSourcePosition {
    const out = Object.fromEntries(this.#scope.position);
    this.#barrier = out;
    return out;
  }

  progress(): SourceProgress {
    return { done: this.#read, unit: 'records' };
  }

  barrierOffsets(): Array<{ topic: string; partition: number; offset: number }> | undefined {
    const barrier = this.#barrier;
    if (barrier === undefined) return undefined;
    return Object.entries(barrier).map(([key, offset]) => {
      const at = key.lastIndexOf(':');
      return { topic: key.slice(0, at), partition: Number(key.slice(at + 1)), offset };
    });
  }

  async onCheckpointComplete(): Promise<void> {
    const barrier = this.#barrier;
    if (barrier !== undefined) await this.#member.commitTask(barrier);
  }

  close(): void {
    this.#member.endTask(this.#task, this.#scope.topics);
    this.onClose?.();
  }

  #count(chunk: SourceChunk<KafkaRecord<V, K>> | null): SourceChunk<KafkaRecord<V, K>> | null {
    if (chunk !== null) this.#read += chunk.records.length;
    return chunk;
  }
}

function decodeHeaders(headers: KafkaMessage['headers'], raw: boolean): Readonly<Record<string, KafkaHeaderValue>> {
  if (headers === undefined) return NO_HEADERS;
  let out: Record<string, KafkaHeaderValue> | undefined;
  for (const name in headers) {
    const v = headers[name];
    if (v === undefined) continue;
    out ??= {};
    if (raw) out[name] = v as KafkaHeaderValue;
    else if (Array.isArray(v)) out[name] = v.map((x) => (typeof x === 'string' ? x : x.toString('utf8')));
    else out[name] = typeof v === 'string' ? v : v.toString('utf8');
  }
  return out ?? NO_HEADERS;
}

function groupByTopic(parts: readonly Partition[]): Array<{ topic: string; partitions: number[] }> {
  const byTopic = new Map<string, number[]>();
  for (const p of parts) {
    let list = byTopic.get(p.topic);
    if (list === undefined) byTopic.set(p.topic, (list = []));
    list.push(p.partition);
  }
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
}

/** A restored position: `{ "topic:partition": offset }`. */
function parsePosition(restored: unknown, step: string): Map<string, number> {
  const out = new Map<string, number>();
  if (restored === undefined || restored === null) return out;
  if (typeof restored !== 'object' || Array.isArray(restored)) {
    throw new ConfigError(`source "${step}": not a Kafka source position (expected { "topic:partition": offset }): ${show(restored)}`);
  }
  for (const [key, offset] of Object.entries(restored as Record<string, unknown>)) {
    if (!/^.+:\d+$/.test(key) || typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
      throw new ConfigError(`source "${step}": not a Kafka source position entry: ${show(key)} → ${show(offset)}`);
    }
    out.set(key, offset);
  }
  return out;
}

/** Errors of group membership kafkajs treats as fatal but a fresh member can recover from. */
function isGroupMembershipError(err: unknown): boolean {
  for (let e = err as { type?: string; cause?: unknown } | undefined; e !== undefined && e !== null; e = e.cause as typeof e) {
    if (e.type !== undefined && GROUP_MEMBERSHIP_ERRORS.has(e.type)) return true;
  }
  return false;
}

const GROUP_MEMBERSHIP_ERRORS = new Set(['INVALID_REQUEST', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'REBALANCE_IN_PROGRESS', 'NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE']);

/**
 * True when the context's signal was aborted by a failure. A graceful stop aborts it with a
 * `WEIR_STOPPED` error, and the runtime aborts it without a reason (an `AbortError`) when the
 * source's stream closes normally.
 */
function failedRun(signal: AbortSignal): boolean {
  if (!signal.aborted) return false;
  const reason = signal.reason as unknown;
  if (reason instanceof WeirError) return reason.code !== 'WEIR_STOPPED';
  return !(reason instanceof Error && reason.name === 'AbortError');
}

function cut(text: string): string {
  return text.length > MAX_DEAD_LETTER_CHARS ? `${text.slice(0, MAX_DEAD_LETTER_CHARS)}… (${text.length} chars)` : text;
}

function kafkaLogLevel(kafkajs: KafkaJs, level: KafkaLogLevel): number {
  const levels = kafkajs.logLevel;
  return { nothing: levels.NOTHING, error: levels.ERROR, warn: levels.WARN, info: levels.INFO, debug: levels.DEBUG }[level];
}
