/**
 * The Kafka connectors against a real cluster: what the librdkafka mock used by the other Kafka
 * tests cannot show (it neither writes transaction markers, nor stores offsets sent in a
 * transaction, nor fences producers). Runs only when KAFKA_BROKERS is set, and is not part of
 * `npm test`:
 *
 *   KAFKA_BROKERS=localhost:9092 npm run test:kafka-real
 *
 * The cluster must allow topic creation through the admin API (topics are created per run with a
 * unique prefix and deleted at the end) and transactions (for a one-broker cluster:
 * transaction.state.log.replication.factor=1, transaction.state.log.min.isr=1,
 * offsets.topic.replication.factor=1).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Admin, Kafka as KafkaClient, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipeline } from '../../src/builder/pipeline.js';
import { batch } from '../../src/runtime/elements.js';
import type { SinkContext, TransactionalWriter } from '../../src/runtime/sink.js';
import { collectSink } from '../../src/sinks/collect-sink.js';
import { kafkaSink, type KafkaSinkTxn } from '../../src/sinks/kafka-sink.js';
import { kafkaSource, type KafkaRecord, type KafkaSourceOptions } from '../../src/sources/kafka-source.js';
import { tempDir } from '../support/files.js';

const { Kafka, logLevel } = createRequire(import.meta.url)('kafkajs') as typeof import('kafkajs');
const brokersEnv = process.env.KAFKA_BROKERS;
const eosJob = fileURLToPath(new URL('../fixtures/kafka-eos-job.js', import.meta.url));

describe.skipIf(brokersEnv === undefined)(`Kafka connectors against a real cluster${brokersEnv === undefined ? ' (skipped: set KAFKA_BROKERS=host:port to run)' : ` at ${brokersEnv}`}`, () => {
  const brokers = (brokersEnv ?? '').split(',');
  const prefix = `weir-it-${Date.now()}`;
  const created: string[] = [];
  const tmp = tempDir('weir-kafka-real-');
  let client: KafkaClient;
  let admin: Admin;
  let producer: Producer;
  let seq = 0;

  beforeAll(async () => {
    client = new Kafka({ brokers, clientId: 'weir-it', logLevel: logLevel.NOTHING });
    admin = client.admin();
    producer = client.producer();
    await admin.connect();
    await producer.connect();
  });
  afterAll(async () => {
    await admin?.deleteTopics({ topics: created }).catch(() => undefined);
    await producer?.disconnect();
    await admin?.disconnect();
    tmp.cleanup();
  });

  async function topic(partitions: number): Promise<string> {
    const name = `${prefix}-${++seq}`;
    await admin.createTopics({ topics: [{ topic: name, numPartitions: partitions }], waitForLeaders: true });
    created.push(name);
    return name;
  }

  const source = <V = unknown>(options: Partial<KafkaSourceOptions> & { topic: string }) =>
    kafkaSource<V>({ brokers, groupId: `${prefix}-g-${options.topic}-${Math.random()}`, sessionTimeoutMs: 6000, heartbeatIntervalMs: 500, maxWaitMs: 100, ...options });

  async function readCommitted<V>(name: string): Promise<KafkaRecord<V, string>[]> {
    const out: KafkaRecord<V, string>[] = [];
    await pipeline('it-read').source(source<V>({ topic: name, bounded: true, isolationLevel: 'read_committed' })).sink(collectSink(out)).run();
    return out;
  }

  function ctx(restored?: unknown): SinkContext {
    return { job: 'it', name: 'out', signal: new AbortController().signal, restored, now: () => Date.now() };
  }

  it('round trip: source and sink', async () => {
    const input = await topic(3);
    const output = await topic(2);
    await producer.send({ topic: input, messages: Array.from({ length: 300 }, (_, i) => ({ key: `k${i % 10}`, value: JSON.stringify({ i }) })) });
    await pipeline('it-round-trip')
      .source(source<{ i: number }>({ topic: input, bounded: true }))
      .map((r) => ({ i: r.value!.i, k: r.key }))
      .sink(kafkaSink({ brokers, topic: output, key: 'k' }))
      .run();
    const back = await readCommitted<{ i: number; k: string }>(output);
    expect(back.map((r) => r.value!.i).sort((a, b) => a - b)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    for (const r of back) expect(r.key).toBe(r.value!.k);
  });

  it('exactly-once: aborted transactions are invisible to read_committed consumers, committed ones visible', async () => {
    const output = await topic(1);
    const sink = kafkaSink<{ n: number }>({ brokers, topic: output, semantic: 'exactly-once', transactionalId: `${prefix}-abort` });
    const writer = (await sink.open(ctx())) as TransactionalWriter<{ n: number }, KafkaSinkTxn>;
    await writer.write(batch([{ n: 1 }], [1]));
    await writer.abort(await writer.preCommit(1));
    await writer.write(batch([{ n: 2 }], [2]));
    await writer.commit(await writer.preCommit(2));
    await writer.close?.();
    expect((await readCommitted<{ n: number }>(output)).map((r) => r.value!.n)).toEqual([2]);
  });

  it('recovery: a transaction pre-committed before a crash is committed by the restarted writer; its marker tells a second restart it happened', async () => {
    const output = await topic(1);
    const transactionalId = `${prefix}-resume`;
    const sink = kafkaSink<{ n: number }>({ brokers, topic: output, semantic: 'exactly-once', transactionalId });
    const first = (await sink.open(ctx())) as TransactionalWriter<{ n: number }, KafkaSinkTxn>;
    await first.write(batch([{ n: 1 }, { n: 2 }], [1, 2]));
    const txn = await first.preCommit(5);
    await first.close?.(); // crash between "checkpoint durable" and commit
    expect(await readCommitted(output)).toEqual([]);
    const second = (await sink.open(ctx(txn))) as TransactionalWriter<{ n: number }, KafkaSinkTxn>;
    await second.close?.();
    expect((await readCommitted<{ n: number }>(output)).map((r) => r.value!.n)).toEqual([1, 2]);
    const [marker] = await admin.fetchOffsets({ groupId: `weir.txn.${transactionalId}`, topics: [output] });
    expect(marker.partitions.find((p) => p.partition === 0)?.offset).toBe('5');
    // Restarting from the same checkpoint again (a crash loop): the epoch moved on, the marker says it happened.
    const third = (await sink.open(ctx(txn))) as TransactionalWriter<{ n: number }, KafkaSinkTxn>;
    await third.close?.();
    expect((await readCommitted<{ n: number }>(output)).map((r) => r.value!.n)).toEqual([1, 2]);
  });

  it('fencing: a new writer with the same transactional id fences its predecessor', async () => {
    const output = await topic(1);
    const transactionalId = `${prefix}-fence`;
    const sink = kafkaSink<{ n: number }>({ brokers, topic: output, semantic: 'exactly-once', transactionalId });
    const zombie = (await sink.open(ctx())) as TransactionalWriter<{ n: number }, KafkaSinkTxn>;
    await zombie.write(batch([{ n: 1 }], [1]));
    const successor = (await sink.open(ctx())) as TransactionalWriter<{ n: number }, KafkaSinkTxn>;
    await expect(Promise.resolve().then(async () => zombie.commit(await zombie.preCommit(1)))).rejects.toThrow();
    await zombie.close?.();
    await successor.write(batch([{ n: 2 }], [2]));
    await successor.commit(await successor.preCommit(1));
    await successor.close?.();
    expect((await readCommitted<{ n: number }>(output)).map((r) => r.value!.n)).toEqual([2]);
  });

  it('Kafka → Kafka exactly-once under SIGKILL: the committed output holds every input record once, and the group offsets sent in the transactions reach the end', async () => {
    const input = await topic(4);
    const output = await topic(4);
    const count = 60_000;
    for (let i = 0; i < count; i += 5000) {
      await producer.send({ topic: input, messages: Array.from({ length: Math.min(5000, count - i) }, (_, k) => ({ partition: (i + k) % 4, value: JSON.stringify({ i: i + k }) })) });
    }
    const groupId = `${prefix}-eos-job`;
    const run = (killAfterMs?: number) => {
      const child = spawn(process.execPath, [eosJob, brokers.join(','), input, output, groupId, '--state-dir', `${tmp.dir}/eos-state`, '--checkpoint-interval', '200'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      let timer: NodeJS.Timeout | undefined;
      child.stdout.on('data', (d: Buffer) => {
        if (killAfterMs !== undefined && timer === undefined && d.toString().includes('reading')) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      });
      return once(child, 'exit').then(([code, signal]) => {
        clearTimeout(timer);
        return { code: code as number | null, signal: signal as string | null, stderr };
      });
    };
    for (let attempt = 0; ; attempt++) {
      expect(attempt).toBeLessThan(30);
      const result = await run(attempt < 6 ? 200 + Math.floor(Math.random() * 1500) : undefined);
      if (result.signal === 'SIGKILL') continue;
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      break;
    }
    const out = await readCommitted<{ i: number }>(output);
    expect(out.map((r) => r.value!.i).sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, i) => i));
    const [committed] = await admin.fetchOffsets({ groupId, topics: [input] });
    expect(committed.partitions.map((p) => Number(p.offset)).sort()).toEqual([15_000, 15_000, 15_000, 15_000]);
  }, 600_000);
});
