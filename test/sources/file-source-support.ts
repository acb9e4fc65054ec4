import type { DeadLetter } from '../../src/runtime/error-policy.js';
import type { Source, SourceContext, SourceReader } from '../../src/runtime/source.js';
import type { FileSourceChunk } from '../../src/sources/file-source.js';

/** A source context for driving a reader by hand. */
export function sourceCtx(restored?: unknown, signal: AbortSignal = new AbortController().signal, name = 'in'): SourceContext {
  return { job: 't', name, signal, restored, now: () => Date.now() };
}

/** What a reader returned: records, dead letters, and the number of reads. */
export interface Drained<T> {
  records: T[];
  deadLetters: DeadLetter[];
  reads: number;
}

/** Read a bounded source's reader to its end, `max` records per read. */
export async function drain<T>(reader: SourceReader<T>, max = 1000, limit = Number.POSITIVE_INFINITY): Promise<Drained<T>> {
  const out: Drained<T> = { records: [], deadLetters: [], reads: 0 };
  while (out.records.length < limit) {
    const chunk = (await reader.read(Math.min(max, limit - out.records.length))) as FileSourceChunk<T> | null;
    out.reads++;
    if (chunk === null) break;
    for (const r of chunk.records) out.records.push(r);
    if (chunk.deadLetters !== undefined) out.deadLetters.push(...chunk.deadLetters);
  }
  return out;
}

/** Open `source`, read it all, close it. */
export async function readAll<T>(source: Source<T>, options: { max?: number; restored?: unknown } = {}): Promise<Drained<T>> {
  const reader = await source.open(sourceCtx(options.restored));
  try {
    return await drain(reader, options.max ?? 1000);
  } finally {
    await reader.close?.();
  }
}

/**
 * Read exactly `k` records (fewer at the end), take the position, and read the rest from a new
 * reader restored at it. Returns the head, the position, and the tail.
 */
export async function splitAt<T>(source: Source<T>, k: number, max = 1000): Promise<{ head: Drained<T>; position: unknown; tail: Drained<T> }> {
  const first = await source.open(sourceCtx());
  let head: Drained<T>;
  let position: unknown;
  try {
    head = await drain(first, max, k);
    position = structuredClone(first.position());
  } finally {
    await first.close?.();
  }
  const second = await source.open(sourceCtx(position));
  try {
    const tail = await drain(second, max);
    return { head, position, tail };
  } finally {
    await second.close?.();
  }
}
