import { afterEach, describe, expect, it } from 'vitest';
import { pipeline } from '../../src/builder/pipeline.js';
import { CheckpointCoordinator, type CheckpointEvent } from '../../src/runtime/checkpoint-coordinator.js';
import type { CheckpointStorage } from '../../src/runtime/checkpoint-storage.js';
import { ManualClock } from '../../src/runtime/clock.js';
import type { JobRun } from '../../src/runtime/job-runner.js';
import type { Operator, OperatorSpec } from '../../src/runtime/operator.js';
import type { Source } from '../../src/runtime/source.js';
import { fileSink } from '../../src/sinks/file-sink.js';
import { committedRecords, tempDir } from '../support/files.js';
import { replayableSource } from '../support/sources.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A replayable source of 0..count-1, `chunk` per read, yielding to the event loop each time. */
function numbers(count: number, chunk: number): Source<{ n: number }> {
  return replayableSource('numbers', count, (i) => ({ n: i }), { chunk });
}

/** A stateful pass-through step that asks for an early checkpoint on every batch. */
function eager(calls: { batches: number; hooked: boolean }): OperatorSpec<{ n: number }, { n: number }> {
  return {
    name: 'eager',
    stateless: false,
    create(ctx) {
      calls.hooked = typeof ctx.requestCheckpoint === 'function';
      const op: Operator<{ n: number }, { n: number }> = {
        processBatch(batch, out) {
          calls.batches++;
          ctx.requestCheckpoint?.();
          return out.emit(batch.records, batch.timestamps);
        },
      };
      return op;
    },
  };
}

function build(out: string, calls: { batches: number; hooked: boolean }) {
  return pipeline('early-cp')
    .source(numbers(300, 7))
    .addOperator('eager', { name: 'eager' }, () => eager(calls))
    .sink(fileSink({ dir: out, format: 'jsonl' }), { name: 'files' });
}

function dirs() {
  const t = tempDir('weir-early-cp-');
  cleanups.push(t.cleanup);
  return { state: `${t.dir}/state`, out: `${t.dir}/out` };
}

const all = Array.from({ length: 300 }, (_, i) => i);

describe('OperatorContext.requestCheckpoint', () => {
  it('is a no-op without checkpoints', async () => {
    const { out } = dirs();
    const calls = { batches: 0, hooked: false };
    const result = await build(out, calls).run();
    expect(calls.hooked).toBe(true);
    expect(calls.batches).toBeGreaterThan(10);
    expect(result.checkpoints ?? 0).toBe(0);
    expect(committedRecords<{ n: number }>(out).map((r) => r.n)).toEqual(all);
  });

  it('takes checkpoints long before the interval, at most one per request, output exactly once', async () => {
    const { state, out } = dirs();
    const calls = { batches: 0, hooked: false };
    const result = await build(out, calls).run({ stateDir: state, checkpointInterval: 3_600_000 });
    // Only the final checkpoint without the hook.
    expect(result.checkpoints).toBeGreaterThan(2);
    expect(result.checkpoints).toBeLessThanOrEqual(calls.batches + 1);
    expect(committedRecords<{ n: number }>(out).map((r) => r.n)).toEqual(all);
  });
});

describe('CheckpointCoordinator.requestCheckpoint', () => {
  /** A coordinator over one fake source, with no-op storage: barriers injected are recorded. */
  function harness() {
    const barriers: number[] = [];
    const events: CheckpointEvent[] = [];
    const storage = { write: async () => undefined, prune: async () => undefined } as unknown as CheckpointStorage;
    const coordinator = new CheckpointCoordinator({
      job: 'j',
      storage,
      intervalMs: 3_600_000,
      keep: 2,
      clock: new ManualClock(),
      nextId: 1,
      restoredTxns: new Map(),
      onEvent: (e) => events.push(e),
      onFailure: (err) => {
        throw err;
      },
    });
    const run = {
      participants: () => ['src'],
      sources: [{ name: 'src', injectBarrier: (id: number) => barriers.push(id), checkpointComplete: async () => undefined }],
      sinks: [],
      chains: [],
    } as unknown as JobRun;
    coordinator.attach(run);
    const ack = async (id: number) => {
      coordinator.acknowledge('src', id, { position: id });
      await coordinator.settled();
    };
    return { coordinator, barriers, events, ack };
  }

  it('starts one at once when idle, and one (not one per request) after the checkpoint in flight', async () => {
    const { coordinator, barriers, events, ack } = harness();
    coordinator.requestCheckpoint();
    expect(barriers).toEqual([1]);
    // Requests while checkpoint 1 is in flight: it may already have passed the asking step.
    coordinator.requestCheckpoint();
    coordinator.requestCheckpoint();
    coordinator.requestCheckpoint();
    expect(barriers).toEqual([1]);
    await ack(1);
    expect(barriers).toEqual([1, 2]);
    await ack(2);
    expect(barriers).toEqual([1, 2]);
    expect(events.filter((e) => e.type === 'triggered').map((e) => (e as { kind: string }).kind)).toEqual(['early', 'early']);
    expect(coordinator.completed).toBe(2);
  });

  it('a request during a periodic checkpoint still gets its own checkpoint after it', async () => {
    const { coordinator, barriers, ack } = harness();
    coordinator.trigger('periodic');
    coordinator.requestCheckpoint();
    await ack(1);
    // The request came while 1 was in flight: 2 follows.
    expect(barriers).toEqual([1, 2]);
    await ack(2);
    expect(barriers).toEqual([1, 2]);
  });

  it('is ignored once the job is stopping', async () => {
    const { coordinator, barriers } = harness();
    coordinator.stop();
    coordinator.requestCheckpoint();
    expect(barriers).toEqual([]);
  });
});
