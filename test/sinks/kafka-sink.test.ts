import { createRequire } from 'node:module';
import { propagation } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { Kafka as KafkaClient, Producer, ProducerConfig, Transaction } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { pipeline } from '../../src/builder/pipeline.js';
import { batch } from '../../src/runtime/elements.js';
import { ConfigError, ConnectorError } from '../../src/runtime/errors.js';
import type { SinkContext, TransactionalWriter } from '../../src/runtime/sink.js';
import { collectSink } from '../../src/sinks/collect-sink.js';
import { kafkaSink, type KafkaSinkOptions, type KafkaSinkTxn } from '../../src/sinks/kafka-sink.js';
import { avroSerializer } from '../../src/sinks/kafka-serializers.js';
import { avroDeserializer } from '../../src/sources/kafka-deserializers.js';
import { kafkaSource, type KafkaRecord, type KafkaSourceOptions } from '../../src/sources/kafka-source.js';
import { tempDir } from '../support/files.js';
import { listSource } from '../support/inline.js';
import { FAST_GROUP, kafkaUnavailable, startKafkaBroker, type KafkaBroker } from '../support/kafka-broker.js';

const kafkajs = createRequire(import.meta.url)('kafkajs') as typeof import('kafkajs');
const { Kafka, logLevel } = kafkajs;

describe('sinks.kafka options', () => {
  const base: KafkaSinkOptions<unknown> = { brokers: ['127.0.0.1:9092'], topic: 'out' };
  it.each([
    [{ brokers: 'localhost:9092' }, /brokers must be a non-empty array of "host:port" strings, got "localhost:9092"/],
    [{ topic: '' }, /topic must be a topic name .* or a function of the record, got ""/],
    [{ key: 5 }, /key must be a function of the record, got 5/],
    [{ format: 'xml' }, /format must be 'json', 'string', 'raw' or a serializer .* got "xml"/],
    [{ compression: 'snappy' }, /compression must be 'none' or 'gzip', got "snappy"/],
    [{ semantic: 'twice' }, /semantic must be 'at-least-once' or 'exactly-once', got "twice"/],
    [{ transactionalId: 'x' }, /transactionalId needs semantic: 'exactly-once', got semantic "at-least-once"/],
    [{ semantic: 'exactly-once', transactionalId: '' }, /transactionalId must be a non-empty string, got ""/],
    [{ semantic: 'exactly-once', sendOffsetsOf: [{}] }, /sendOffsetsOf must be Kafka sources/],
    [{ maxInFlightBatches: 0 }, /maxInFlightBatches must be a positive integer, got 0/],
    [{ timestamp: 'later' }, /timestamp must be 'event' or 'now', got "later"/],
  ] as Array<[Partial<KafkaSinkOptions<unknown>>, RegExp]>)('rejects %j', (patch, message) => {
    expect(() => kafkaSink({ ...base, ...patch } as KafkaSinkOptions<unknown>)).toThrow(ConfigError);
    expect(() => kafkaSink({ ...base, ...patch } as KafkaSinkOptions<unknown>)).toThrow(message);
  });

  it('rejects Avro options naming the field', () => {
    expect(() => avroSerializer({ schema: { type: 'string' }, schemaId: -1 })).toThrow(/avro schemaId must be a non-negative 32-bit integer, got -1/);
  });

  it('needs exactly-once for sendOffsetsOf', () => {
    const src = kafkaSource({ brokers: ['127.0.0.1:9092'], topic: 'in', groupId: 'g' });
    expect(() => kafkaSink({ ...base, sendOffsetsOf: src })).toThrow(/sendOffsetsOf needs semantic: 'exactly-once'/);
  });
});

const unavailable = await kafkaUnavailable();

describe.skipIf(unavailable !== undefined)(`sinks.kafka against the mock broker${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let broker: KafkaBroker;
  let client: KafkaClient;
  let producer: Producer;
  const tmp = tempDir('weir-kafka-sink-');
  let topicSeq = 0;

  beforeAll(async () => {
    broker = await startKafkaBroker();
    client = new Kafka({ brokers: broker.brokers, clientId: 'test', logLevel: logLevel.NOTHING });
    producer = client.producer();
    await producer.connect();
  });
  afterAll(async () => {
    await producer?.disconnect();
    await broker?.stop();
    tmp.cleanup();
  });
  afterEach(() => {
    vi.restoreAllMocks();
    propagation.disable();
  });

  async function topic(partitions: number): Promise<string> {
    const name = `sink-${++topicSeq}`;
    await broker.createTopic(name, partitions);
    return name;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const source = <V = any>(options: Partial<KafkaSourceOptions> & { topic: string }) =>
    kafkaSource<V>({ brokers: broker.brokers, groupId: `g-${options.topic}`, ...FAST_GROUP, ...options });

  /** Everything in `name`, read with the Kafka source (bounded). */
  async function readBack<V = unknown>(name: string, options: Partial<KafkaSourceOptions> = {}): Promise<KafkaRecord<V, string>[]> {
    const out: KafkaRecord<V, string>[] = [];
    await pipeline('read-back').source(source<V>({ topic: name, bounded: true, groupId: `read-${name}-${Math.random()}`, ...options })).sink(collectSink(out)).run();
    return out;
  }

  function ctx(restored?: unknown): SinkContext {
    return { job: 'sink-test', name: 'out', signal: new AbortController().signal, restored, now: () => Date.now() };
  }

  it('round trip Kafka → weir → Kafka: keys partition the output, headers, gzip and event-time timestamps carried', async () => {
    const input = await topic(3);
    const output = await topic(4);
    const users = ['ann', 'bob', 'cy', 'dee', 'eve'];
    await producer.send({
      topic: input,
      messages: Array.from({ length: 500 }, (_, i) => ({ partition: i % 3, value: JSON.stringify({ i, user: users[i % 5] }), timestamp: String(10_000 + i) })),
    });
    const result = await pipeline('kafka-round-trip')
      .source(source<{ i: number; user: string }>({ topic: input, bounded: true }), { timestamp: 'timestamp' })
      .map((r) => ({ ...r.value!, doubled: r.value!.i * 2 }))
      .sink(
        kafkaSink<{ i: number; user: string; doubled: number }>({
          brokers: broker.brokers,
          topic: output,
          key: 'user',
          headers: (r) => ({ origin: 'test', parity: r.i % 2 === 0 ? 'even' : 'odd' }),
          compression: 'gzip',
        }),
      )
      .run();
    expect(result.steps.kafka.recordsOut).toBe(500);
    const back = await readBack<{ i: number; user: string; doubled: number }>(output);
    expect(back.map((r) => r.value!.i).sort((a, b) => a - b)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    for (const r of back) {
      expect(r.key).toBe(r.value!.user);
      expect(r.value!.doubled).toBe(r.value!.i * 2);
      expect(r.headers).toEqual({ origin: 'test', parity: r.value!.i % 2 === 0 ? 'even' : 'odd' });
      expect(r.timestamp).toBe(10_000 + r.value!.i);
    }
    // One partition per key, as the Java client's partitioner would choose.
    const partitioner = kafkajs.Partitioners.DefaultPartitioner();
    const partitionMetadata = [0, 1, 2, 3].map((partitionId) => ({ partitionId, leader: 1, partitionErrorCode: 0, replicas: [1], isr: [1] }));
    for (const user of users) {
      const partitions = new Set(back.filter((r) => r.key === user).map((r) => r.partition));
      expect([...partitions]).toEqual([partitioner({ topic: output, partitionMetadata, message: { key: user, value: null } })]);
    }
  });

  it('Avro with Confluent framing, a topic per record, and explicit partitions', async () => {
    const schema = { type: 'record', name: 'Total', fields: [{ name: 'user', type: 'string' }, { name: 'n', type: 'long' }] };
    const a = await topic(2);
    const b = await topic(2);
    await pipeline('kafka-avro-out')
      .source(listSource([{ user: 'x', n: 1 }, { user: 'y', n: 2 }, { user: 'z', n: 3 }]))
      .sink(kafkaSink<{ user: string; n: number }>({ brokers: broker.brokers, topic: (r) => (r.n % 2 === 1 ? a : b), partition: () => 1, format: avroSerializer({ schema, schemaId: 42 }) }))
      .run();
    const fromA = await readBack(a, { value: avroDeserializer({ schemas: { 42: schema } }) });
    const fromB = await readBack(b, { value: avroDeserializer({ schemas: { 42: schema } }) });
    expect(fromA.map((r) => [r.partition, r.value])).toEqual([
      [1, { user: 'x', n: 1 }],
      [1, { user: 'z', n: 3 }],
    ]);
    expect(fromB.map((r) => [r.partition, r.value])).toEqual([[1, { user: 'y', n: 2 }]]);
  });

  it('continues the trace of records that carry trace headers', async () => {
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    const output = await topic(1);
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await pipeline('kafka-trace')
      .source(listSource([{ n: 1, headers: { traceparent } }, { n: 2 }]))
      .sink(kafkaSink({ brokers: broker.brokers, topic: output, value: (r: { n: number }) => r.n }))
      .run();
    const back = await readBack<number>(output);
    expect(back.map((r) => [r.value, r.headers.traceparent])).toEqual([
      [1, traceparent],
      [2, undefined],
    ]);
  });

  describe('exactly-once', () => {
    /** Spy on the transactions the sink's producer opens: the call sequence, per transaction. */
    function spyTransactions(): string[] {
      const calls: string[] = [];
      const producerOf = Kafka.prototype.producer;
      vi.spyOn(Kafka.prototype, 'producer').mockImplementation(function (this: KafkaClient, config?: ProducerConfig) {
        const p = producerOf.call(this, config);
        if (config?.transactionalId === undefined) return p;
        calls.push(`producer ${config.transactionalId}`);
        const begin = p.transaction.bind(p);
        p.transaction = async () => {
          const txn = await begin();
          calls.push('begin');
          const wrap = <K extends 'sendBatch' | 'sendOffsets' | 'commit' | 'abort'>(name: K, describeCall: (...args: Parameters<Transaction[K]>) => string) => {
            const original = txn[name].bind(txn) as (...args: unknown[]) => Promise<unknown>;
            (txn as unknown as Record<string, unknown>)[name] = async (...args: Parameters<Transaction[K]>) => {
              calls.push(describeCall(...args));
              return original(...args);
            };
          };
          wrap('sendBatch', (b) => `sendBatch ${b.topicMessages!.map((t) => t.messages.length).join('+')}`);
          wrap('sendOffsets', (o) => `sendOffsets ${o.consumerGroupId} ${o.topics.map((t) => t.partitions.map((x) => `${t.topic}:${x.partition}=${x.offset}`).join(',')).join(',')}`);
          wrap('commit', () => 'commit');
          wrap('abort', () => 'abort');
          return txn;
        };
        return p;
      });
      return calls;
    }

    it('one transaction per checkpoint: writes, then offsets and marker at pre-commit, commit once the checkpoint is durable; commit is idempotent', async () => {
      const calls = spyTransactions();
      const output = await topic(2);
      const sink = kafkaSink<{ n: number }>({ brokers: broker.brokers, topic: output, semantic: 'exactly-once', transactionalId: 'tx-a' });
      const writer = (await sink.open(ctx())) as TransactionalWriter<{ n: number }, KafkaSinkTxn>;
      try {
        await writer.write(batch([{ n: 1 }, { n: 2 }], [1, 2]));
        await writer.write(batch([{ n: 3 }], [3]));
        const txn = await writer.preCommit(1);
        expect(txn).toMatchObject({ checkpointId: 1, transactionalId: 'tx-a', records: 3, offsets: [], marker: { groupId: 'weir.txn.tx-a', topic: output } });
        expect(txn.producerId).toBeGreaterThanOrEqual(0);
        expect(txn.producerEpoch).toBeGreaterThanOrEqual(0);
        // A write of the next epoch waits for the commit.
        let written = false;
        const next = Promise.resolve(writer.write(batch([{ n: 4 }], [4]))).then(() => (written = true));
        await new Promise((r) => setTimeout(r, 50));
        expect(written).toBe(false);
        await writer.commit(txn);
        await next;
        await writer.commit(txn);
        const second = await writer.preCommit(2);
        await writer.abort(second);
        const empty = await writer.preCommit(3);
        expect(empty).toMatchObject({ checkpointId: 3, records: 0, producerId: -1 });
        await writer.commit(empty);
      } finally {
        await writer.close?.();
      }
      expect(calls).toEqual([
        'producer tx-a',
        'begin',
        'sendBatch 2',
        'sendBatch 1',
        'sendOffsets weir.txn.tx-a ' + `${output}:0=1`,
        'commit',
        'begin',
        'sendBatch 1',
        'sendOffsets weir.txn.tx-a ' + `${output}:0=2`,
        'abort',
      ]);
    });

    it('recovery: a restarted writer commits the restored checkpoint’s transaction (EndTxn for its producer session) before fencing', async () => {
      const output = await topic(1);
      const sink = kafkaSink<{ n: number }>({ brokers: broker.brokers, topic: output, semantic: 'exactly-once', transactionalId: 'tx-b' });
      const first = (await sink.open(ctx())) as TransactionalWriter<{ n: number }, KafkaSinkTxn>;
      await first.write(batch([{ n: 1 }], [1]));
      const txn = await first.preCommit(7);
      // The process dies after the checkpoint became durable, before the commit.
      await first.close?.();
      const second = (await sink.open(ctx(txn))) as TransactionalWriter<{ n: number }, KafkaSinkTxn>;
      await second.commit(txn); // what the coordinator does on recovery: a no-op now
      await second.close?.();
      // A restored transaction of a producer session the broker no longer knows cannot be committed.
      const lost = { ...txn, checkpointId: 9, producerId: txn.producerId + 12345 };
      const err = await Promise.resolve(sink.open(ctx(lost))).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectorError);
      expect((err as Error).message).toMatch(/transaction of restored checkpoint 9 .* can no longer be committed \(UNKNOWN_PRODUCER_ID\).*--from 8/);
    });

    it('a Kafka → Kafka job sends the checkpoint’s source offsets inside each transaction', async () => {
      const calls = spyTransactions();
      const input = await topic(2);
      const output = await topic(2);
      await producer.send({ topic: input, messages: Array.from({ length: 200 }, (_, i) => ({ partition: i % 2, value: JSON.stringify({ i }) })) });
      const src = source<{ i: number }>({ topic: input, bounded: true, groupId: 'eos-job' });
      await pipeline('kafka-eos')
        .source(src)
        .map((r) => r.value!)
        .sink(kafkaSink({ brokers: broker.brokers, topic: output, semantic: 'exactly-once', sendOffsetsOf: src, key: (r: { i: number }) => String(r.i % 7) }))
        .run({ stateDir: `${tmp.dir}/eos-state`, checkpointInterval: 20 });
      const back = await readBack<{ i: number }>(output);
      expect(back.map((r) => r.value!.i).sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i));
      expect(calls[0]).toBe('producer kafka-eos.kafka-2');
      // The last transaction carries the final offsets (100 per partition), then the marker, then commits.
      const lastOffsets = calls.filter((c) => c.startsWith('sendOffsets eos-job')).at(-1);
      expect(lastOffsets).toBe(`sendOffsets eos-job ${input}:0=100,${input}:1=100`);
      expect(calls.at(-1)).toBe('commit');
      const perTxn = calls.join('|').split('begin|').slice(1);
      for (const t of perTxn) expect(t).toMatch(/(sendBatch \d+\|)*sendOffsets eos-job [^|]+\|sendOffsets weir\.txn\.kafka-eos\.kafka-2 [^|]+\|commit/);
    });
  });
});
