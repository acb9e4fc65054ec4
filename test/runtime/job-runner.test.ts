import { describe, expect, it } from 'vitest';
import { pipeline } from '../../src/builder/pipeline.js';
import { AbortedError, WeirError } from '../../src/runtime/errors.js';
import type { Sink } from '../../src/runtime/sink.js';
import type { Source } from '../../src/runtime/source.js';
import { listSource, recording, recordingSink } from '../support/inline.js';

const tick = () => new Promise((r) => setImmediate(r));

/** An endless source that counts how many records it was asked for, and tracks close. */
function countingSource(state: { read: number; closed: number }): Source<number> {
  return {
    name: 'counting',
    bounded: false,
    replayable: true,
    open: () => ({
      read(max) {
        const records = Array.from({ length: max }, (_, i) => state.read + i);
        state.read += max;
        return { records };
      },
      position: () => state.read,
      close() {
        state.closed++;
      },
    }),
  };
}

/** A sink whose writes block until released, one batch per release. */
function gatedSink(gate: { writes: number; release: Array<() => void>; closed: number }): Sink<unknown> {
  return {
    name: 'gated',
    open: () => ({
      write() {
        gate.writes++;
        return new Promise<void>((resolve) => gate.release.push(resolve));
      },
      close() {
        gate.closed++;
      },
    }),
  };
}

describe('backpressure', () => {
  it('a slow sink pauses the source instead of buffering', async () => {
    const src = { read: 0, closed: 0 };
    const gate = { writes: 0, release: [] as Array<() => void>, closed: 0 };
    const batchSize = 100;
    const bufferBatches = 2;
    const job = pipeline('bp')
      .source(countingSource(src))
      .map((n) => n + 1)
      .filter(() => true)
      .sink(gatedSink(gate))
      .start({ batchSize, bufferBatches });
    for (let i = 0; i < 50; i++) await tick();
    const readWhileBlocked = src.read;
    // Stages: source, fused chain (in + out buffers), sink (1 in flight + buffer): a few
    // batches per edge at most, never "everything the source could produce".
    const bound = batchSize * (1 + bufferBatches * 4 + 2);
    expect(readWhileBlocked).toBeLessThanOrEqual(bound);
    expect(gate.writes).toBe(1);
    for (let round = 0; round < 20; round++) {
      gate.release.shift()?.();
      for (let i = 0; i < 5; i++) await tick();
    }
    expect(gate.writes).toBeGreaterThan(15);
    expect(src.read - gate.writes * batchSize).toBeLessThanOrEqual(bound);
    const stopped = job.stop();
    const release = setInterval(() => gate.release.shift()?.(), 1);
    await stopped;
    clearInterval(release);
    expect(src.closed).toBe(1);
    expect(gate.closed).toBe(1);
  });
});

describe('failure', () => {
  it('the first error aborts the whole graph and closes every source, operator and sink once', async () => {
    const a = { read: 0, closed: 0 };
    const b = { read: 0, closed: 0 };
    const sinkClosed = [0, 0];
    let opClosed = 0;
    const closing = (i: number): Sink<number> => ({
      name: `sink${i}`,
      open: () => ({
        write: () => undefined,
        close() {
          sinkClosed[i]++;
        },
      }),
    });
    const p = pipeline('abort');
    const left = p.source(countingSource(a), { name: 'a' });
    const right = p.source(countingSource(b), { name: 'b' });
    const merged = left.union(right).map((n) => {
      if (n === 250) throw new Error('boom at 250');
      return n;
    }, { name: 'explode' });
    merged.sink(closing(0));
    merged.addOperator<number>('closer', {}, (name) => ({
      name,
      stateless: false,
      create: () => ({
        processBatch: (batch, out) => out.emit(batch.records, batch.timestamps),
        close() {
          opClosed++;
        },
      }),
    })).sink(closing(1));
    const err = await p.run().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WeirError);
    expect((err as WeirError).step).toBe('explode');
    expect((err as Error).message).toContain('boom at 250');
    await tick();
    expect([a.closed, b.closed]).toEqual([1, 1]);
    expect(sinkClosed).toEqual([1, 1]);
    expect(opClosed).toBe(1);
  });

  it('a sink that fails to open fails the job with its step name and closes the source', async () => {
    const src = { read: 0, closed: 0 };
    const err = await pipeline('open-fail')
      .source(countingSource(src))
      .sink({ name: 'broken', open: () => Promise.reject(new Error('cannot connect')) })
      .run()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect((err as WeirError).step).toBe('broken');
    expect((err as Error).message).toContain('cannot connect');
    await tick();
    expect(src.closed).toBe(1);
  });

  it('an outside AbortSignal cancels the job with AbortedError', async () => {
    const src = { read: 0, closed: 0 };
    const controller = new AbortController();
    const done = pipeline('cancel').source(countingSource(src)).sink(recordingSink(recording())).run({ signal: controller.signal });
    await tick();
    controller.abort();
    await expect(done).rejects.toBeInstanceOf(AbortedError);
    await tick();
    expect(src.closed).toBe(1);
  });
});

describe('stop', () => {
  it('stop() on an unbounded job drains and resolves with stopped=true, without end of input', async () => {
    const src = { read: 0, closed: 0 };
    const rec = recording<number>();
    const job = pipeline('stop').source(countingSource(src)).sink(recordingSink(rec)).start({ batchSize: 10 });
    for (let i = 0; i < 10; i++) await tick();
    const result = await job.stop();
    expect(result.stopped).toBe(true);
    expect(rec.ends).toBe(0);
    expect(rec.closes).toBe(1);
    expect(rec.records.length).toBe(result.steps.recording.recordsIn);
    expect(rec.records).toEqual(Array.from({ length: rec.records.length }, (_, i) => i));
  });

  it('bounded input runs to the end and reports counters per step', async () => {
    const rec = recording<number>();
    const result = await pipeline('bounded')
      .source(listSource([1, 2, 3, 4]), { name: 'nums' })
      .filter((n) => n > 1, { name: 'gt1' })
      .sink(recordingSink(rec), { name: 'out' })
      .run();
    expect(result.stopped).toBe(false);
    expect(result.steps.nums.recordsOut).toBe(4);
    expect(result.steps.gt1).toMatchObject({ recordsIn: 4, recordsOut: 3 });
    expect(result.steps.out.recordsIn).toBe(3);
  });
});
