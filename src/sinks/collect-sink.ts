import { ConfigError, show } from '../runtime/errors.js';
import type { Batch } from '../runtime/elements.js';
import type { Sink } from '../runtime/sink.js';

/** Options of {@link collectSink}. */
export interface CollectSinkOptions {
  /** Step name. Default `'collect'`. */
  name?: string;
}

const WHAT = 'sinks.collect';

/**
 * A sink that pushes every record it receives into `target`, in arrival order: the way tests
 * read a job's output. At-least-once (it is not transactional): after a restore the records
 * replayed since the checkpoint are pushed again.
 *
 * @example
 * ```ts
 * const out: number[] = [];
 * await pipeline('j').source(arraySource([1, 2, 3])).map((x) => x * 2).sink(collectSink(out)).run();
 * // out is [2, 4, 6]
 * ```
 */
export function collectSink<T>(target: T[], options: CollectSinkOptions = {}): Sink<T> {
  if (!Array.isArray(target)) throw new ConfigError(`${WHAT}: target must be an array, got ${show(target)}`);
  if (options === null || typeof options !== 'object') throw new ConfigError(`${WHAT}: options must be an object, got ${show(options)}`);
  const name = options.name ?? 'collect';
  if (typeof name !== 'string' || name.length === 0) throw new ConfigError(`${WHAT}: name must be a non-empty string, got ${show(name)}`);
  return {
    name,
    open: () => ({
      write(b: Batch<T>): void {
        const records = b.records;
        // A loop, not push(...records): spreading a large batch can overflow the call stack.
        for (let i = 0; i < records.length; i++) target.push(records[i]);
      },
    }),
  };
}
