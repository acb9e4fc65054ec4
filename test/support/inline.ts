import type { Sink } from '../../src/runtime/sink.js';
import type { Source } from '../../src/runtime/source.js';

/** A bounded source over an array, in chunks of `chunk` records (independent of the connector under test). */
export function listSource<T>(records: readonly T[], options: { chunk?: number; name?: string; split?: (r: T) => string } = {}): Source<T> {
  const chunk = options.chunk ?? 3;
  return {
    name: options.name ?? 'list',
    bounded: true,
    replayable: true,
    open(ctx) {
      let i = (ctx.restored as number | undefined) ?? 0;
      return {
        read(max) {
          if (i >= records.length) return null;
          const end = Math.min(records.length, i + Math.min(max, chunk));
          const out = records.slice(i, end);
          i = end;
          return options.split ? { records: out, split: options.split(out[0]) } : { records: out };
        },
        position: () => i,
      };
    },
  };
}

/** A sink that records every element kind it sees, for assertions. */
export function recordingSink<T>(into: { records: T[]; timestamps: number[]; watermarks: number[]; ends: number; closes: number }): Sink<T> {
  return {
    name: 'recording',
    open: () => ({
      write(batch) {
        into.records.push(...batch.records);
        into.timestamps.push(...batch.timestamps);
      },
      onWatermark(t) {
        into.watermarks.push(t);
      },
      flush() {
        into.ends++;
      },
      close() {
        into.closes++;
      },
    }),
  };
}

export function recording<T>() {
  return { records: [] as T[], timestamps: [] as number[], watermarks: [] as number[], ends: 0, closes: 0 };
}
