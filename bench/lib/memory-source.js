// A source over pre-generated records, handed out in slices: benchmarks measure the engine, not
// the generator. Replayable (position = index), bounded.
export function memorySource(records, { name = 'events', chunk = 4096 } = {}) {
  return {
    name,
    bounded: true,
    replayable: true,
    open(ctx) {
      let i = ctx.restored ?? 0;
      return {
        read(max) {
          if (i >= records.length) return null;
          const end = Math.min(records.length, i + Math.min(max, chunk));
          const out = records.slice(i, end);
          i = end;
          return { records: out };
        },
        position: () => i,
      };
    },
  };
}

/** A sink that folds every record into `state` with `fold(state, record)`. */
export function foldSink(state, fold, name = 'result') {
  return {
    name,
    open: () => ({
      write(batch) {
        const r = batch.records;
        for (let i = 0; i < r.length; i++) fold(state, r[i]);
      },
    }),
  };
}

/** Order-independent checksum of rows: count and a sum of 32-bit hashes of their JSON. */
export function multisetChecksum() {
  return {
    count: 0,
    sum: 0,
    add(row) {
      const s = JSON.stringify(row);
      let h = 2166136261;
      for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
      this.sum = (this.sum + (h >>> 0)) % 4294967296;
      this.count++;
    },
    toString() {
      return `${this.count}:${this.sum}`;
    },
  };
}
