import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * A Kafka-protocol broker for tests: librdkafka's mock cluster (Debian package librdkafka-dev) run
 * as its own process by the small C program next to this file, built with gcc on first use into a
 * cache directory under the OS temp dir (keyed by a hash of the source and the librdkafka
 * version, so parallel test files share one build). It listens on random loopback ports and exits
 * when our end of its stdin closes, so a crashed test never leaves it behind.
 *
 * When gcc or the librdkafka headers are missing, {@link kafkaUnavailable} gives a one-line reason
 * and the Kafka tests skip, except in CI (`CI=true`), where a missing prerequisite is an error.
 *
 * What the mock does not do (librdkafka 2.0.2): enforce transactions (no commit/abort markers,
 * offsets sent with a transaction are not stored, no fencing), CreateTopics (topics are created
 * through this program), compaction, offsets by timestamp. Retention is 5 MiB or 100,000 batches
 * per partition. Its first group join waits 3 s (the broker's initial rebalance delay), later
 * rebalances sessionTimeout − 1 s.
 *
 * @example
 * ```ts
 * const reason = await kafkaUnavailable();
 * describe.skipIf(reason !== undefined)('kafka', () => {
 *   let broker: KafkaBroker;
 *   beforeAll(async () => { broker = await startKafkaBroker({ topics: { clicks: 4 } }); });
 *   afterAll(() => broker.stop());
 * });
 * ```
 */
export interface KafkaBroker {
  /** Bootstrap addresses, `127.0.0.1:port`. */
  readonly brokers: string[];
  /** Create a topic (the mock does not support the CreateTopics admin call). */
  createTopic(name: string, partitions: number): Promise<void>;
  /** Stop the broker (idempotent). */
  stop(): Promise<void>;
}

/** Consumer settings that make the mock's rebalances and deliveries fast enough for tests. */
export const FAST_GROUP = { sessionTimeoutMs: 3000, heartbeatIntervalMs: 300, maxWaitMs: 100 } as const;

const SOURCE = fileURLToPath(new URL('./kafka-mock-broker.c', import.meta.url));
const run = promisify(execFile);

let built: Promise<string> | undefined;

/**
 * Why the mock broker cannot run here (a one-line reason), or undefined when it can. Builds the
 * broker program on first call. With `CI=true` a missing prerequisite throws instead.
 */
export async function kafkaUnavailable(): Promise<string | undefined> {
  try {
    await buildBroker();
    return undefined;
  } catch (err) {
    const reason = (err as Error).message;
    if (process.env.CI === 'true') throw new Error(`Kafka tests cannot run in CI: ${reason}`, { cause: err });
    return reason;
  }
}

/** Build (once) and return the path of the broker program. */
export function buildBroker(): Promise<string> {
  return (built ??= build());
}

async function build(): Promise<string> {
  const source = readFileSync(SOURCE);
  try {
    await run('gcc', ['--version']);
  } catch {
    throw new Error('gcc not found (apt-get install gcc libc6-dev)');
  }
  let flags = ['-lrdkafka'];
  let version = 'unknown';
  try {
    const { stdout } = await run('pkg-config', ['--cflags', '--libs', 'rdkafka']);
    flags = stdout.trim().split(/\s+/).filter(Boolean);
    version = (await run('pkg-config', ['--modversion', 'rdkafka'])).stdout.trim();
  } catch {
    // No pkg-config or no .pc file: try the default include and library paths.
  }
  const hash = createHash('sha1').update(source).update(version).digest('hex').slice(0, 12);
  const dir = join(tmpdir(), 'weir-kafka-mock');
  const binary = join(dir, `kafka-mock-broker-${hash}`);
  if (existsSync(binary)) return binary;
  mkdirSync(dir, { recursive: true });
  const partial = `${binary}.${process.pid}.tmp`;
  try {
    await run('gcc', ['-O2', '-o', partial, SOURCE, ...flags]);
  } catch (err) {
    rmSync(partial, { force: true });
    const stderr = String((err as { stderr?: string }).stderr ?? err);
    if (/rdkafka(_mock)?\.h/.test(stderr)) throw new Error('librdkafka headers not found (apt-get install librdkafka-dev)');
    if (/-lrdkafka|cannot find -l/.test(stderr)) throw new Error('librdkafka library not found (apt-get install librdkafka-dev)');
    throw new Error(`cannot build the mock Kafka broker: ${stderr.split('\n').find((l) => /error/i.test(l)) ?? stderr.slice(0, 200)}`);
  }
  // Atomic: parallel test files building at once each rename a complete binary.
  renameSync(partial, binary);
  return binary;
}

/**
 * Start a mock cluster with `topics` (name → partition count) created.
 *
 * @example
 * ```ts
 * const broker = await startKafkaBroker({ topics: { in: 4, out: 2 } });
 * ```
 */
export async function startKafkaBroker(options: { topics?: Record<string, number>; brokers?: number } = {}): Promise<KafkaBroker> {
  const binary = await buildBroker();
  const args = [...(options.brokers === undefined ? [] : ['--brokers', String(options.brokers)])];
  for (const [name, partitions] of Object.entries(options.topics ?? {})) args.push(`${name}:${partitions}`);
  const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = createInterface({ input: child.stdout! });
  const replies: string[] = [];
  let waiting: ((line: string | undefined) => void) | undefined;
  lines.on('line', (line) => {
    if (waiting !== undefined) {
      const w = waiting;
      waiting = undefined;
      w(line);
    } else {
      replies.push(line);
    }
  });
  lines.on('close', () => waiting?.(undefined));
  const nextLine = (): Promise<string | undefined> =>
    replies.length > 0 ? Promise.resolve(replies.shift()) : new Promise((resolve) => (waiting = resolve));

  const first = await nextLine();
  if (first === undefined || !/^[\d.]+:\d+/.test(first)) {
    child.kill('SIGKILL');
    throw new Error(`mock Kafka broker did not start: ${stderr.trim() || first || 'no output'}`);
  }
  return new MockBroker(child, lines, first.split(','), nextLine, () => stderr);
}

class MockBroker implements KafkaBroker {
  readonly brokers: string[];
  readonly #child: ChildProcess;
  readonly #lines: Interface;
  readonly #nextLine: () => Promise<string | undefined>;
  readonly #stderr: () => string;
  #queue: Promise<unknown> = Promise.resolve();
  #stopped: Promise<void> | undefined;

  constructor(child: ChildProcess, lines: Interface, brokers: string[], nextLine: () => Promise<string | undefined>, stderr: () => string) {
    this.#child = child;
    this.#lines = lines;
    this.brokers = brokers;
    this.#nextLine = nextLine;
    this.#stderr = stderr;
  }

  createTopic(name: string, partitions: number): Promise<void> {
    const task = this.#queue.then(async () => {
      this.#child.stdin!.write(`topic ${name} ${partitions}\n`);
      const reply = await this.#nextLine();
      if (reply !== 'ok') throw new Error(`mock Kafka broker: cannot create topic ${name}: ${reply ?? this.#stderr()}`);
    });
    this.#queue = task.catch(() => undefined);
    return task;
  }

  stop(): Promise<void> {
    return (this.#stopped ??= (async () => {
      const child = this.#child;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      this.#lines.close();
    })());
  }
}
