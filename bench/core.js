// Core throughput: generator → filter → map → count, against a hand-written loop over the same
// generated events. Measures what the engine's batching, operator fusion and stream hops cost.
import { pipeline, sources } from '../dist/index.js';

const make = (i, rng) => ({ id: i, v: rng.int(1000), t: i });

/** A sink that only counts and sums, so both sides compute the same checksum. */
function countingSink(state) {
  return {
    name: 'count',
    open: () => ({
      write(batch) {
        const r = batch.records;
        for (let i = 0; i < r.length; i++) state.sum += r[i].w;
        state.count += r.length;
      },
    }),
  };
}

export const cases = {
  'core-filter-map': {
    defaultEvents: 5e6,
    async weir(n) {
      const state = { count: 0, sum: 0 };
      await pipeline('bench-core')
        .source(sources.generator({ seed: 7, count: n, make }))
        .filter((e) => e.v % 2 === 0)
        .map((e) => ({ id: e.id, w: e.v * 3 }))
        .sink(countingSink(state))
        .run({ batchSize: 4096, args: [] });
      return `${state.count}:${state.sum}`;
    },
    async baseline(n) {
      // The same generator, read the same way (a batch at a time), then a plain loop.
      const reader = await sources.generator({ seed: 7, count: n, make }).open({
        job: 'b', name: 'g', signal: new AbortController().signal, restored: undefined, now: Date.now,
      });
      let count = 0;
      let sum = 0;
      for (let chunk = reader.read(4096); chunk !== null; chunk = reader.read(4096)) {
        const r = chunk.records;
        for (let i = 0; i < r.length; i++) {
          const e = r[i];
          if (e.v % 2 !== 0) continue;
          const out = { id: e.id, w: e.v * 3 };
          sum += out.w;
          count++;
        }
      }
      return `${count}:${sum}`;
    },
  },
};
