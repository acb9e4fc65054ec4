import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { batch } from '../../src/runtime/elements.js';
import type { SinkContext, TransactionalWriter } from '../../src/runtime/sink.js';
import { fileSink, type FileSinkFormat, type FileSinkOptions } from '../../src/sinks/file-sink.js';
import type { FileSourceOptions } from '../../src/sources/file-source.js';

export const FORMATS: readonly FileSinkFormat[] = ['jsonl', 'csv', 'parquet', 'avro', 'arrow'];

/** A record with nested values, nulls, a date, unicode, quotes, commas and a line end in strings. */
export interface Row {
  id: number;
  name: string | null;
  ok: boolean;
  score: number;
  at: Date;
  nested: { a: number; note: string | null; tags: string[] } | null;
}

export function row(i: number): Row {
  return {
    id: i,
    name: i % 7 === 0 ? null : i % 11 === 0 ? `line ${i}\nsecond, "quoted" é✓` : `n${i}`,
    ok: i % 2 === 0,
    score: i / 4,
    at: new Date(1_700_000_000_000 + i * 1000),
    nested: i % 5 === 0 ? null : { a: i % 100, note: i % 3 === 0 ? null : `note, "${i}" ü`, tags: [`t${i % 3}`, 'y'] },
  };
}

export function rows(from: number, to: number): Row[] {
  return Array.from({ length: to - from }, (_, k) => row(from + k));
}

/** What weir's file source gives back for `r` written in `format` (read with {@link readOptions}). */
export function expected(format: FileSinkFormat, r: Row): unknown {
  return format === 'jsonl' ? (JSON.parse(JSON.stringify(r)) as unknown) : r;
}

/** Source options that read back what the sink wrote in `format`. */
export function readOptions(format: FileSinkFormat): Partial<FileSourceOptions> {
  return format === 'csv' ? { types: { id: 'number', ok: 'boolean', score: 'number', at: 'date', nested: 'json' }, nullValue: '' } : {};
}

export function sinkCtx(name = 'out', now: () => number = () => Date.now(), restored?: unknown): SinkContext {
  return { job: 't', name, signal: new AbortController().signal, restored, now };
}

/**
 * Write `records` with weir's file sink into `dir` in batches of `batchSize`, pre-commit and commit
 * as checkpoint 1; returns the committed file names (sorted).
 */
export async function writeParts(dir: string, records: readonly unknown[], options: Omit<FileSinkOptions, 'dir'>, batchSize = 1000): Promise<string[]> {
  const writer = (await fileSink({ dir, ...options }).open(sinkCtx(options.name ?? 'out'))) as TransactionalWriter<unknown>;
  try {
    for (let i = 0; i < records.length; i += batchSize) {
      const slice = records.slice(i, i + batchSize);
      await writer.write(batch(slice, new Array<number>(slice.length).fill(Number.NaN)));
    }
    await writer.commit(await writer.preCommit(1));
  } finally {
    await writer.close?.();
  }
  return (await readdir(dir)).filter((f) => !f.startsWith('.')).sort();
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export function paths(dir: string, names: readonly string[]): string[] {
  return names.map((n) => join(dir, n));
}
