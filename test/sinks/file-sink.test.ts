import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileSink, type FileSinkTxn } from '../../src/sinks/file-sink.js';
import { batch } from '../../src/runtime/elements.js';
import { CheckpointError, ConfigError, ConnectorError, RecordError } from '../../src/runtime/errors.js';
import type { SinkContext, SinkWriter, TransactionalWriter } from '../../src/runtime/sink.js';
import { isTransactional } from '../../src/runtime/sink.js';

/** The file sink's writer always has flush and close. */
type Writer = TransactionalWriter<unknown, FileSinkTxn> & Required<Pick<SinkWriter<unknown>, 'flush' | 'close'>>;

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'weir-file-sink-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function ctx(restored?: unknown, name = 'out'): SinkContext {
  return { job: 't', name, signal: new AbortController().signal, restored, now: () => Date.now() };
}

async function openWriter(options: { rollRecords?: number; rollBytes?: number } = {}, restored?: unknown, name = 'out'): Promise<Writer> {
  const writer = await fileSink({ dir, format: 'jsonl', ...options }).open(ctx(restored, name));
  expect(isTransactional(writer)).toBe(true);
  return writer as Writer;
}

function rows(from: number, to: number): Array<{ i: number; s: string }> {
  return Array.from({ length: to - from }, (_, k) => ({ i: from + k, s: `r${from + k}` }));
}

function write(writer: Writer, records: unknown[]): Promise<void> | void {
  return writer.write(batch(records, new Array<number>(records.length).fill(Number.NaN)));
}

/** What a reader that skips hidden files sees: name → parsed records. */
async function visible(): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const name of (await readdir(dir)).sort()) {
    if (name.startsWith('.')) continue;
    const text = await readFile(join(dir, name), 'utf8');
    out[name] = text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown);
  }
  return out;
}

async function hidden(): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.startsWith('.')).sort();
}

describe('fileSink', () => {
  it('makes written records visible only after preCommit and commit, with exact content and no hidden leftovers', async () => {
    const writer = await openWriter();
    await write(writer, rows(0, 3));
    await write(writer, []);
    await write(writer, rows(3, 5));
    expect(await visible()).toEqual({});
    expect(await hidden()).toEqual(['.part-out-0.jsonl.inprogress']);

    const txn = await writer.preCommit(1);
    expect(txn).toEqual({
      checkpointId: 1,
      files: [{ pending: '.part-out-0000000001-00000.jsonl.pending', final: 'part-out-0000000001-00000.jsonl' }],
    });
    expect(structuredClone(txn)).toEqual(txn);
    expect(await visible()).toEqual({});

    await writer.commit(txn);
    expect(await visible()).toEqual({ 'part-out-0000000001-00000.jsonl': rows(0, 5) });
    expect(await hidden()).toEqual([]);
    expect(await readFile(join(dir, 'part-out-0000000001-00000.jsonl'), 'utf8')).toBe(
      rows(0, 5).map((r) => JSON.stringify(r) + '\n').join(''),
    );
    await writer.close();
  });

  it('keeps checkpoints apart and pre-commits nothing when nothing was written', async () => {
    const writer = await openWriter();
    expect(await writer.preCommit(1)).toEqual({ checkpointId: 1, files: [] });
    await write(writer, rows(0, 2));
    const t2 = await writer.preCommit(2);
    await write(writer, rows(2, 4));
    const t3 = await writer.preCommit(3);
    await writer.commit(t2);
    expect(await visible()).toEqual({ 'part-out-0000000002-00000.jsonl': rows(0, 2) });
    await writer.commit(t3);
    expect(await visible()).toEqual({ 'part-out-0000000002-00000.jsonl': rows(0, 2), 'part-out-0000000003-00000.jsonl': rows(2, 4) });
    await writer.close();
  });

  it('treats a second commit of the same transaction as a no-op, also from a new writer', async () => {
    const writer = await openWriter();
    await write(writer, rows(0, 4));
    const txn = await writer.preCommit(7);
    await writer.commit(txn);
    const before = await visible();
    await writer.commit(txn);
    expect(await visible()).toEqual(before);
    await writer.close();
    const again = await openWriter({}, txn);
    await again.commit(txn);
    expect(await visible()).toEqual(before);
    expect(await hidden()).toEqual([]);
    await again.close();
  });

  it('fails a commit whose files exist under neither name', async () => {
    const writer = await openWriter();
    const bogus: FileSinkTxn = { checkpointId: 4, files: [{ pending: '.part-out-0000000004-00000.jsonl.pending', final: 'part-out-0000000004-00000.jsonl' }] };
    await expect(writer.commit(bogus)).rejects.toBeInstanceOf(ConnectorError);
    await writer.close();
  });

  it('deletes pending files on abort, and a repeated abort is fine', async () => {
    const writer = await openWriter();
    await write(writer, rows(0, 3));
    const txn = await writer.preCommit(1);
    expect(await hidden()).toEqual(['.part-out-0000000001-00000.jsonl.pending']);
    await writer.abort(txn);
    await writer.abort(txn);
    expect(await readdir(dir)).toEqual([]);
    await writer.close();
  });

  it('rolls to a new part after rollRecords records, splitting batches, in order', async () => {
    const writer = await openWriter({ rollRecords: 3 });
    await write(writer, rows(0, 5));
    await write(writer, rows(5, 7));
    await write(writer, rows(7, 8));
    const txn = await writer.preCommit(1);
    expect(txn.files.map((f) => f.final)).toEqual([
      'part-out-0000000001-00000.jsonl',
      'part-out-0000000001-00001.jsonl',
      'part-out-0000000001-00002.jsonl',
    ]);
    await writer.commit(txn);
    expect(await visible()).toEqual({
      'part-out-0000000001-00000.jsonl': rows(0, 3),
      'part-out-0000000001-00001.jsonl': rows(3, 6),
      'part-out-0000000001-00002.jsonl': rows(6, 8),
    });
    await writer.close();
  });

  it('rolls to a new part once a part holds rollBytes bytes', async () => {
    const writer = await openWriter({ rollBytes: 40 });
    const records = rows(0, 10); // each line is 17 bytes
    await write(writer, records);
    const txn = await writer.preCommit(1);
    await writer.commit(txn);
    const parts = Object.values(await visible());
    expect(parts.map((p) => p.length)).toEqual([3, 3, 3, 1]);
    expect(parts.flat()).toEqual(records);
    await writer.close();
  });

  it('names files deterministically: the same input gives the same files after a replay', async () => {
    const run = async (): Promise<Record<string, unknown[]>> => {
      const writer = await openWriter({ rollRecords: 4 });
      await write(writer, rows(0, 6));
      const t1 = await writer.preCommit(1);
      await write(writer, rows(6, 9));
      const t2 = await writer.preCommit(2);
      await writer.commit(t1);
      await writer.commit(t2);
      await writer.close();
      const seen = await visible();
      await rm(dir, { recursive: true, force: true });
      return seen;
    };
    const first = await run();
    const second = await run();
    expect(second).toEqual(first);
    expect(Object.keys(first)).toHaveLength(3);
  });

  it('commits what is left at end of input under the next checkpoint id with -end names', async () => {
    const writer = await openWriter();
    await write(writer, rows(0, 2));
    await writer.commit(await writer.preCommit(4));
    await write(writer, rows(2, 5));
    await writer.flush();
    expect(await visible()).toEqual({
      'part-out-0000000004-00000.jsonl': rows(0, 2),
      'part-out-0000000005-00000-end.jsonl': rows(2, 5),
    });
    expect(await hidden()).toEqual([]);
    await writer.flush();
    expect(Object.keys(await visible())).toHaveLength(2);
    await writer.close();
  });

  it('on open removes in-progress leftovers and pending files of newer checkpoints, keeping what the restored txn references', async () => {
    const first = await openWriter();
    await write(first, rows(0, 2));
    const t1 = await first.preCommit(1); // checkpoint 1 completes, but the crash comes before its commit
    await write(first, rows(2, 4));
    await first.preCommit(2); // checkpoint 2 never completes
    await write(first, rows(4, 6)); // in progress
    await first.close();
    // Files of other steps and other names are not touched.
    const neighbour = await openWriter({}, undefined, 'out-2');
    await write(neighbour, rows(0, 1));
    await neighbour.close();
    await writeFile(join(dir, '.unrelated'), 'x');
    expect(await hidden()).toEqual([
      '.part-out-0000000001-00000.jsonl.pending',
      '.part-out-0000000002-00000.jsonl.pending',
      '.part-out-2-0.jsonl.inprogress', // step "out-2", part 0
      '.part-out-2.jsonl.inprogress', // step "out", part 2
      '.unrelated',
    ]);

    const restored = await openWriter({}, structuredClone(t1));
    expect(await hidden()).toEqual(['.part-out-0000000001-00000.jsonl.pending', '.part-out-2-0.jsonl.inprogress', '.unrelated']);
    await restored.commit(t1); // what the coordinator does on recovery
    expect(await visible()).toEqual({ 'part-out-0000000001-00000.jsonl': rows(0, 2) });
    // Replay from checkpoint 1's position.
    await write(restored, rows(2, 4));
    await restored.flush();
    expect(await visible()).toEqual({
      'part-out-0000000001-00000.jsonl': rows(0, 2),
      'part-out-0000000002-00000-end.jsonl': rows(2, 4),
    });
    await restored.close();

    // A fresh start removes every pending file of the step.
    const stale = await openWriter();
    await write(stale, rows(0, 1));
    await stale.preCommit(9);
    await stale.close();
    await (await openWriter()).close();
    expect(await hidden()).toEqual(['.part-out-2-0.jsonl.inprogress', '.unrelated']);
  });

  it('never shows uncommitted data to a reader that lists non-hidden files', async () => {
    const writer = await openWriter({ rollRecords: 2 });
    const committed: unknown[] = [];
    for (let id = 1; id <= 5; id++) {
      await write(writer, rows(id * 10, id * 10 + 3));
      expect(Object.values(await visible()).flat()).toEqual(committed);
      const txn = await writer.preCommit(id);
      expect(Object.values(await visible()).flat()).toEqual(committed);
      if (id === 3) {
        await writer.abort(txn);
      } else {
        await writer.commit(txn);
        committed.push(...rows(id * 10, id * 10 + 3));
      }
      expect(Object.values(await visible()).flat()).toEqual(committed);
    }
    await write(writer, rows(100, 103));
    await writer.close();
    expect(Object.values(await visible()).flat()).toEqual(committed);
  });

  it('fails a record JSON cannot hold with its step name, and closes idempotently after a failure', async () => {
    const writer = await openWriter();
    await write(writer, rows(0, 1));
    const failed = (async () => write(writer, [{ big: 1n }]))();
    await expect(failed).rejects.toBeInstanceOf(RecordError);
    await expect(failed).rejects.toMatchObject({ step: 'out' });
    await writer.close();
    await writer.close();
    expect(await visible()).toEqual({});
  });

  it('rejects bad options and bad restored transactions', async () => {
    expect(() => fileSink({ dir: '', format: 'jsonl' })).toThrow(ConfigError);
    expect(() => fileSink({ dir, format: 'xml' as 'jsonl' })).toThrow(
      `sinks.file: format must be one of 'jsonl', 'csv', 'parquet', 'avro', 'arrow', got "xml"`,
    );
    expect(() => fileSink({ dir, format: 'jsonl', rollRecords: 0 })).toThrow('sinks.file: rollRecords must be a positive integer, got 0');
    expect(() => fileSink({ dir, format: 'jsonl', rollBytes: -1 })).toThrow('sinks.file: rollBytes must be a positive integer, got -1');
    expect(() => fileSink({ dir, format: 'jsonl', prefix: '.x' })).toThrow(/prefix must be/);
    await expect(fileSink({ dir, format: 'jsonl' }).open(ctx({ nope: true }))).rejects.toBeInstanceOf(CheckpointError);
    const escape = { checkpointId: 1, files: [{ pending: '../../etc/x', final: 'y' }] };
    await expect(fileSink({ dir, format: 'jsonl' }).open(ctx(escape))).rejects.toThrow(/not a file sink transaction/);
  });
});
