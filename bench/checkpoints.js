// Checkpoint cost and restore time of keyed state (heap and LevelDB backends).
//   checkpoint-cost-<backend>: a keyed process job counting per key over 1 M keys (ValueState),
//     weir = checkpoints every 1 s, baseline = the same job with checkpoints off: the ratio is the
//     cost of checkpointing (target ≤ 1.10).
//   restore-1m-keys: prepare() runs a job leaving 1 M keys of LevelDB state in a state directory;
//     weir = the job resumed from it (restore, then 10 000 more events), baseline = the same job
//     from an empty state directory over the same 10 000 events: the difference is the restore time
//     (target ≤ 2 s). The checksum counts the records handled, the same for both.
//   restore-1m-keys-heap: the same with the heap backend, whose checkpoints are incremental chunks
//     in the state directory: the restore reads the chunk chain back into the heap table.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline, sources } from '../dist/index.js';

const KEYS = 1_000_000;
const TAIL = 10_000;

function summingSink(state) {
  return {
    name: 'sum',
    open: () => ({
      write(batch) {
        const r = batch.records;
        for (let i = 0; i < r.length; i++) state.sum += r[i];
        state.count += r.length;
      },
    }),
  };
}

/** Count per key over `keys` keys; emits the running count. */
async function countingJob({ count, keys, backend, run, from = 0 }) {
  const state = { count: 0, sum: 0 };
  await pipeline('bench-checkpoints')
    .source(sources.generator({ seed: 5, count, make: (i) => ({ k: (i * 7919) % keys }) }), { name: 'events' })
    .keyBy('k')
    .process(
      (e, ctx) => {
        const c = ctx.state.value('count');
        const next = (c.get() ?? 0) + 1;
        c.set(next);
        ctx.emit(next);
      },
      { name: 'counter', stateBackend: backend },
    )
    .sink(summingSink(state), { name: 'sum' })
    .run({ batchSize: 4096, args: [], ...run });
  return from === 0 ? `${state.count}:${state.sum}` : `${state.count}`;
}

function scratch() {
  const dir = mkdtempSync(join(tmpdir(), 'weir-bench-cp-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const costCase = (backend) => ({
  defaultEvents: 2_500_000,
  target: { maxRatio: 1.1 },
  weir: (n) => countingJob({ count: n, keys: KEYS, backend, run: { stateDir: scratch(), checkpointInterval: 1000 } }),
  baseline: (n) => countingJob({ count: n, keys: KEYS, backend, run: {} }),
});

const restoreCase = (backend) => ({
  defaultEvents: TAIL,
  async prepare() {
    const dir = scratch();
    await countingJob({ count: KEYS, keys: KEYS, backend, run: { stateDir: dir, checkpointInterval: 1000 } });
    return dir;
  },
  // Resume after the final checkpoint of prepare(): the generator goes on from position KEYS.
  weir: (n, dir) => countingJob({ count: KEYS + n, keys: KEYS, backend, from: KEYS, run: { stateDir: dir, checkpointInterval: 1000 } }),
  baseline: (n) => countingJob({ count: n, keys: KEYS, backend, from: 1, run: { stateDir: scratch(), checkpointInterval: 1000 } }),
});

export const cases = {
  'checkpoint-cost-heap': costCase('heap'),
  'checkpoint-cost-leveldb': costCase('leveldb'),
  'restore-1m-keys': restoreCase('leveldb'),
  'restore-1m-keys-heap': restoreCase('heap'),
};
