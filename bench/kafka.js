// Kafka → weir → Kafka throughput next to a bare kafkajs consume/produce loop, on the same broker
// and the same input: every record is JSON-parsed, converted (price in cents → euros, a field
// added) and produced, keyed by user, to an output topic. Both read the whole input topic once
// (bounded) with their own consumer group and write with an idempotent producer (acks=all).
//
//   npm run build && node bench/kafka.js [--events N] [--partitions P] [--repeat R] [--brokers host:port,...]
//
// Without --brokers (or KAFKA_BROKERS) it builds and starts librdkafka's mock cluster (needs gcc
// and librdkafka-dev, like the tests) and produces the input once. Each implementation runs in a
// fresh process; the table shows records/s over the whole run (group join included: the mock's
// first join waits 3 s) and over the steady state (first record in → last record acknowledged).
// The checksums (count and sum of the converted values) must agree. Results: bench/results/kafka.json.
// Not part of `npm run bench` (it needs a broker): this module exports no `cases`.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const USERS = 1000;

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const flags = parseFlags(process.argv.slice(2));
  if (flags.child !== undefined) await child(flags);
  else await main(flags);
}

function parseFlags(args) {
  const flags = { events: 500_000, partitions: 16, repeat: 1 };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = () => args[++i];
    if (a === '--events') flags.events = Number(value());
    else if (a === '--partitions') flags.partitions = Number(value());
    else if (a === '--repeat') flags.repeat = Number(value());
    else if (a === '--brokers') flags.brokers = value();
    else if (a === '--child') flags.child = value();
    else if (a === '--topic') flags.topic = value();
    else if (a === '--out') flags.out = value();
    else throw new Error(`bench/kafka.js: unknown flag ${a}`);
  }
  for (const k of ['events', 'partitions', 'repeat']) {
    if (!(Number.isInteger(flags[k]) && flags[k] > 0)) throw new Error(`bench/kafka.js: --${k} must be a positive integer, got ${flags[k]}`);
  }
  return flags;
}

async function main(flags) {
  const { Kafka, logLevel } = require('kafkajs');
  let broker;
  let brokers = flags.brokers ?? process.env.KAFKA_BROKERS;
  const topic = `bench-in-${flags.events}-${Date.now()}`;
  if (brokers === undefined) {
    broker = await startMockBroker({});
    brokers = broker.brokers;
  }
  const createTopic = async (name) => {
    if (broker !== undefined) return broker.createTopic(name, flags.partitions);
    const admin = new Kafka({ brokers: brokers.split(','), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: name, numPartitions: flags.partitions }] });
    await admin.disconnect();
  };
  try {
    await createTopic(topic);
    const t0 = performance.now();
    const bytes = await produceInput(brokers, topic, flags.events);
    console.log(`input: ${flags.events} records (${(bytes / 2 ** 20).toFixed(1)} MiB) in ${flags.partitions} partitions, produced in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const results = {};
    for (const impl of ['baseline', 'weir']) {
      for (let r = 0; r < flags.repeat; r++) {
        const out = `${topic}-out-${impl}-${r}`;
        await createTopic(out);
        const result = await runChild(impl, brokers, topic, out);
        if (results[impl] === undefined || result.steadyMs < results[impl].steadyMs) results[impl] = result;
      }
    }
    const { baseline, weir } = results;
    const agree = baseline.checksum === weir.checksum;
    const rate = (n, ms) => Math.round((n / ms) * 1000);
    const rows = ['baseline', 'weir'].map((impl) => ({
      impl: impl === 'weir' ? 'weir (kafka → map → kafka)' : 'bare kafkajs loop',
      records: results[impl].count,
      totalMs: Math.round(results[impl].totalMs),
      steadyMs: Math.round(results[impl].steadyMs),
      recordsPerSecTotal: rate(results[impl].count, results[impl].totalMs),
      recordsPerSecSteady: rate(results[impl].count, results[impl].steadyMs),
      peakRssMb: Math.round(results[impl].maxRssMb),
    }));
    console.table(rows);
    console.log(`weir / baseline steady-state time: ${(weir.steadyMs / baseline.steadyMs).toFixed(2)}; checksums ${agree ? 'agree' : `DIFFER (${weir.checksum} vs ${baseline.checksum})`}`);
    mkdirSync(join(here, 'results'), { recursive: true });
    writeFileSync(
      join(here, 'results', 'kafka.json'),
      JSON.stringify({ at: new Date().toISOString(), node: process.version, cpus: os.cpus().length, broker: broker === undefined ? 'external' : 'librdkafka mock', events: flags.events, partitions: flags.partitions, rows }, null, 2) + '\n',
    );
    if (!agree) process.exitCode = 1;
  } finally {
    await broker?.stop();
  }
}

/** Run one implementation in a fresh process; it prints one JSON line. */
function runChild(impl, brokers, topic, out) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', impl, '--brokers', brokers, '--topic', topic, '--out', out], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    p.stdout.on('data', (d) => (text += d));
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(text.trim().split('\n').pop())) : reject(new Error(`${impl} exited with ${code}`))));
  });
}

/** The conversion both implementations apply. */
function convert(click) {
  return { user: click.user, page: click.page, eur: click.cents / 100, at: click.t };
}

async function child(flags) {
  const impl = flags.child;
  const out = flags.out;
  const brokers = flags.brokers.split(',');
  const started = performance.now();
  const { count, sum, firstAt } = impl === 'weir' ? await runWeir(brokers, flags.topic, out) : await runBaseline(brokers, flags.topic, out);
  const end = performance.now();
  const maxRssMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify({ count, checksum: `${count}:${sum.toFixed(2)}`, totalMs: end - started, steadyMs: end - firstAt, maxRssMb }) + '\n');
}

async function runWeir(brokers, topic, out) {
  const { pipeline } = await import('../dist/index.js');
  const { kafkaSource } = await import('../dist/sources/kafka-source.js');
  const { kafkaSink } = await import('../dist/sinks/kafka-sink.js');
  let count = 0;
  let sum = 0;
  let firstAt = 0;
  await pipeline('bench-kafka')
    .source(kafkaSource({ brokers, topic, groupId: `bench-weir-${out}`, bounded: true, sessionTimeoutMs: 3000, heartbeatIntervalMs: 300, maxWaitMs: 100 }))
    .map((r) => {
      if (count === 0) firstAt = performance.now();
      const c = convert(r.value);
      count++;
      sum += c.eur;
      return c;
    })
    .sink(kafkaSink({ brokers, topic: out, key: 'user', traceContext: false }))
    .run({ batchSize: 2048, args: [], handleSignals: false });
  return { count, sum, firstAt };
}

async function runBaseline(brokers, topic, out) {
  const { Kafka, Partitioners, logLevel } = require('kafkajs');
  const kafka = new Kafka({ brokers, clientId: 'bench-baseline', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
  await admin.disconnect();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  const consumer = kafka.consumer({ groupId: `bench-baseline-${out}`, sessionTimeout: 3000, heartbeatInterval: 300, maxWaitTimeInMs: 100 });
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let count = 0;
  let sum = 0;
  let firstAt = 0;
  const remaining = new Set([...ends].filter(([, end]) => end > 0).map(([p]) => p));
  await new Promise((resolve, reject) => {
    if (remaining.size === 0) resolve();
    consumer
      .run({
        eachBatch: async ({ batch }) => {
          if (count === 0) firstAt = performance.now();
          const messages = [];
          for (const m of batch.messages) {
            if (Number(m.offset) >= ends.get(batch.partition)) continue;
            const c = convert(JSON.parse(m.value.toString('utf8')));
            count++;
            sum += c.eur;
            messages.push({ key: c.user, value: JSON.stringify(c), timestamp: m.timestamp });
          }
          if (messages.length > 0) await producer.send({ topic: out, messages, acks: -1 });
          if (Number(batch.lastOffset()) + 1 >= ends.get(batch.partition)) {
            remaining.delete(batch.partition);
            if (remaining.size === 0) resolve();
          }
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  await producer.disconnect();
  return { count, sum, firstAt };
}

/** Produce the input: click events as JSON, keyed by user, spread over the partitions. Returns bytes written. */
async function produceInput(brokers, topic, events) {
  const { Kafka, Partitioners, logLevel } = require('kafkajs');
  const producer = new Kafka({ brokers: brokers.split(','), logLevel: logLevel.NOTHING }).producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const pages = ['/', '/cart', '/search', '/item', '/help'];
  let bytes = 0;
  let seed = 1;
  const random = (n) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const pending = [];
  for (let i = 0; i < events; i += 2000) {
    const messages = [];
    for (let j = i; j < Math.min(events, i + 2000); j++) {
      const user = `u${random(USERS)}`;
      const value = JSON.stringify({ id: j, user, page: pages[random(pages.length)], cents: random(10_000), t: 1_700_000_000_000 + j });
      bytes += value.length;
      messages.push({ key: user, value });
    }
    pending.push(producer.send({ topic, messages }));
    if (pending.length >= 8) await pending.shift();
  }
  await Promise.all(pending);
  await producer.disconnect();
  return bytes;
}

// ---- the mock broker (same program as the tests: test/support/kafka-mock-broker.c) -------------

async function startMockBroker(topics) {
  const run = promisify(execFile);
  const source = join(here, '..', 'test', 'support', 'kafka-mock-broker.c');
  let flags = ['-lrdkafka'];
  let version = 'unknown';
  try {
    flags = (await run('pkg-config', ['--cflags', '--libs', 'rdkafka'])).stdout.trim().split(/\s+/).filter(Boolean);
    version = (await run('pkg-config', ['--modversion', 'rdkafka'])).stdout.trim();
  } catch {
    // No pkg-config: default paths.
  }
  const hash = createHash('sha1').update(readFileSync(source)).update(version).digest('hex').slice(0, 12);
  const dir = join(os.tmpdir(), 'weir-kafka-mock');
  const binary = join(dir, `kafka-mock-broker-${hash}`);
  if (!existsSync(binary)) {
    mkdirSync(dir, { recursive: true });
    const partial = `${binary}.${process.pid}.tmp`;
    try {
      await run('gcc', ['-O2', '-o', partial, source, ...flags]);
    } catch (err) {
      throw new Error(`bench/kafka.js: cannot build the mock broker (needs gcc and librdkafka-dev, or pass --brokers): ${String(err.stderr ?? err).split('\n')[0]}`);
    }
    renameSync(partial, binary);
  }
  const p = spawn(binary, Object.entries(topics).map(([t, n]) => `${t}:${n}`), { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = [];
  let waiting;
  let buffer = '';
  p.stdout.on('data', (d) => {
    buffer += d;
    let nl;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (waiting) {
        const w = waiting;
        waiting = undefined;
        w(line);
      } else lines.push(line);
    }
  });
  const nextLine = () => (lines.length > 0 ? Promise.resolve(lines.shift()) : new Promise((r) => (waiting = r)));
  const brokers = await nextLine();
  return {
    brokers,
    async createTopic(name, partitions) {
      p.stdin.write(`topic ${name} ${partitions}\n`);
      const reply = await nextLine();
      if (reply !== 'ok') throw new Error(`mock broker: cannot create ${name}: ${reply}`);
    },
    async stop() {
      p.stdin.end();
      await new Promise((r) => p.once('exit', r));
    },
  };
}
