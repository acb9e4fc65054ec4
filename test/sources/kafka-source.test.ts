import { createRequire } from 'node:module';
import type { Kafka as KafkaClient, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipeline } from '../../src/builder/pipeline.js';
import { ManualClock } from '../../src/runtime/clock.js';
import type { DeadLetter } from '../../src/runtime/error-policy.js';
import type { Source } from '../../src/runtime/source.js';
import { ConfigError } from '../../src/runtime/errors.js';
import { boundedOutOfOrderness } from '../../src/runtime/watermark-strategy.js';
import { collectSink } from '../../src/sinks/collect-sink.js';
import { avroDeserializer } from '../../src/sources/kafka-deserializers.js';
import { kafkaSource, type KafkaRecord, type KafkaSourceOptions } from '../../src/sources/kafka-source.js';
import { tempDir } from '../support/files.js';
import { recording, recordingSink } from '../support/inline.js';
import { FAST_GROUP, kafkaUnavailable, startKafkaBroker, type KafkaBroker } from '../support/kafka-broker.js';

const { Kafka, logLevel } = createRequire(import.meta.url)('kafkajs') as typeof import('kafkajs');
const avsc = createRequire(import.meta.url)('avsc') as typeof import('avsc');

describe('sources.kafka options', () => {
  const base: KafkaSourceOptions = { brokers: ['127.0.0.1:9092'], topic: 't', groupId: 'g' };
  it.each([
    [{ brokers: [] }, /brokers must be a non-empty array of "host:port" strings, got \[\]/],
    [{ brokers: ['nohost'] }, /brokers .* got \["nohost"\]/],
    [{ topics: ['a'] }, /give exactly one of topic or topics/],
    [{ topic: 'bad topic' }, /topic must be a topic name .* got "bad topic"/],
    [{ groupId: '' }, /groupId must be a non-empty string, got ""/],
    [{ value: 'xml' }, /value must be 'json', 'string', 'raw' or a deserializer .* got "xml"/],
    [{ startFrom: 'middle' }, /startFrom must be 'earliest' or 'latest', got "middle"/],
    [{ maxBufferedRecords: 0 }, /maxBufferedRecords must be a positive integer, got 0/],
    [{ sessionTimeoutMs: 3000, heartbeatIntervalMs: 3000 }, /heartbeatIntervalMs must be less than sessionTimeoutMs \(3000\), got 3000/],
    [{ bounded: 'yes' }, /bounded must be a boolean, got "yes"/],
  ] as Array<[Partial<KafkaSourceOptions>, RegExp]>)('rejects %j', (patch, message) => {
    expect(() => kafkaSource({ ...base, ...patch } as KafkaSourceOptions)).toThrow(ConfigError);
    expect(() => kafkaSource({ ...base, ...patch } as KafkaSourceOptions)).toThrow(message);
  });

  it('rejects avro options naming the field', () => {
    expect(() => avroDeserializer({} as never)).toThrow(/avro needs exactly one of schema .* or schemas/);
    expect(() => avroDeserializer({ schema: 5 } as never)).toThrow(/avro schema must be an Avro schema .* got 5/);
  });

  it('describes itself as a replayable source, bounded only when asked', () => {
    expect(kafkaSource(base)).toMatchObject({ name: 'kafka', bounded: false, replayable: true, groupId: 'g' });
    expect(kafkaSource({ ...base, bounded: true, name: 'in' })).toMatchObject({ name: 'in', bounded: true });
  });
});

const unavailable = await kafkaUnavailable();

describe.skipIf(unavailable !== undefined)(`sources.kafka against the mock broker${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let broker: KafkaBroker;
  let client: KafkaClient;
  let producer: Producer;
  const tmp = tempDir('weir-kafka-source-');
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

  async function topic(partitions: number): Promise<string> {
    const name = `src-${++topicSeq}`;
    await broker.createTopic(name, partitions);
    return name;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const source = <V = any>(options: Partial<KafkaSourceOptions> & { topic: string }) =>
    kafkaSource<V>({ brokers: broker.brokers, groupId: `g-${options.topic}`, ...FAST_GROUP, ...options });

  async function committed(groupId: string, topicName: string): Promise<Record<number, number>> {
    const admin = client.admin();
    await admin.connect();
    try {
      const [t] = await admin.fetchOffsets({ groupId, topics: [topicName] });
      return Object.fromEntries(t.partitions.map((p) => [p.partition, Number(p.offset)]));
    } finally {
      await admin.disconnect();
    }
  }

  it('bounded: reads every partition to the end offsets present at start, keys, headers and timestamps included', async () => {
    const name = await topic(3);
    const sent = [];
    for (let i = 0; i < 300; i++) sent.push({ partition: i % 3, key: `k${i}`, value: JSON.stringify({ i }), headers: { trace: `t${i}` }, timestamp: String(1_000_000 + i) });
    await producer.send({ topic: name, messages: sent });
    const out: KafkaRecord<{ i: number }, string>[] = [];
    const result = await pipeline('kafka-bounded').source(source({ topic: name, bounded: true })).sink(collectSink(out)).run();
    expect(result.steps.kafka.recordsOut).toBe(300);
    expect(out.map((r) => r.value!.i).sort((a, b) => a - b)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    const r7 = out.find((r) => r.value!.i === 7)!;
    expect(r7).toEqual({ topic: name, partition: 1, offset: 2, key: 'k7', value: { i: 7 }, headers: { trace: 't7' }, timestamp: 1_000_007 });
    for (const p of [0, 1, 2]) {
      const offsets = out.filter((r) => r.partition === p).map((r) => r.offset);
      expect(offsets).toEqual(Array.from({ length: 100 }, (_, i) => i));
    }
  });

  it('bounded: an empty topic ends at once', async () => {
    const name = await topic(2);
    const out: unknown[] = [];
    await pipeline('kafka-empty').source(source({ topic: name, bounded: true })).sink(collectSink(out)).run();
    expect(out).toEqual([]);
  });

  /** Open a bounded source's reader directly and read it to the end: records and dead letters. */
  async function drain<T>(src: Source<T>): Promise<{ records: T[]; deadLetters: DeadLetter[] }> {
    const controller = new AbortController();
    const reader = await src.open({ job: 'drain', name: src.name, signal: controller.signal, restored: undefined, now: () => Date.now() });
    const records: T[] = [];
    const deadLetters: DeadLetter[] = [];
    try {
      for (;;) {
        const chunk = await reader.read(1000);
        if (chunk === null) return { records, deadLetters };
        records.push(...chunk.records);
        deadLetters.push(...(chunk.deadLetters ?? []));
      }
    } finally {
      controller.abort();
      await reader.close?.();
    }
  }

  it('string, raw and Avro values (plain and Confluent-framed); undecodable records become dead letters with their offsets', async () => {
    const schema = { type: 'record', name: 'Click', fields: [{ name: 'user', type: 'string' }, { name: 'n', type: 'long' }] } as const;
    const type = avsc.Type.forSchema(schema as never);
    const framed = (id: number, v: unknown) => Buffer.concat([Buffer.from([0, 0, 0, 0, id]), type.toBuffer(v)]);
    const name = await topic(1);
    await producer.send({
      topic: name,
      messages: [{ value: type.toBuffer({ user: 'a', n: 1 }) }, { value: Buffer.from([1, 2, 3]) }, { value: type.toBuffer({ user: 'b', n: 2 }) }],
    });
    const plain = await drain(source({ topic: name, bounded: true, value: avroDeserializer({ schema }) }));
    expect(plain.records.map((r) => r.value)).toEqual([
      { user: 'a', n: 1 },
      { user: 'b', n: 2 },
    ]);
    expect(plain.deadLetters).toHaveLength(1);
    expect(plain.deadLetters[0].error.code).toBe('WEIR_BAD_RECORD');
    expect(plain.deadLetters[0].error.message).toMatch(new RegExp(`${name}:0 offset 1`));
    expect(plain.deadLetters[0].source).toEqual({ name: 'kafka', position: { [`${name}:0`]: 1 } });
    expect(plain.deadLetters[0].record).toMatchObject({ topic: name, partition: 0, offset: 1 });

    const framedTopic = await topic(1);
    await producer.send({ topic: framedTopic, messages: [{ value: framed(7, { user: 'c', n: 3 }) }, { value: framed(9, { user: 'd', n: 4 }) }, { value: framed(8, { user: 'x', n: 0 }) }] });
    const lookups: number[] = [];
    const confluent = await drain(
      source({
        topic: framedTopic,
        bounded: true,
        value: avroDeserializer({
          schemas: (id) => {
            lookups.push(id);
            if (id === 8) throw new Error('schema 8 not in the registry');
            return schema;
          },
        }),
      }),
    );
    expect(confluent.records.map((r) => r.value)).toEqual([
      { user: 'c', n: 3 },
      { user: 'd', n: 4 },
    ]);
    expect(lookups.sort()).toEqual([7, 8, 9]);
    expect(confluent.deadLetters.map((d) => (d.record as { offset: number }).offset)).toEqual([2]);

    const textTopic = await topic(1);
    await producer.send({ topic: textTopic, messages: [{ key: null, value: 'héllo' }, { key: 'k', value: null }] });
    const strings = await drain(source({ topic: textTopic, bounded: true, value: 'string' }));
    expect(strings.records.map((r) => [r.key, r.value])).toEqual([
      [null, 'héllo'],
      ['k', null],
    ]);
    const raws = (await drain(source({ topic: textTopic, bounded: true, value: 'raw', key: 'raw', groupId: 'raw-group' }))).records;
    expect(Buffer.isBuffer(raws[0].value)).toBe(true);
    expect((raws[0].value as Buffer).toString('utf8')).toBe('héllo');
    expect(Buffer.isBuffer(raws[1].key)).toBe(true);
  });

  it('per-partition watermarks: the minimum over partitions, an idle partition excluded after idleMs', async () => {
    const name = await topic(3);
    const send = (partition: number, t: number) => producer.send({ topic: name, messages: [{ partition, value: JSON.stringify({ t }), timestamp: String(t) }] });
    const clock = new ManualClock(0);
    const seen = recording<KafkaRecord>();
    const job = pipeline('kafka-watermarks')
      .source(source({ topic: name, pollTimeoutMs: 20 }), { timestamp: 'timestamp', watermark: boundedOutOfOrderness(0, { idleMs: 1000 }) })
      .sink(recordingSink(seen))
      .start({ clock });
    const until = async (what: () => boolean) => {
      const deadline = Date.now() + 20_000;
      while (!what()) {
        if (Date.now() > deadline) throw new Error(`timed out; watermarks so far: ${JSON.stringify(seen.watermarks)}, records ${seen.records.length}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    try {
      // Partition 2 never gets data: while it is not idle it holds the watermark back.
      await send(0, 1000);
      await send(0, 2000);
      await send(1, 500);
      await until(() => seen.records.length === 3);
      await new Promise((r) => setTimeout(r, 200));
      expect(seen.watermarks).toEqual([]);
      // 5 s later every partition is idle; partition 1 wakes up alone: the watermark follows it, not partition 0.
      clock.advance(5000);
      await send(1, 700);
      await until(() => seen.watermarks.length >= 1);
      expect(seen.watermarks).toEqual([699]);
      // Partition 0 wakes up too: the minimum of 0 (2999) and 1 (1499); partition 2 stays idle.
      await send(0, 3000);
      await until(() => seen.records.length === 5);
      await send(1, 1500);
      await until(() => seen.watermarks.length >= 2);
      expect(seen.watermarks).toEqual([699, 1499]);
    } finally {
      await job.stop();
    }
  });

  it('resumes from its checkpoint: a second run reads only what was added, and commits offsets to the group', async () => {
    const name = await topic(2);
    const groupId = `g-${name}-resume`;
    const state = `${tmp.dir}/resume-state`;
    const send = (from: number, to: number) =>
      producer.send({ topic: name, messages: Array.from({ length: to - from }, (_, k) => ({ partition: (from + k) % 2, value: JSON.stringify({ i: from + k }) })) });
    const run = async () => {
      const out: KafkaRecord<{ i: number }, string>[] = [];
      await pipeline('kafka-resume').source(source({ topic: name, groupId, bounded: true })).sink(collectSink(out)).run({ stateDir: state, checkpointInterval: 50 });
      return out.map((r) => r.value!.i).sort((a, b) => a - b);
    };
    await send(0, 100);
    expect(await run()).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(await committed(groupId, name)).toEqual({ 0: 50, 1: 50 });
    expect(await run()).toEqual([]);
    await send(100, 130);
    expect(await run()).toEqual(Array.from({ length: 30 }, (_, i) => 100 + i));
    expect(await committed(groupId, name)).toEqual({ 0: 65, 1: 65 });
  });

  it('unbounded: stop() takes a savepoint, commits its offsets, and the next run continues after it', async () => {
    const name = await topic(2);
    const groupId = `g-${name}-stop`;
    const state = `${tmp.dir}/stop-state`;
    const all: number[] = [];
    const start = () => {
      const out: KafkaRecord<{ i: number }, string>[] = [];
      const handle = pipeline('kafka-stop').source(source({ topic: name, groupId })).sink(collectSink(out)).start({ stateDir: state, checkpointInterval: 100 });
      return { handle, out };
    };
    const waitFor = async (out: unknown[], n: number) => {
      const deadline = Date.now() + 20_000;
      while (out.length < n) {
        if (Date.now() > deadline) throw new Error(`timed out with ${out.length} of ${n}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await producer.send({ topic: name, messages: Array.from({ length: 40 }, (_, i) => ({ partition: i % 2, value: JSON.stringify({ i }) })) });
    const first = start();
    await waitFor(first.out, 40);
    await first.handle.stop();
    all.push(...first.out.map((r) => r.value!.i));
    expect(await committed(groupId, name)).toEqual({ 0: 20, 1: 20 });
    await producer.send({ topic: name, messages: Array.from({ length: 10 }, (_, k) => ({ partition: k % 2, value: JSON.stringify({ i: 40 + k }) })) });
    const second = start();
    await waitFor(second.out, 10);
    await second.handle.stop();
    all.push(...second.out.map((r) => r.value!.i));
    expect(all.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});
