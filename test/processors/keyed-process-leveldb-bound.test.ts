import { afterEach, describe, expect, it, vi } from 'vitest';
import { processKeyed } from '../../src/builder/keyed-process.js';
import { pipeline } from '../../src/builder/pipeline.js';
import type { Sink, TransactionalWriter } from '../../src/runtime/sink.js';
import { collectSink } from '../../src/sinks/collect-sink.js';
import { LevelTable } from '../../src/state/level-table.js';
import { tempDir } from '../support/files.js';
import { countThreeStates, type UserEvent, userEvents } from '../support/counting-state.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const c of cleanups.splice(0)) c();
});

function stateDir(): string {
  const t = tempDir('weir-leveldb-bound-');
  cleanups.push(t.cleanup);
  return `${t.dir}/state`;
}

/**
 * What a table may take on beyond 2 × cacheEntries: between asking for a checkpoint and its
 * barrier reaching the step it must keep handling the batches queued ahead of the barrier (waiting
 * there would deadlock): up to `bufferBatches` (4 by default) per stream edge on the way, plus the
 * ones in hand, each touching `entriesPerBatch` entries.
 */
function inFlight(edges: number, entriesPerBatch: number): number {
  return (edges * 4 + 2) * entriesPerBatch;
}

/** Far longer than any test: every checkpoint but the final one is an early one. */
const HOUR_MS = 3_600_000;


interface Txn {
  readonly id: number;
  readonly records: string[];
}

/**
 * An exactly-once sink into `committed` (transaction id → records), whose commit takes `delayMs`:
 * a slow commit keeps each checkpoint in flight, so the state tables have to wait for it.
 */
function txnSink(committed: Map<number, string[]>, delayMs = 0): Sink<string> {
  return {
    name: 'txn',
    open() {
      let buffer: string[] = [];
      const writer: TransactionalWriter<string, Txn> = {
        write(batch) {
          for (const r of batch.records) buffer.push(r);
        },
        preCommit(id) {
          const txn = { id, records: buffer };
          buffer = [];
          return txn;
        },
        async commit(txn) {
          if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
          if (!committed.has(txn.id)) committed.set(txn.id, txn.records);
        },
        abort: () => undefined,
      };
      return writer;
    },
  };
}

function committedOutput(committed: Map<number, string[]>): string[] {
  return [...committed.entries()].sort(([a], [b]) => a - b).flatMap(([, records]) => records);
}

/** Per event: its key's running count, the last three indexes and the parities seen (three states per key). */
function countingStream(count: number, users: number, options: { stateBackend?: 'heap' | 'leveldb'; cacheEntries?: number } = {}) {
  const keyed = pipeline('leveldb-bound').source(userEvents(count, users)).keyBy('user');
  return processKeyed<UserEvent, string, string>(keyed, countThreeStates, { name: 'count', ...options });
}

/** Watch every LevelTable: the most dirty + pinned entries seen before a batch or a capture, and the tables. */
function watchTables() {
  const seen = { maxHeld: 0, tables: new Set<LevelTable<unknown, unknown, unknown>>() };
  const prefetch = LevelTable.prototype.prefetch;
  const capture = LevelTable.prototype.capture;
  vi.spyOn(LevelTable.prototype, 'prefetch').mockImplementation(function (this: LevelTable<unknown, unknown, unknown>, keys, namespaces) {
    seen.tables.add(this);
    seen.maxHeld = Math.max(seen.maxHeld, this.held);
    return prefetch.call(this, keys, namespaces);
  });
  vi.spyOn(LevelTable.prototype, 'capture').mockImplementation(function (this: LevelTable<unknown, unknown, unknown>, id) {
    seen.maxHeld = Math.max(seen.maxHeld, this.held);
    return capture.call(this, id);
  });
  return seen;
}

describe('keyed process on LevelDB: memory bounded between checkpoints', () => {
  it('takes early checkpoints over many distinct keys, keeps dirty + pinned near 2 × cacheEntries, and gives the exact output', async () => {
    // 20 000 keys × 3 states, each key twice (the second time its values come back from the store).
    const expected: string[] = [];
    await countingStream(40_000, 20_000).sink(collectSink(expected)).run();
    const seen = watchTables();
    const committed = new Map<number, string[]>();
    const cacheEntries = 2000;
    const result = await countingStream(40_000, 20_000, { stateBackend: 'leveldb', cacheEntries })
      .sink(txnSink(committed))
      .run({ stateDir: stateDir(), checkpointInterval: HOUR_MS });
    // 120 000 entry writes: without early checkpoints only the final one would happen.
    expect(result.checkpoints).toBeGreaterThanOrEqual(20);
    expect(seen.tables.size).toBe(1);
    expect(seen.maxHeld).toBeGreaterThan(cacheEntries);
    // 50 records of distinct keys per batch, 3 states each, 2 edges from the source.
    expect(seen.maxHeld).toBeLessThanOrEqual(2 * cacheEntries + inFlight(2, 150));
    expect(committedOutput(committed)).toEqual(expected);
  }, 60_000);

  it('waits for slow checkpoints without deadlocking, with two LevelDB steps in a row', async () => {
    const build = (options: { stateBackend?: 'heap' | 'leveldb'; cacheEntries?: number }) => {
      const first = countingStream(20_000, 10_000, options);
      // A second keyed step downstream: its barrier has to get past the first one, which may be waiting.
      return processKeyed<string, string, string>(
        first.keyBy((line) => line.slice(0, line.indexOf(':'))),
        (line, ctx) => {
          const seenLines = ctx.state.value<number>('lines');
          const n = (seenLines.get() ?? 0) + 1;
          seenLines.set(n);
          ctx.emit(`${line}#${n}`);
        },
        { name: 'again', ...options },
      );
    };
    const expected: string[] = [];
    await build({}).sink(collectSink(expected)).run();
    const seen = watchTables();
    const committed = new Map<number, string[]>();
    const cacheEntries = 500;
    const result = await build({ stateBackend: 'leveldb', cacheEntries })
      .sink(txnSink(committed, 30))
      .run({ stateDir: stateDir(), checkpointInterval: HOUR_MS });
    expect(result.checkpoints).toBeGreaterThanOrEqual(10);
    expect(seen.tables.size).toBe(2);
    // Each 30 ms commit keeps a checkpoint in flight long enough that the tables must wait for it.
    const stalls = [...seen.tables].reduce((sum, t) => sum + t.stalls, 0);
    expect(stalls).toBeGreaterThan(0);
    // The first step's share dominates (3 states per key, 2 edges from the source; the second: 1 state, 4 edges).
    expect(seen.maxHeld).toBeLessThanOrEqual(2 * cacheEntries + inFlight(2, 150));
    expect(committedOutput(committed)).toEqual(expected);
  }, 60_000);

  it('a crash after early checkpoints resumes from the latest one: exactly once', async () => {
    const expected: string[] = [];
    await countingStream(30_000, 15_000).sink(collectSink(expected)).run();
    const dir = stateDir();
    const committed = new Map<number, string[]>();
    const options = { stateBackend: 'leveldb' as const, cacheEntries: 1000 };
    const job = countingStream(30_000, 15_000, options).sink(txnSink(committed)).start({ stateDir: dir, checkpointInterval: HOUR_MS });
    // Early checkpoints committed output long before the interval: crash in the middle of the input.
    let finished = false;
    job.done.then(
      () => (finished = true),
      () => (finished = true),
    );
    while (committed.size < 3 && !finished) await new Promise((r) => setTimeout(r, 1));
    expect(finished).toBe(false);
    job.abort(new Error('crash'));
    await expect(job.done).rejects.toThrow();
    expect(committedOutput(committed).length).toBeLessThan(30_000);
    const result = await countingStream(30_000, 15_000, options).sink(txnSink(committed)).run({ stateDir: dir, checkpointInterval: HOUR_MS });
    expect(result.checkpoints).toBeGreaterThan(1);
    expect(committedOutput(committed)).toEqual(expected);
  }, 60_000);
});
