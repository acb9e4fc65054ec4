import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { pipeline } from '../../src/builder/pipeline.js';
import { ConfigError } from '../../src/runtime/errors.js';
import type { SourceChunk, SourceContext, SourceReader } from '../../src/runtime/source.js';
import { collectSink } from '../../src/sinks/collect-sink.js';
import { redisStreamSource, type RedisStreamEntry, type RedisStreamPosition, type RedisStreamSourceOptions, type RedisStreamStats } from '../../src/sources/redis-stream-source.js';
import { tempDir } from '../support/files.js';
import { redisAvailability, sleep, startRedisServer, type RedisServer } from '../support/redis-server.js';

const availability = redisAvailability();
let server: RedisServer;
let admin: Redis;
let seq = 0;

/** A fresh stream key and group per test. */
function names(): { stream: string; group: string } {
  seq++;
  return { stream: `s${seq}`, group: `g${seq}` };
}

interface Live<T> extends SourceReader<T> {
  close(): Promise<void>;
  stats(): RedisStreamStats;
  onCheckpointComplete(checkpointId: number): Promise<void>;
}

const open: Array<{ close?: () => unknown }> = [];

async function openReader<T = RedisStreamEntry>(
  options: Partial<RedisStreamSourceOptions<T>> & { streams: string | string[]; group: string },
  restored?: unknown,
  signal: AbortSignal = new AbortController().signal,
): Promise<Live<T>> {
  const source = redisStreamSource<T>({ connection: server.url, consumer: 'c1', reconnect: { baseDelayMs: 20, maxDelayMs: 200 }, ...options });
  const ctx: SourceContext = { job: 'test', name: 'src', signal, restored, now: () => Date.now() };
  const reader = (await source.open(ctx)) as Live<T>;
  open.push(reader);
  return reader;
}

/** Read until `n` records (or the end), returning the chunks. */
async function readRecords<T>(reader: SourceReader<T>, n: number, max = 100): Promise<{ records: T[]; chunks: SourceChunk<T>[]; ended: boolean }> {
  const records: T[] = [];
  const chunks: SourceChunk<T>[] = [];
  const deadline = Date.now() + 20_000;
  while (records.length < n) {
    if (Date.now() > deadline) throw new Error(`read only ${records.length} of ${n} records`);
    const chunk = await reader.read(Math.min(max, n - records.length));
    if (chunk === null) return { records, chunks, ended: true };
    chunks.push(chunk);
    records.push(...chunk.records);
  }
  return { records, chunks, ended: false };
}

async function add(stream: string, count: number, fields: (i: number) => Record<string, string> = (i) => ({ n: String(i) })): Promise<string[]> {
  const p = admin.pipeline();
  for (let i = 0; i < count; i++) p.xadd(stream, '*', ...Object.entries(fields(i)).flat());
  const replies = (await p.exec()) ?? [];
  return replies.map(([err, id]) => {
    if (err) throw err;
    return id as string;
  });
}

async function pendingCount(stream: string, group: string): Promise<number> {
  const summary = (await admin.xpending(stream, group)) as [number, ...unknown[]];
  return Number(summary[0]);
}

const ids = (records: RedisStreamEntry[]): string[] => records.map((r) => r.id);

describe.skipIf(availability.skip)(`redisStreamSource${availability.skip ? ` (skipped: ${availability.reason})` : ''}`, () => {
  beforeAll(async () => {
    server = await startRedisServer();
    admin = new Redis(server.url);
    admin.on('error', () => undefined);
  });
  afterAll(async () => {
    admin?.disconnect();
    await server?.cleanup();
  });
  afterEach(async () => {
    for (const r of open.splice(0)) await r.close?.();
  });

  it('reads a bounded stream in id order, one split per stream, event time from the id', async () => {
    const { stream, group } = names();
    const added = await add(stream, 250);
    const reader = await openReader({ streams: stream, group, bounded: true });
    const { records, chunks, ended } = await readRecords(reader, 1000);
    expect(ended).toBe(true);
    expect(ids(records)).toEqual(added);
    expect(records[0]).toEqual({ stream, id: added[0], fields: { n: '0' }, timestamp: Number(added[0].split('-')[0]) });
    for (const c of chunks) {
      expect(c.split).toBe(stream);
      expect(c.timestamps).toEqual(c.records.map((r) => (r as RedisStreamEntry).timestamp));
    }
    expect(await reader.read(10)).toBeNull();
  });

  it('ends at once on an empty stream (the group and stream are created)', async () => {
    const { stream, group } = names();
    const reader = await openReader({ streams: stream, group, bounded: true });
    expect(await reader.read(10)).toBeNull();
    expect(await admin.exists(stream)).toBe(1);
  });

  it('bounded: stops at the last id present at start, and keeps that end across a restore', async () => {
    const { stream, group } = names();
    const first = await add(stream, 30);
    const reader = await openReader({ streams: stream, group, bounded: true });
    const a = await readRecords(reader, 10, 10);
    const pos = reader.position() as RedisStreamPosition;
    expect(pos.streams[stream].endId).toBe(first[29]);
    await reader.close();
    await add(stream, 20); // after the start: not part of this bounded read
    const again = await openReader({ streams: stream, group, bounded: true }, pos);
    const b = await readRecords(again, 1000);
    expect(b.ended).toBe(true);
    expect([...ids(a.records), ...ids(b.records)]).toEqual(first);
  });

  it('count: stops after that many entries over several streams', async () => {
    const { stream, group } = names();
    await add(stream, 40);
    await add(`${stream}b`, 40);
    const reader = await openReader({ streams: [stream, `${stream}b`], group, count: 50 });
    const { records, ended } = await readRecords(reader, 1000, 30);
    expect(ended).toBe(true);
    expect(records).toHaveLength(50);
    expect(reader.progress?.()).toEqual({ done: 50, total: 50, unit: 'records' });
  });

  it('event time from a field (ms or date), decode, and dead letters for bad input', async () => {
    const { stream, group } = names();
    await add(stream, 1, () => ({ t: '1000', v: '{"a":1}' }));
    await add(stream, 1, () => ({ t: '1970-01-01T00:00:02.000Z', v: '{"a":2}' }));
    await add(stream, 1, () => ({ t: 'soon', v: '{"a":3}' }));
    await add(stream, 1, () => ({ t: '4000', v: 'not json' }));
    const reader = await openReader<{ a: number }>({
      streams: stream,
      group,
      bounded: true,
      timestampField: 't',
      decode: (e) => JSON.parse(e.fields.v) as { a: number },
    });
    const chunks: SourceChunk<{ a: number }>[] = [];
    for (let c = await reader.read(100); c !== null; c = await reader.read(100)) chunks.push(c);
    expect(chunks.flatMap((c) => c.records)).toEqual([{ a: 1 }, { a: 2 }]);
    expect(chunks.flatMap((c) => c.timestamps ?? [])).toEqual([1000, 2000]);
    const dead = chunks.flatMap((c) => c.deadLetters ?? []);
    expect(dead).toHaveLength(2);
    expect(dead[0].error.message).toMatch(/timestampField "t" must hold a number of ms or a date, got "soon"/);
    expect(dead[0].error.code).toBe('WEIR_BAD_RECORD');
    expect(dead[1].error.code).toBe('WEIR_USER_FUNCTION');
    expect(dead[1].error.message).toMatch(/src\.decode/);
    expect(dead[1].source).toEqual({ name: 'src', position: { stream, id: (dead[1].record as { id: string }).id } });
  });

  it('restore: re-delivers exactly what came after the checkpoint, acks what it covers', async () => {
    const { stream, group } = names();
    const all = await add(stream, 100);
    const reader = await openReader({ streams: stream, group });
    const before = await readRecords(reader, 40, 20);
    const checkpoint = reader.position(); // the checkpoint covers the first 40 …
    const after = await readRecords(reader, 25, 25); // … and these 25 are read but not covered
    expect(ids(after.records)).toEqual(all.slice(40, 65));
    // Crash before the checkpoint's completion was acknowledged: nothing was XACKed.
    await reader.close();
    expect(await pendingCount(stream, group)).toBe(65);

    const restored = await openReader({ streams: stream, group }, checkpoint);
    expect(await pendingCount(stream, group)).toBe(25); // the 40 covered ones were acked at start
    const rest = await readRecords(restored, 60, 17);
    expect([...ids(before.records), ...ids(rest.records)]).toEqual(all);
    restored.position();
    await restored.onCheckpointComplete(1);
    expect(await pendingCount(stream, group)).toBe(0);
    expect(restored.stats().acked).toBe(100); // 40 at start, 60 at the checkpoint
  });

  it('a barrier between two chunks of one multi-stream read covers only the chunk handed out', async () => {
    const { stream, group } = names();
    const other = `${stream}x`;
    const a = await add(stream, 3);
    const b = await add(other, 3);
    const reader = await openReader({ streams: [stream, other], group });
    const first = (await reader.read(10))!; // own history of both streams is empty: one '>' read returns both
    expect(first.split).toBe(stream);
    const checkpoint = reader.position() as RedisStreamPosition; // the barrier falls here
    expect(checkpoint.streams[stream].lastId).toBe(a[2]);
    expect(checkpoint.streams[other].lastId).toBe('0-0');
    expect(checkpoint.emitted).toBe(3);
    const second = (await reader.read(10))!;
    expect(ids(second.records as RedisStreamEntry[])).toEqual(b);
    await reader.close();
    const restored = await openReader({ streams: [stream, other], group }, checkpoint);
    expect(ids((await readRecords(restored, 3)).records)).toEqual(b);
  });

  it('acks in batches when the checkpoint completes, not before', async () => {
    const { stream, group } = names();
    await add(stream, 30);
    const reader = await openReader({ streams: stream, group });
    await readRecords(reader, 30, 30);
    expect(await pendingCount(stream, group)).toBe(30);
    reader.position();
    await readRecords(reader, 0);
    await add(stream, 5);
    await readRecords(reader, 5);
    await reader.onCheckpointComplete(1);
    expect(await pendingCount(stream, group)).toBe(5); // the 5 read after the barrier wait for the next one
    reader.position();
    await reader.onCheckpointComplete(2);
    expect(await pendingCount(stream, group)).toBe(0);
  });

  it('unbounded: an idle read returns an empty chunk after blockMs, then new entries', async () => {
    const { stream, group } = names();
    const reader = await openReader({ streams: stream, group, blockMs: 50 });
    const idle = await reader.read(10);
    expect(idle).toEqual({ records: [], split: stream });
    const reading = reader.read(10);
    await sleep(10);
    const [id] = await add(stream, 1);
    const chunk = (await reading) as SourceChunk<RedisStreamEntry>;
    const got = chunk.records.length > 0 ? chunk : ((await reader.read(10)) as SourceChunk<RedisStreamEntry>);
    expect(ids(got.records)).toEqual([id]);
  });

  it('a stop (abort) ends a blocked read at once', async () => {
    const { stream, group } = names();
    const stop = new AbortController();
    const reader = await openReader({ streams: stream, group, blockMs: 10_000 }, undefined, stop.signal);
    const reading = Promise.resolve(reader.read(10));
    const t = Date.now();
    stop.abort(new Error('stopped'));
    await expect(reading).rejects.toThrow('stopped');
    expect(Date.now() - t).toBeLessThan(1000);
  });

  it('claims entries a dead consumer left pending, after claimIdleMs, and not its own', async () => {
    const { stream, group } = names();
    const all = await add(stream, 20);
    const dead = await openReader({ streams: stream, group, consumer: 'dead', claimIdleMs: 0 });
    await readRecords(dead, 12, 12); // delivered to "dead", never checkpointed
    await dead.close();

    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }) => {
      if (w.code === 'WEIR_REDIS_CLAIMED') warnings.push(w.message);
    };
    process.on('warning', onWarning);
    try {
      const live = await openReader({ streams: stream, group, consumer: 'live', claimIdleMs: 150, claimIntervalMs: 20, blockMs: 20 });
      const early = await readRecords(live, 8, 8); // the 8 never delivered
      expect(ids(early.records)).toEqual(all.slice(12));
      await sleep(200);
      const claimed = await readRecords(live, 12, 100);
      expect(ids(claimed.records).sort()).toEqual(all.slice(0, 12).sort());
      expect(live.stats().claimed).toBe(12);
      const pos = live.position() as RedisStreamPosition;
      expect([...pos.streams[stream].claimed].sort()).toEqual(all.slice(0, 12).sort());
      await live.onCheckpointComplete(1);
      expect(await pendingCount(stream, group)).toBe(0);
      // The live consumer's own pending entries are never claimed by itself.
      await add(stream, 3);
      await readRecords(live, 3);
      await sleep(200);
      const more = await live.read(10);
      expect(more).toEqual({ records: [], split: stream });
      await new Promise((r) => setImmediate(r));
      expect(warnings.length).toBeGreaterThanOrEqual(1);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/claiming entries of stream "s\d+" left pending for ≥ 150 ms by consumer\(s\) "dead" \(first 12\)/);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('restore after claiming: covered claims are acked, uncovered ones re-delivered once', async () => {
    const { stream, group } = names();
    const all = await add(stream, 10);
    const dead = await openReader({ streams: stream, group, consumer: 'gone', claimIdleMs: 0 });
    await readRecords(dead, 10, 10);
    await dead.close();
    await sleep(60);
    const live = await openReader({ streams: stream, group, consumer: 'claimer', claimIdleMs: 50, claimIntervalMs: 1 });
    const first = await readRecords(live, 4, 4); // claims 4
    const checkpoint = live.position();
    const second = await readRecords(live, 6, 6); // claims the other 6, not covered
    await live.close();
    const restored = await openReader({ streams: stream, group, consumer: 'claimer', claimIdleMs: 50, claimIntervalMs: 1 }, checkpoint);
    const again = await readRecords(restored, 6);
    expect(ids(again.records).sort()).toEqual(ids(second.records).sort());
    expect((await restored.read(10))?.records).toEqual([]);
    expect([...ids(first.records), ...ids(again.records)].sort()).toEqual([...all].sort());
    restored.position();
    await restored.onCheckpointComplete(1);
    expect(await pendingCount(stream, group)).toBe(0);
  }, 30_000);

  it('an entry deleted before it was re-read becomes a dead letter (and is acked)', async () => {
    const { stream, group } = names();
    const all = await add(stream, 5);
    const reader = await openReader({ streams: stream, group });
    await readRecords(reader, 5);
    await reader.close();
    await admin.xdel(stream, all[2]);
    const restored = await openReader({ streams: stream, group });
    const chunk = (await restored.read(10))!;
    expect(ids(chunk.records as RedisStreamEntry[])).toEqual([all[0], all[1], all[3], all[4]]);
    expect(chunk.deadLetters?.map((d) => (d.record as { id: string }).id)).toEqual([all[2]]);
    expect(chunk.deadLetters?.[0].error.message).toMatch(/was deleted/);
    restored.position();
    await restored.onCheckpointComplete(1);
    expect(await pendingCount(stream, group)).toBe(0);
  });

  it('rides out a Redis restart mid-read: nothing lost or repeated, logged and counted', async () => {
    const { stream, group } = names();
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }) => {
      if (w.code?.startsWith('WEIR_CONNECTION')) warnings.push(w.code);
    };
    process.on('warning', onWarning);
    try {
      const first = await add(stream, 50);
      const reader = await openReader({ streams: stream, group, blockMs: 50 });
      const a = await readRecords(reader, 50);
      const reading = readRecords(reader, 50, 7);
      await server.restart(300);
      const second = await add(stream, 50);
      const b = await reading;
      expect([...ids(a.records), ...ids(b.records)]).toEqual([...first, ...second]);
      expect(reader.stats().connection.outages).toBeGreaterThanOrEqual(1);
      await new Promise((r) => setImmediate(r));
      expect(warnings).toContain('WEIR_CONNECTION_LOST');
      expect(warnings).toContain('WEIR_CONNECTION_RESTORED');
    } finally {
      process.off('warning', onWarning);
    }
  }, 30_000);

  it('in a job with checkpoints: every entry once, dead letters counted, all acked at the end (final checkpoint)', async () => {
    const { stream, group } = names();
    const all = await add(stream, 500, (i) => ({ n: String(i), t: i === 7 ? 'bad' : String(1000 + i) }));
    const out: RedisStreamEntry[] = [];
    const tmp = tempDir();
    try {
      // (Routing the source's dead letters with onError: deadLetter(sink) is left out: the runtime's
      // source dead-letter channel never ends today, which hangs any job; reported to the lead.)
      const result = await pipeline('redis-src')
        .source(redisStreamSource({ connection: server.url, streams: stream, group, bounded: true, timestampField: 't' }), { name: 'events' })
        .sink(collectSink(out))
        .run({ stateDir: tmp.dir, checkpointInterval: 5, batchSize: 32 });
      expect(ids(out)).toEqual(all.filter((_, i) => i !== 7));
      expect(result.steps.events.deadLettered).toBe(1);
      expect(result.checkpoints).toBeGreaterThanOrEqual(1);
      expect(await pendingCount(stream, group)).toBe(0);
    } finally {
      tmp.cleanup();
    }
  });

  it('validates options in the factory, naming the option and the value', () => {
    const base = { connection: 'redis://127.0.0.1:6379', streams: 's', group: 'g' };
    expect(() => redisStreamSource({ ...base, connection: 'http://x' })).toThrow(ConfigError);
    expect(() => redisStreamSource({ ...base, connection: 'http://x' })).toThrow(/connection must be a redis:\/\/ URL, got protocol "http:"/);
    expect(() => redisStreamSource({ ...base, streams: [] })).toThrow(/streams must be a non-empty stream key/);
    expect(() => redisStreamSource({ ...base, group: '' })).toThrow(/group must be a non-empty string, got ""/);
    expect(() => redisStreamSource({ ...base, startId: 'latest' })).toThrow(/startId must be '0', '\$' or an entry id '<ms>-<seq>', got "latest"/);
    expect(() => redisStreamSource({ ...base, count: -1 })).toThrow(/count must be a non-negative integer, got -1/);
    expect(() => redisStreamSource({ ...base, blockMs: 0 })).toThrow(/blockMs must be a positive integer of ms, got 0/);
    expect(() => redisStreamSource({ ...base, claimIdleMs: 1.5 })).toThrow(/claimIdleMs must be a non-negative integer of ms \(0: never claim\), got 1.5/);
    expect(() => redisStreamSource({ ...base, reconnect: { maxDelayMs: -1 } })).toThrow(/reconnect.maxDelayMs must be a number of ms ≥ baseDelayMs \(100\), got -1/);
    expect(redisStreamSource({ ...base, count: 5 }).bounded).toBe(true);
    expect(redisStreamSource(base).bounded).toBe(false);
    expect(redisStreamSource(base).replayable).toBe(true);
  });
});
