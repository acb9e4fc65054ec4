import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pipeline } from '../../src/builder/pipeline.js';
import { batch } from '../../src/runtime/elements.js';
import { deadLetter, type DeadLetter } from '../../src/runtime/error-policy.js';
import { ConfigError } from '../../src/runtime/errors.js';
import type { SinkContext, SinkWriter, TransactionalWriter } from '../../src/runtime/sink.js';
import { isTransactional } from '../../src/runtime/sink.js';
import { collectSink } from '../../src/sinks/collect-sink.js';
import { deadLetterSink } from '../../src/sinks/dead-letter-sink.js';
import { listSource } from '../support/inline.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'weir-dead-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Writer = TransactionalWriter<DeadLetter> & Required<Pick<SinkWriter<DeadLetter>, 'flush' | 'close'>>;

function ctx(restored?: unknown): SinkContext {
  return { job: 'j', name: 'dead', signal: new AbortController().signal, restored, now: () => Date.now() };
}

function letter(i: number, code = 'WEIR_HTTP_400', record: unknown = { id: i }): DeadLetter {
  return { record, error: { code, message: `failed ${i}`, step: 'api' }, source: { name: 'orders', position: { line: i } } };
}

/** Visible files and their parsed lines. */
async function visible(): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const name of (await readdir(dir)).sort()) {
    if (name.startsWith('.')) continue;
    out[name] = (await readFile(join(dir, name), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as unknown);
  }
  return out;
}

describe('deadLetterSink', () => {
  it('writes dead letters as JSON lines in dead-<step>-… files, exactly once per checkpoint', async () => {
    const writer = (await deadLetterSink({ dir }).open(ctx())) as Writer;
    expect(isTransactional(writer)).toBe(true);
    const letters = [letter(1), letter(2, 'WEIR_HTTP_500')];
    await writer.write(batch(letters, [Number.NaN, Number.NaN]));
    const txn = await writer.preCommit(3);
    expect(await visible()).toEqual({});
    await writer.commit(txn);
    await writer.commit(txn); // idempotent
    await writer.write(batch([letter(3)], [Number.NaN]));
    await writer.flush();
    await writer.close();
    expect(await visible()).toEqual({
      'dead-dead-0000000003-00000.jsonl': letters,
      'dead-dead-0000000004-00000-end.jsonl': [letter(3)],
    });
  });

  it('keeps dead letters whose record cannot be serialized', async () => {
    const writer = (await deadLetterSink({ dir }).open(ctx())) as Writer;
    const cyclic: Record<string, unknown> = { id: 1 };
    cyclic.self = cyclic;
    const bad: DeadLetter = { record: { n: 10n }, error: { code: 'E', message: 'm', step: 's' }, source: { name: 'src', position: 5n } };
    await writer.write(batch([letter(0), { ...letter(1), record: cyclic }, bad], [0, 0, 0]));
    await writer.flush();
    await writer.close();
    const [lines] = Object.values(await visible()) as DeadLetter[][];
    expect(lines[0]).toEqual(letter(0));
    expect(lines[1].record).toMatchObject({ unserializable: '[object Object]', reason: expect.stringContaining('circular') });
    expect(lines[1].error).toEqual(letter(1).error);
    expect(lines[2].record).toMatchObject({ unserializable: '[object Object]' });
    expect(lines[2].source).toEqual({ name: 'src', position: { unserializable: '5', reason: expect.any(String) } });
  });

  it('receives the dead letters of an operator error policy in a job', async () => {
    const out: number[] = [];
    await pipeline('parse')
      .source(listSource(['1', 'x', '3', 'y']))
      .map(
        (s) => {
          const n = Number(s);
          if (Number.isNaN(n)) throw new Error(`not a number: ${s}`);
          return n;
        },
        { onError: deadLetter(deadLetterSink({ dir })) },
      )
      .sink(collectSink(out))
      .run();
    expect(out).toEqual([1, 3]);
    const files = await visible();
    const letters = Object.values(files).flat() as DeadLetter[];
    expect(letters.map((l) => l.record)).toEqual(['x', 'y']);
    expect(Object.keys(files).every((f) => f.startsWith('dead-'))).toBe(true);
  });

  it('validates options', () => {
    expect(() => deadLetterSink({ dir: '' })).toThrow(ConfigError);
    expect(() => deadLetterSink({ dir: '' })).toThrow('sinks.deadLetters: dir must be a non-empty path, got ""');
    expect(() => deadLetterSink({ dir, rollRecords: 0 })).toThrow('sinks.deadLetters: rollRecords must be a positive integer, got 0');
    expect(() => deadLetterSink({ dir, name: '' })).toThrow('sinks.deadLetters: name must be a non-empty string');
    expect(deadLetterSink({ dir }).name).toBe('dead-letters');
  });
});
