import { serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import type { SourceChunk, SourceReader } from '../../src/runtime/source.js';
import { RepartitionReader, type RepartitionPosition } from '../../src/sources/kafka-repartition.js';
import type { KafkaRecord } from '../../src/sources/kafka-source.js';
import { assignTasks } from '../../src/sources/kafka-task-assignor.js';
import { pipeline } from '../../src/builder/pipeline.js';
import { arraySource } from '../../src/sources/array-source.js';
import { collectSink } from '../../src/sinks/collect-sink.js';

/** A repartitioned record as the Kafka reader hands it over: raw value, writer and sequence headers. */
function rec(offset: number, task: string, seq: number, value: unknown): KafkaRecord<Buffer, Buffer> {
  return { topic: 'job.keyBy.repartition', partition: 1, offset, key: null, value: serialize(value), headers: { 'weir-task': task, 'weir-seq': String(seq) }, timestamp: 1000 + offset };
}

/** A Kafka reader stand-in handing out the given chunks, with the offset after the last one handed out as position. */
function inner(chunks: Array<Array<KafkaRecord<Buffer, Buffer>>>): SourceReader<KafkaRecord<Buffer, Buffer>> {
  let offset = 0;
  return {
    read(): SourceChunk<KafkaRecord<Buffer, Buffer>> {
      const records = chunks.shift() ?? [];
      if (records.length > 0) offset = records[records.length - 1].offset + 1;
      return { records, timestamps: records.map((r) => r.timestamp), split: 'job.keyBy.repartition:1' };
    },
    position: () => ({ 'job.keyBy.repartition:1': offset }),
  };
}

async function readAll(reader: RepartitionReader, reads: number): Promise<Array<SourceChunk<unknown>>> {
  const out: Array<SourceChunk<unknown>> = [];
  for (let i = 0; i < reads; i++) out.push((await reader.read(100))!);
  return out;
}

describe('RepartitionReader', () => {
  it('announces every writing task as a split, then hands out records per writer, decoded, with their timestamps', async () => {
    const reader = new RepartitionReader(inner([[rec(0, '0', 1, { a: 1 }), rec(1, '1', 1, { b: new Date(5) }), rec(2, '0', 2, { a: 2 })]]), undefined, ['0', '1'], 'keyBy');
    const chunks = await readAll(reader, 4);
    expect(chunks.slice(0, 2)).toEqual([{ records: [], split: 'upstream:0' }, { records: [], split: 'upstream:1' }]);
    expect(chunks[2]).toEqual({ records: [{ a: 1 }, { a: 2 }], timestamps: [1000, 1002], split: 'upstream:0' });
    expect(chunks[3]).toEqual({ records: [{ b: new Date(5) }], timestamps: [1001], split: 'upstream:1' });
    expect(reader.position()).toEqual({ offsets: { 'job.keyBy.repartition:1': 3 }, seqs: { '0': 2, '1': 1 } });
  });

  it("drops a replay's duplicates: records whose sequence number is not above the writer's highest", async () => {
    // Writer 0 wrote 1..3, failed, resumed at its checkpoint (seq 1) and wrote 2..4 again.
    const reader = new RepartitionReader(
      inner([[rec(0, '0', 1, 'a'), rec(1, '0', 2, 'b'), rec(2, '0', 3, 'c')], [rec(3, '0', 2, 'b'), rec(4, '0', 3, 'c'), rec(5, '0', 4, 'd')]]),
      undefined,
      ['0'],
      'keyBy',
    );
    const chunks = await readAll(reader, 3);
    expect(chunks.slice(1).flatMap((c) => c.records)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('a position taken while a chunk is half handed out resumes at its first record left; what was handed out is dropped then', async () => {
    const chunk = [rec(10, '0', 1, 'a'), rec(11, '1', 1, 'x'), rec(12, '0', 2, 'b')];
    const first = new RepartitionReader(inner([chunk]), undefined, ['0', '1'], 'keyBy');
    const before = await readAll(first, 3);
    expect(before[2].records).toEqual(['a', 'b']);
    const position: RepartitionPosition = first.position();
    expect(position).toEqual({ offsets: { 'job.keyBy.repartition:1': 11 }, seqs: { '0': 2 } });
    // Restored from that position: offsets 11 and 12 are read again; 12 (writer 0, seq 2) was handed out already.
    const second = new RepartitionReader(inner([chunk.slice(1)]), position, ['0', '1'], 'keyBy');
    const after = await readAll(second, 4);
    expect(after.slice(2).flatMap((c) => c.records)).toEqual(['x']);
  });

  it('fails on a record without the repartition headers', async () => {
    const bad = { ...rec(0, '0', 1, 'a'), headers: {} };
    const reader = new RepartitionReader(inner([[bad]]), undefined, ['0'], 'keyBy');
    expect(await reader.read(10)).toEqual({ records: [], split: 'upstream:0' });
    await expect(async () => reader.read(10)).rejects.toThrow(/not a repartitioned record/);
  });
});

describe('assignTasks', () => {
  it('gives every partition of a task (partition n of every topic) to one member', () => {
    const parts = ['in', 'rep'].flatMap((t) => [0, 1, 2, 3].map((n) => [t, n] as const));
    const out = assignTasks([{ id: 'a', owned: [['in', 0], ['rep', 0]], clean: [] }, { id: 'b', owned: [], clean: [] }], parts);
    const tasksOf = (m: string) => new Set(out.get(m)!.map((tp) => tp[1]));
    expect(out.get('a')!.length + out.get('b')!.length).toBe(8);
    for (const m of ['a', 'b']) for (const n of tasksOf(m)) expect(out.get(m)!.filter((tp) => tp[1] === n).length).toBe(2);
    expect(tasksOf('a').has(0)).toBe(true);
    expect(tasksOf('a').size).toBe(2);
  });
});

describe("keyBy(key, { repartition: true }) in one process", () => {
  it('passes records through to the keyed step', async () => {
    const out: Array<{ user: string; n: number }> = [];
    await pipeline('one')
      .source(arraySource([{ user: 'a' }, { user: 'b' }, { user: 'a' }]))
      .keyBy('user', { repartition: true })
      .process<{ user: string; n: number }>((e, ctx) => {
        const n = (ctx.state.value<number>('n').get() ?? 0) + 1;
        ctx.state.value<number>('n').set(n);
        ctx.emit({ user: e.user, n });
      })
      .sink(collectSink(out))
      .run();
    expect(out).toEqual([{ user: 'a', n: 1 }, { user: 'b', n: 1 }, { user: 'a', n: 2 }]);
  });
});
