import type { Source } from '../../src/runtime/source.js';

/**
 * A bounded, replayable source of `make(0) … make(count − 1)`, `chunk` records per read. Each read
 * first yields to the event loop (`setImmediate`, or a `delayMs` timer), so checkpoint timers and
 * barriers get their turn mid-stream. Position = the index of the next record.
 *
 * @example
 * ```ts
 * const src = replayableSource('numbers', 100, (i) => ({ n: i }), { chunk: 7 });
 * ```
 */
export function replayableSource<T>(name: string, count: number, make: (i: number) => T, options: { chunk?: number; delayMs?: number } = {}): Source<T> {
  const chunk = options.chunk ?? 50;
  const delayMs = options.delayMs ?? 0;
  return {
    name,
    bounded: true,
    replayable: true,
    open(ctx) {
      let i = (ctx.restored as number | undefined) ?? 0;
      return {
        async read() {
          await new Promise((r) => (delayMs > 0 ? setTimeout(r, delayMs) : setImmediate(r)));
          if (i >= count) return null;
          const end = Math.min(count, i + chunk);
          const records: T[] = [];
          for (; i < end; i++) records.push(make(i));
          return { records };
        },
        position: () => i,
      };
    },
  };
}
