import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { generatorSource } from '../../src/sources/generator-source.js';
import { CLICK_BASE_TIME_MS, CLICK_PAGES, type ClickEvent } from '../../src/sources/click-event.js';
import { CheckpointError, ConfigError } from '../../src/runtime/errors.js';
import type { Source, SourceChunk, SourceContext, SourceReader } from '../../src/runtime/source.js';

function ctx(options: { restored?: unknown; now?: () => number; signal?: AbortSignal } = {}): SourceContext {
  return {
    job: 't',
    name: 's',
    signal: options.signal ?? new AbortController().signal,
    restored: options.restored,
    now: options.now ?? (() => Date.now()),
  };
}

function open<T>(source: Source<T>, context: SourceContext = ctx()): SourceReader<T> {
  return source.open(context) as SourceReader<T>;
}

function syncChunk<T>(result: ReturnType<SourceReader<T>['read']>): SourceChunk<T> | null {
  if (result instanceof Promise) throw new Error('expected a synchronous read');
  return result;
}

/** Read a bounded reader to its end with the given batch sizes (cycled). */
function readAll<T>(reader: SourceReader<T>, sizes: readonly number[] = [1000]): T[] {
  const out: T[] = [];
  for (let k = 0; ; k++) {
    const chunk = syncChunk(reader.read(sizes[k % sizes.length]));
    if (chunk === null) return out;
    for (const r of chunk.records) out.push(r);
  }
}

describe('generatorSource', () => {
  it('is bounded with count, replayable, and emits exactly count records then null', () => {
    const source = generatorSource({ count: 25 });
    expect(source).toMatchObject({ name: 'generator', bounded: true, replayable: true });
    const reader = open(source);
    expect(syncChunk(reader.read(10))!.records).toHaveLength(10);
    expect(reader.progress?.()).toEqual({ done: 10, total: 25, unit: 'records' });
    expect(syncChunk(reader.read(100))!.records).toHaveLength(15);
    expect(reader.read(100)).toBeNull();
    expect(reader.position()).toBe(25);
    expect(readAll(open(generatorSource({ count: 0 })))).toEqual([]);
  });

  it('makes click events by default, with their event times as chunk timestamps', () => {
    const chunk = syncChunk(open(generatorSource({ count: 50 })).read(50))!;
    const clicks = chunk.records as ClickEvent[];
    clicks.forEach((c, i) => {
      expect(c.id).toBe(i);
      expect(c.t).toBe(CLICK_BASE_TIME_MS + i * 10);
      expect(c.user).toMatch(/^u\d{1,3}$/);
      expect(CLICK_PAGES).toContain(c.page);
      expect(c.price).toBeGreaterThanOrEqual(0);
      expect(c.price).toBeLessThan(100);
      expect(Math.round(c.price * 100)).toBeCloseTo(c.price * 100, 6);
    });
    expect(chunk.timestamps).toEqual(clicks.map((c) => c.t));
  });

  it('gives the same records for the same seed whatever the batch sizes, and different ones for another seed', () => {
    const full = readAll(open(generatorSource({ seed: 42, count: 300 })));
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 }), (sizes) => {
        expect(readAll(open(generatorSource({ seed: 42, count: 300 })), sizes)).toEqual(full);
      }),
      { numRuns: 30 },
    );
    const other = readAll(open(generatorSource({ seed: 43, count: 300 })));
    expect(other.map((c) => c.id)).toEqual(full.map((c) => c.id));
    expect(other.filter((c, i) => c.user === full[i].user && c.price === full[i].price).length).toBeLessThan(30);
  });

  it('resumes from a restored position with exactly the tail of a full run', () => {
    const full = readAll(open(generatorSource({ seed: 9, count: 200, startIndex: 5 })));
    expect(full[0].id).toBe(5);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 1, max: 50 }), (read, size) => {
        const first = open(generatorSource({ seed: 9, count: 200, startIndex: 5 }));
        let got = 0;
        while (got < read) got += syncChunk(first.read(Math.min(size, read - got)))!.records.length;
        const position = first.position();
        expect(position).toBe(5 + read);
        const resumed = open(generatorSource({ seed: 9, count: 200, startIndex: 5 }), ctx({ restored: position }));
        expect(resumed.progress?.()).toEqual({ done: read, total: 200, unit: 'records' });
        expect(readAll(resumed, [size])).toEqual(full.slice(read));
      }),
      { numRuns: 40 },
    );
  });

  it('passes make an rng positioned for the index, and runs unbounded without count', () => {
    const source = generatorSource({ seed: 3, make: (i, rng) => ({ i, v: rng.int(1_000_000) }) });
    expect(source.bounded).toBe(false);
    const a = open(source);
    const first = [...syncChunk(a.read(7))!.records, ...syncChunk(a.read(13))!.records];
    expect(first.map((r) => r.i)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(syncChunk(a.read(1000))!.records).toHaveLength(1000);
    expect(a.progress?.()).toEqual({ done: 1020, unit: 'records' });
    expect(syncChunk(a.read(1000))!.timestamps).toBeUndefined();
    const b = open(source, ctx({ restored: 10 }));
    expect(syncChunk(b.read(10))!.records).toEqual(first.slice(10));
  });

  it('validates options and restored positions', () => {
    expect(() => generatorSource({ count: -1 })).toThrow(new ConfigError('sources.generator: count must be a non-negative integer, got -1'));
    expect(() => generatorSource({ count: 1.5 })).toThrow(ConfigError);
    expect(() => generatorSource({ seed: Number.NaN })).toThrow(/seed must be a safe integer/);
    expect(() => generatorSource({ ratePerSec: 0 })).toThrow(/ratePerSec must be a positive number/);
    expect(() => generatorSource({ startIndex: -3 })).toThrow(/startIndex must be a non-negative integer, got -3/);
    expect(() => generatorSource({ make: 5 as never })).toThrow(/make must be a function/);
    expect(() => open(generatorSource({ count: 10 }), ctx({ restored: 11 }))).toThrow(CheckpointError);
    expect(() => open(generatorSource({ startIndex: 4 }), ctx({ restored: 3 }))).toThrow(/restored position must be an index ≥ 4, got 3/);
  });

  describe('with ratePerSec', () => {
    it('gives no more records than the token bucket holds, counted on a manual clock', () => {
      let now = 0;
      // 100/s: the bucket holds 0.1 s = 10 tokens and starts full.
      const reader = open(generatorSource({ ratePerSec: 100, count: 1000 }), ctx({ now: () => now }));
      expect(syncChunk(reader.read(1000))!.records).toHaveLength(10);
      let total = 10;
      for (let step = 0; step < 100; step++) {
        now += 10; // one token per 10 ms
        const chunk = syncChunk(reader.read(1000))!;
        expect(chunk.records.length).toBeLessThanOrEqual(1);
        total += chunk.records.length;
      }
      expect(total).toBeGreaterThanOrEqual(100);
      expect(total).toBeLessThanOrEqual(110);
      now += 10_000; // a long pause refills the bucket only to its capacity
      expect(syncChunk(reader.read(1000))!.records).toHaveLength(10);
      expect(reader.position()).toBe(total + 10);
    });

    it('returns a promise only when it must wait, which resolves once a token is there', async () => {
      let now = 0;
      const reader = open(generatorSource({ ratePerSec: 100 }), ctx({ now: () => now }));
      expect(syncChunk(reader.read(50))!.records).toHaveLength(10);
      const pending = reader.read(50);
      expect(pending).toBeInstanceOf(Promise);
      now += 30;
      const chunk = await pending;
      expect(chunk!.records.map((c) => c.id)).toEqual([10, 11, 12]);
    });

    it('paces a real-time read loop (generous lower bound only)', async () => {
      const reader = open(generatorSource({ ratePerSec: 100, count: 30 }));
      const started = Date.now();
      let total = 0;
      for (;;) {
        const chunk = await reader.read(1000);
        if (chunk === null) break;
        expect(chunk.records.length).toBeLessThanOrEqual(10);
        total += chunk.records.length;
      }
      expect(total).toBe(30);
      // 10 tokens at start, then 20 more at 100/s take at least 200 ms.
      expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    });

    it('rejects a pending read promptly when the signal aborts, and at once when already aborted', async () => {
      const controller = new AbortController();
      // One record per 100 s: without the abort this read would outlive the test.
      const reader = open(generatorSource({ ratePerSec: 0.01 }), ctx({ signal: controller.signal }));
      expect(syncChunk(reader.read(10))!.records).toHaveLength(1);
      const pending = reader.read(10);
      expect(pending).toBeInstanceOf(Promise);
      const reason = new Error('stopped');
      controller.abort(reason);
      await expect(pending).rejects.toBe(reason);
      await expect(reader.read(10)).rejects.toBe(reason);
      expect(reader.position()).toBe(1);
    });
  });
});
