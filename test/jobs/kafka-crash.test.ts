import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { committedRecords, tempDir } from '../support/files.js';
import { committedLines, crashEpisodes, seededRandom } from '../support/crash-episodes.js';
import { kafkaUnavailable, startKafkaBroker, type KafkaBroker } from '../support/kafka-broker.js';

const { Kafka, logLevel } = createRequire(import.meta.url)('kafkajs') as typeof import('kafkajs');
const job = fileURLToPath(new URL('../fixtures/kafka-crash-job.js', import.meta.url));
/** SIGKILLs per run; raise with WEIR_KAFKA_CRASH_KILLS for a soak. Each restart rejoins the group (3–6 s on the mock). */
const KILLS = Number(process.env.WEIR_KAFKA_CRASH_KILLS ?? 8);
/** The same for the scaled-out job. */
const SCALED_KILLS = Number(process.env.WEIR_KAFKA_CRASH_KILLS ?? 4);
const COUNT = 150_000;
const PARTITIONS = 4;

/**
 * Clicks with event time in the Kafka timestamp: record i at 5·i ms, up to 1.5 s early, spread
 * over the partitions round robin, so each partition is out of order by at most 1.5 s.
 */
async function produceClicks(brokers: string[], topic: string, count: number): Promise<void> {
  const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  let seed = 7;
  const random = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  try {
    for (let i = 0; i < count; i += 5000) {
      const messages = [];
      for (let j = i; j < Math.min(count, i + 5000); j++) {
        const user = `u${random(40)}`;
        const t = 1_700_000_000_000 + j * 5 - random(300) * 5;
        messages.push({ partition: j % PARTITIONS, key: user, value: JSON.stringify({ user, amount: random(100), t }), timestamp: String(t) });
      }
      await producer.send({ topic, messages });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Lines of the committed output as a sorted multiset. */
const output = committedLines;

const unavailable = await kafkaUnavailable();

describe.skipIf(unavailable !== undefined)(`Kafka → window → file, exactly-once under SIGKILL${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let broker: KafkaBroker;
  const tmp = tempDir('weir-kafka-crash-');

  beforeAll(async () => {
    broker = await startKafkaBroker({ topics: { clicks: PARTITIONS } });
    await produceClicks(broker.brokers, 'clicks', COUNT);
  });
  afterAll(async () => {
    await broker?.stop();
    tmp.cleanup();
  });

  /** Run the job; with `killAfterMs`, SIGKILL it that long after it started reading. */
  function run(
    groupId: string,
    outDir: string,
    stateDir: string,
    killAfterMs?: number,
    flags: readonly string[] = [],
  ): Promise<{ code: number | null; signal: string | null; stderr: string; readingMs: number }> {
    const child = spawn(process.execPath, [job, broker.brokers.join(','), 'clicks', groupId, outDir, '--state-dir', stateDir, '--checkpoint-interval', '40', ...flags], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let timer: NodeJS.Timeout | undefined;
    let readingAt: number | undefined;
    child.stdout.on('data', (d: Buffer) => {
      if (readingAt === undefined && d.toString().includes('reading')) {
        readingAt = Date.now();
        if (killAfterMs !== undefined) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    return once(child, 'exit').then(([code, signal]) => {
      clearTimeout(timer);
      return { code: code as number | null, signal: signal as string | null, stderr, readingMs: Date.now() - (readingAt ?? Date.now()) };
    });
  }

  it(`killed ${KILLS} times at random moments while reading, the committed output equals an uninterrupted run`, async () => {
    const clean = await run('clean', `${tmp.dir}/clean-out`, `${tmp.dir}/clean-state`);
    expect(clean.stderr).toBe('');
    expect(clean.code).toBe(0);
    const expected = output(`${tmp.dir}/clean-out`);
    expect(expected.length).toBeGreaterThan(1000);
    expect(committedRecords<{ n: number }>(`${tmp.dir}/clean-out`).reduce((s, r) => s + r.n, 0)).toBe(COUNT);

    const random = seededRandom(4242);
    // Kill somewhere within the time a whole run spends reading, so kills land mid-work however
    // fast or loaded the machine is; a run that still finishes first just ends its episode.
    const window = Math.max(50, Math.min(1200, clean.readingMs));
    const kills = await crashEpisodes({
      kills: KILLS,
      expected,
      killAt: (attempt) => (attempt < KILLS ? Math.floor(random() * window) : undefined),
      run: (episode, killAt) => run(`crash-${episode}`, `${tmp.dir}/crash-out-${episode}`, `${tmp.dir}/crash-state-${episode}`, killAt),
      output: (episode) => output(`${tmp.dir}/crash-out-${episode}`),
    });
    expect(kills).toBeGreaterThanOrEqual(KILLS);
  }, 600_000);

  it(`scaled out (one task per partition, --scale-out), killed ${SCALED_KILLS} times at random moments, the committed output equals an uninterrupted scaled-out run`, async () => {
    const flags = ['--scale-out'];
    const clean = await run('scaled-clean', `${tmp.dir}/scaled-clean-out`, `${tmp.dir}/scaled-clean-state`, undefined, flags);
    expect(clean.stderr).toBe('');
    expect(clean.code).toBe(0);
    const expected = output(`${tmp.dir}/scaled-clean-out`);
    // Each task windows its own partition: every record is counted once over all of them.
    expect(committedRecords<{ n: number }>(`${tmp.dir}/scaled-clean-out`).reduce((s, r) => s + r.n, 0)).toBe(COUNT);

    const random = seededRandom(777);
    const window = Math.max(50, Math.min(1200, clean.readingMs));
    const kills = await crashEpisodes({
      kills: SCALED_KILLS,
      expected,
      killAt: (attempt) => (attempt < SCALED_KILLS ? Math.floor(random() * window) : undefined),
      run: (episode, killAt) => run(`scaled-${episode}`, `${tmp.dir}/scaled-out-${episode}`, `${tmp.dir}/scaled-state-${episode}`, killAt, flags),
      output: (episode) => output(`${tmp.dir}/scaled-out-${episode}`),
    });
    expect(kills).toBeGreaterThanOrEqual(SCALED_KILLS);
  }, 600_000);
});
