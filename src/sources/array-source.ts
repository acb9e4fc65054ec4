import { CheckpointError, ConfigError, show } from '../runtime/errors.js';
import type { Source, SourceChunk } from '../runtime/source.js';

/** Options of {@link arraySource}. */
export interface ArraySourceOptions {
  /** Step name. Default `'array'`. */
  name?: string;
  /** Return at most this many records per read (smaller than the runtime's batch size to test batching). Default: what the runtime asks. */
  batchSize?: number;
}

const WHAT = 'sources.array';

/**
 * A bounded, replayable source over an in-memory array, for tests and small jobs.
 *
 * Reads return consecutive slices of `records` (the array is not copied up front, so it must not
 * change while the job runs). The position is the index of the next record; a restored position
 * resumes there, so a resumed run emits exactly the records after the checkpoint. Progress is
 * known: `{ done: index, total: records.length }`.
 *
 * @example
 * ```ts
 * const src = arraySource([{ id: 1 }, { id: 2 }, { id: 3 }], { name: 'ids', batchSize: 2 });
 * ```
 */
export function arraySource<T>(records: readonly T[], options: ArraySourceOptions = {}): Source<T> {
  if (!Array.isArray(records)) throw new ConfigError(`${WHAT}: records must be an array, got ${show(records)}`);
  if (options === null || typeof options !== 'object') throw new ConfigError(`${WHAT}: options must be an object, got ${show(options)}`);
  const batchSize = options.batchSize ?? Number.POSITIVE_INFINITY;
  if (batchSize !== Number.POSITIVE_INFINITY && !(Number.isSafeInteger(batchSize) && batchSize > 0)) {
    throw new ConfigError(`${WHAT}: batchSize must be a positive integer, got ${show(options.batchSize)}`);
  }
  const name = options.name ?? 'array';
  if (typeof name !== 'string' || name.length === 0) throw new ConfigError(`${WHAT}: name must be a non-empty string, got ${show(name)}`);
  return {
    name,
    bounded: true,
    replayable: true,
    open(ctx) {
      let next = 0;
      const restored = ctx.restored;
      if (restored !== undefined) {
        if (!(Number.isSafeInteger(restored) && (restored as number) >= 0 && (restored as number) <= records.length)) {
          throw new CheckpointError(
            `source "${ctx.name}": restored position must be an index in [0, ${records.length}], got ${show(restored)}`,
            { step: ctx.name },
          );
        }
        next = restored as number;
      }
      return {
        read(max: number): SourceChunk<T> | null {
          if (next >= records.length) return null;
          const n = Math.min(max, batchSize, records.length - next);
          const chunk = records.slice(next, next + Math.max(0, n));
          next += chunk.length;
          return { records: chunk };
        },
        position: () => next,
        progress: () => ({ done: next, total: records.length, unit: 'records' }),
      };
    },
  };
}
