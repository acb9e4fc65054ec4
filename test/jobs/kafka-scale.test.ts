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

const repartitionJob = fileURLToPath(new URL('../fixtures/kafka-repartition-job.js', import.meta.url));
const USERS = 5;

interface UserRow {
  readonly i: number;
  readonly user: string;
  /** The source partition the record was read from. */
  readonly p: number;
  /** The running count of `user`. */
  readonly n: number;
}

describe.skipIf(unavailable !== undefined)(`a scaled-out job repartitioning by a key that is not the message key${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let broker: KafkaBroker;
  const tmp = tempDir('weir-kafka-repartition-');
  const JOB = 'repart-job';

  beforeAll(async () => {
    broker = await startKafkaBroker({
      topics: {
        'repart-kill': PARTITIONS,
        [`${JOB}.keyBy.repartition`]: PARTITIONS,
        'repart-join': PARTITIONS,
        'join-job.keyBy.repartition': PARTITIONS,
        'repart-bad': PARTITIONS,
        'bad-job.keyBy.repartition': 2,
      },
    });
  });
  afterAll(async () => {
    await broker?.stop();
    tmp.cleanup();
  });

  function start(topic: string, job: string): JobProcess {
    const child = spawn(
      process.execPath,
      [repartitionJob, broker.brokers.join(','), topic, topic, `${tmp.dir}/${topic}/out`, job, '--scale-out', '--state-dir', `${tmp.dir}/${topic}/state`, '--checkpoint-interval', '100'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const reading = new Promise<void>((resolve) => child.stdout!.on('data', (d: Buffer) => d.toString().includes('reading') && resolve()));
    const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as string | null }));
    return { child, reading, partitions: new Set(), exited, stderr: () => stderr };
  }

  /**
   * Feed `{ i, user: u<i % 5> }` round robin over the partitions (every user on every partition)
   * while `during` runs two processes of job `job`, then a last 400; wait until the survivors
   * committed every record, stop them, and check: every record once, per user the counts exactly 1..N.
   */
  async function scenario(topic: string, job: string, during: (a: JobProcess, b: () => JobProcess, jobs: JobProcess[]) => Promise<void>): Promise<void> {
    const kafka = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    let next = 0;
    let producing = true;
    const produce = (n: number) =>
      producer.send({
        topic,
        messages: Array.from({ length: n }, () => {
          const i = next++;
          return { partition: i % PARTITIONS, key: `k${i}`, value: JSON.stringify({ i, user: `u${i % USERS}` }) };
        }),
      });
    const feeding = (async () => {
      while (producing) {
        await produce(100);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const jobs: JobProcess[] = [start(topic, job)];
    try {
      await during(jobs[0], () => {
        jobs.push(start(topic, job));
        return jobs[1];
      }, jobs);
      producing = false;
      await feeding;
      await produce(400);
      const total = next;
      const deadline = Date.now() + 90_000;
      const out = `${tmp.dir}/${topic}/out`;
      const running = () => jobs.filter((j) => j.child.exitCode === null && j.child.signalCode === null);
      while (committedRecords<UserRow>(out).length < total) {
        if (Date.now() > deadline || running().length === 0) {
          throw new Error(`${committedRecords<UserRow>(out).length} of ${total} records committed; ${jobs.map((j, i) => `job ${i} stderr ${JSON.stringify(j.stderr().slice(-2000))}`).join('; ')}`);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      await new Promise((r) => setTimeout(r, 500));
      const survivors = running();
      for (const j of survivors) j.child.kill('SIGTERM');
      for (const j of survivors) expect(await within(j.exited, 40_000, 'the processes to stop', jobs)).toEqual({ code: 0, signal: null });
      const rows = committedRecords<UserRow>(out);
      const seen = rows.map((r) => r.i).sort((x, y) => x - y);
      if (seen.length !== total) {
        const count = new Map<number, number>();
        for (const r of rows) count.set(r.i, (count.get(r.i) ?? 0) + 1);
        throw new Error(`${seen.length} rows for ${total} records; duplicated: ${[...count].filter(([, c]) => c > 1).slice(0, 20).map(([i, c]) => `${i}×${c}`).join(' ')}`);
      }
      expect(seen).toEqual(Array.from({ length: total }, (_, i) => i));
      for (const r of rows) expect(r.p).toBe(r.i % PARTITIONS);
      // Each user's state lived in one task: its counts are exactly 1..N, none repeated or skipped.
      for (let u = 0; u < USERS; u++) {
        const ns = rows.filter((r) => r.user === `u${u}`).map((r) => r.n).sort((x, y) => x - y);
        expect(ns.length).toBeGreaterThan(0);
        expect(ns).toEqual(ns.map((_, i) => i + 1));
      }
    } finally {
      producing = false;
      await feeding.catch(() => undefined);
      for (const p of jobs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      await producer.disconnect();
    }
  }

  it('one of two processes is SIGKILLed at a random moment: every record once, and per user the counts are exactly 1..N', async () => {
    await scenario('repart-kill', JOB, async (a, second, jobs) => {
      const b = second();
      await within(Promise.all([a.reading, b.reading]), 30_000, 'both processes to read', jobs);
      await new Promise((r) => setTimeout(r, 300 + Math.floor(Math.random() * 1500)));
      // The survivor takes over A's tasks (and their share of the repartition topic) from their checkpoints.
      a.child.kill('SIGKILL');
      expect((await within(a.exited, 10_000, 'the killed process to exit', jobs)).signal).toBe('SIGKILL');
    });
  }, 180_000);

  it('a second process joining takes tasks over with savepoints (repartition offsets and sequence numbers included): every record once, counts exact', async () => {
    await scenario('repart-join', 'join-job', async (a, second, jobs) => {
      await within(a.reading, 30_000, 'the first process to read', jobs);
      await new Promise((r) => setTimeout(r, 500 + Math.floor(Math.random() * 1000)));
      const b = second();
      await within(b.reading, 60_000, 'the second process to read', jobs);
      await new Promise((r) => setTimeout(r, 500 + Math.floor(Math.random() * 1000)));
    });
  }, 180_000);

  it('fails to start, naming the topic and the partition count, when the repartition topic has another partition count', async () => {
    const p = start('repart-bad', 'bad-job');
    try {
      const exit = await within(p.exited, 30_000, 'the process to fail', [p]);
      expect(exit.code).not.toBe(0);
      expect(p.stderr()).toMatch(/"bad-job\.keyBy\.repartition", which has 2 partitions; it needs 4 partitions/);
    } finally {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    }
  }, 60_000);
});
