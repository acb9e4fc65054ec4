import { describe, expect, it } from 'vitest';
import { arraySource } from '../../src/sources/array-source.js';
import { CheckpointError, ConfigError } from '../../src/runtime/errors.js';
import type { SourceContext, SourceReader } from '../../src/runtime/source.js';

function ctx(restored?: unknown): SourceContext {
  return { job: 't', name: 's', signal: new AbortController().signal, restored, now: () => Date.now() };
}

function drain<T>(reader: SourceReader<T>, max: number): T[][] {
  const chunks: T[][] = [];
  for (;;) {
    const chunk = reader.read(max);
    if (chunk === null) return chunks;
    if (chunk instanceof Promise) throw new Error('array source must not return promises');
    chunks.push(chunk.records);
  }
}

describe('arraySource', () => {
  const records = Array.from({ length: 10 }, (_, i) => ({ i }));

  it('is bounded and replayable and reads everything in order, at most max or batchSize at a time', () => {
    const source = arraySource(records, { name: 'nums', batchSize: 3 });
    expect(source).toMatchObject({ name: 'nums', bounded: true, replayable: true });
    const chunks = drain(source.open(ctx()) as SourceReader<{ i: number }>, 4);
    expect(chunks.map((c) => c.length)).toEqual([3, 3, 3, 1]);
    expect(chunks.flat()).toEqual(records);
    expect(drain(arraySource(records).open(ctx()) as SourceReader<{ i: number }>, 4).map((c) => c.length)).toEqual([4, 4, 2]);
  });

  it('reports the next index as position and progress, and resumes from a restored position', () => {
    const reader = arraySource(records).open(ctx()) as SourceReader<{ i: number }>;
    expect(reader.position()).toBe(0);
    reader.read(4);
    expect(reader.position()).toBe(4);
    expect(reader.progress?.()).toEqual({ done: 4, total: 10, unit: 'records' });
    const resumed = arraySource(records).open(ctx(reader.position())) as SourceReader<{ i: number }>;
    expect(drain(resumed, 100).flat()).toEqual(records.slice(4));
    expect(resumed.position()).toBe(10);
    const atEnd = arraySource(records).open(ctx(10)) as SourceReader<{ i: number }>;
    expect(atEnd.read(5)).toBeNull();
  });

  it('ends at once on an empty array', () => {
    expect((arraySource([]).open(ctx()) as SourceReader<never>).read(10)).toBeNull();
  });

  it('rejects bad options and bad restored positions', () => {
    expect(() => arraySource(records, { batchSize: 0 })).toThrow(ConfigError);
    expect(() => arraySource(records, { batchSize: 0 })).toThrow('sources.array: batchSize must be a positive integer, got 0');
    expect(() => arraySource('nope' as unknown as number[])).toThrow(ConfigError);
    expect(() => arraySource(records).open(ctx(11))).toThrow(CheckpointError);
    expect(() => arraySource(records).open(ctx('x'))).toThrow(/restored position must be an index in \[0, 10\], got "x"/);
  });
});
