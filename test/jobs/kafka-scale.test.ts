import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { committedRecords, tempDir } from '../support/files.js';
import { kafkaUnavailable, startKafkaBroker, type KafkaBroker } from '../support/kafka-broker.js';

const { Kafka, logLevel } = createRequire(import.meta.url)('kafkajs') as typeof import('kafkajs');
const job = fileURLToPath(new URL('../fixtures/kafka-scale-job.js', import.meta.url));
const PARTITIONS = 4;

interface Row {
  readonly p: number;
  readonly o: number;
  readonly k: string;
  /** The running count of key `k` (keyed state that moves with its partition). */
  readonly n: number;
  readonly v: { i: number };
}
const KEYS = 8;

/** A job process: its exit, its stderr, a promise for its first record, the partitions it read from. */
interface JobProcess {
  readonly child: ChildProcess;
  readonly reading: Promise<void>;
  readonly partitions: Set<number>;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  stderr(): string;
}

const unavailable = await kafkaUnavailable();

describe.skipIf(unavailable !== undefined)(`two job processes sharing a topic${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let broker: KafkaBroker;
  const tmp = tempDir('weir-kafka-scale-');

  beforeAll(async () => {
    broker = await startKafkaBroker({ topics: { 'scale-kill': PARTITIONS, 'scale-join': PARTITIONS } });
  });
  afterAll(async () => {
    await broker?.stop();
    tmp.cleanup();
  });

  /** A process of the job: the processes of a group share its state directory and its output directory. */
  function start(groupId: string): JobProcess {
    const child = spawn(
      process.execPath,
      [job, broker.brokers.join(','), groupId, groupId, `${tmp.dir}/${groupId}/out`, '--scale-out', '--state-dir', `${tmp.dir}/${groupId}/state`, '--checkpoint-interval', '100'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const partitions = new Set<number>();
    const reading = new Promise<void>((resolve) =>
      child.stdout!.on('data', (d: Buffer) => {
        const text = d.toString();
        if (text.includes('reading')) resolve();
        for (const m of text.matchAll(/partition (\d+)/g)) partitions.add(Number(m[1]));
      }),
    );
    const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as string | null }));
    return { child, reading, partitions, exited, stderr: () => stderr };
  }

  /** `promise`, or an error naming `label` and what the job processes said after `ms`. */
  function within<T>(promise: Promise<T>, ms: number, label: string, jobs: JobProcess[]): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const state = jobs.map((j, i) => `job ${i}: exit ${j.child.exitCode ?? j.child.signalCode ?? 'running'}, stderr ${JSON.stringify(j.stderr().slice(-2000))}`);
        reject(new Error(`timed out waiting for ${label}; ${state.join('; ')}`));
      }, ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  async function until(what: () => Promise<boolean>, label: () => string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await what())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${label()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Every record exactly once in the shared output directory, and per key the counts 1, 2, 3… in offset order. */
  function checkOutput(groupId: string, total: number, jobs: JobProcess[]): void {
    const rows = committedRecords<Row>(`${tmp.dir}/${groupId}/out`);
    const seen = rows.map((r) => r.v.i).sort((x, y) => x - y);
    if (seen.length !== total) {
      const count = new Map<number, Row[]>();
      for (const r of rows) count.set(r.v.i, [...(count.get(r.v.i) ?? []), r]);
      const dups = [...count.values()].filter((list) => list.length > 1).map((list) => `p${list[0].p}:${list[0].o}×${list.length}`);
      const stderr = jobs.map((j, i) => `job ${i} stderr ${JSON.stringify(j.stderr())}`).join('; ');
      throw new Error(`${seen.length} rows for ${total} records; duplicated: ${dups.slice(0, 20).join(' ')}; ${stderr}`);
    }
    expect(seen).toEqual(Array.from({ length: total }, (_, i) => i));
    for (const r of rows) expect(r.p).toBe(r.v.i % PARTITIONS);
    // The state moved with its partition, exactly: no count repeated or skipped.
    for (let k = 0; k < KEYS; k++) {
      const ofKey = rows.filter((r) => r.k === `k${k}`).sort((x, y) => x.o - y.o);
      expect(ofKey.map((r) => r.n)).toEqual(ofKey.map((_, i) => i + 1));
    }
  }

  /** Produce `{ i }` records round robin over the partitions, key `k<i % KEYS>`, in the background until stopped. */
  function feeder(producer: import('kafkajs').Producer, topic: string) {
    let next = 0;
    let producing = true;
    const produce = async (n: number) => {
      const messages = Array.from({ length: n }, () => {
        const i = next++;
        // Key k lives on partition k % PARTITIONS only: keyed state is partitioned by source partition.
        return { partition: i % PARTITIONS, key: `k${i % KEYS}`, value: JSON.stringify({ i }) };
      });
      await producer.send({ topic, messages });
    };
    const feeding = (async () => {
      while (producing) {
        await produce(100);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    return {
      /** Stop the background loop, then produce a last `tail` records; resolves to the total produced. */
      async finish(tail: number): Promise<number> {
        producing = false;
        await feeding;
        await produce(tail);
        return next;
      },
      stop: () => {
        producing = false;
        return feeding.catch(() => undefined);
      },
    };
  }

  /** Until the group's committed offsets reach the end of every partition (each test's topic is named after its group). */
  async function caughtUp(admin: import('kafkajs').Admin, groupId: string, jobs: JobProcess[]): Promise<void> {
    await until(async () => {
      const ends = await admin.fetchTopicOffsets(groupId);
      const [committed] = await admin.fetchOffsets({ groupId, topics: [groupId] });
      return ends.every((e) => committed.partitions.find((c) => c.partition === e.partition)?.offset === e.high);
    }, () => `the job to commit the end offsets of every partition (${jobs.map((j, i) => `job ${i} stderr ${JSON.stringify(j.stderr())}`).join('; ')})`);
  }

  it('split the partitions; one is SIGKILLed at a random moment, the other takes over its partitions with their keyed state; every record is in the output exactly once, every count exact', async () => {
    const kafka = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    const admin = kafka.admin();
    await producer.connect();
    await admin.connect();
    const groupId = 'scale-kill';
    const feed = feeder(producer, groupId);
    const a = start(groupId);
    const b = start(groupId);
    try {
      // Both joined the group (one generation: the mock waits 3 s for members before the first assignment) and read.
      await within(Promise.all([a.reading, b.reading]), 30_000, 'both processes to read', [a, b]);
      await new Promise((r) => setTimeout(r, 300 + Math.floor(Math.random() * 1500)));
      const ofA = [...a.partitions];
      a.child.kill('SIGKILL');
      expect((await within(a.exited, 10_000, 'the killed process to exit', [a, b])).signal).toBe('SIGKILL');
      await new Promise((r) => setTimeout(r, 500));
      const total = await feed.finish(400);
      // B takes over A's partitions once the group expires A (session timeout) and catches up.
      await caughtUp(admin, groupId, [a, b]);
      b.child.kill('SIGTERM');
      expect(await within(b.exited, 40_000, 'the survivor to stop', [a, b])).toEqual({ code: 0, signal: null });
      expect(b.stderr()).toMatch(/^(weir: SIGTERM received, stopping gracefully \(send again to force\)\n)?$/);
      for (const p of ofA) expect(b.partitions.has(p)).toBe(true);
      checkOutput(groupId, total, [a, b]);
    } finally {
      await feed.stop();
      for (const p of [a, b]) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      await producer.disconnect();
      await admin.disconnect();
    }
  }, 180_000);

  it('a second process joining takes half the partitions: the first hands them over with a savepoint, the second resumes there; exact output and counts', async () => {
    const kafka = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    const admin = kafka.admin();
    await producer.connect();
    await admin.connect();
    const groupId = 'scale-join';
    const feed = feeder(producer, groupId);
    const a = start(groupId);
    let b: JobProcess | undefined;
    try {
      await within(a.reading, 30_000, 'the first process to read', [a]);
      await new Promise((r) => setTimeout(r, 500 + Math.floor(Math.random() * 1000)));
      b = start(groupId);
      await within(b.reading, 60_000, 'the second process to read', [a, b]);
      await new Promise((r) => setTimeout(r, 500 + Math.floor(Math.random() * 1000)));
      const total = await feed.finish(400);
      await caughtUp(admin, groupId, [a, b]);
      for (const p of [a, b]) p.child.kill('SIGTERM');
      for (const p of [a, b]) expect(await within(p.exited, 40_000, 'the processes to stop', [a, b])).toEqual({ code: 0, signal: null });
      // The first read every partition, the second took some of them over.
      expect(a.partitions.size).toBe(PARTITIONS);
      expect(b.partitions.size).toBeGreaterThan(0);
      checkOutput(groupId, total, [a, b]);
    } finally {
      await feed.stop();
      for (const p of [a, b]) if (p !== undefined && p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      await producer.disconnect();
      await admin.disconnect();
    }
  }, 180_000);
});
