import { appendFile, mkdir, mkdtemp, open, rename, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipeline } from '../../src/builder/pipeline.js';
import type { Sink } from '../../src/runtime/sink.js';
import type { SourceReader } from '../../src/runtime/source.js';
import { fileSource } from '../../src/sources/file-source.js';
import { removeDir } from './file-formats-support.js';
import { sourceCtx } from './file-source-support.js';

/**
 * Watch mode against a real file system: these tests wait for conditions (file events or the
 * poll interval), never for fixed delays.
 */
let root: string;
let n = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'weir-file-watch-'));
});

afterAll(async () => {
  await removeDir(root);
});

async function fresh(): Promise<string> {
  const dir = join(root, `w${n++}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

function lines(from: number, to: number): string {
  let text = '';
  for (let i = from; i < to; i++) text += JSON.stringify({ id: i }) + '\n';
  return text;
}

function ids(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, k) => from + k);
}

/** Resolve once `condition()` holds; fail after `timeoutMs`. */
async function until(condition: () => boolean, what: () => string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Read from a watching reader in the background into `into`, until stopped. */
function pump(reader: SourceReader<unknown>, into: unknown[]): { stop(): Promise<void> } {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const chunk = await reader.read(100);
      if (chunk === null) break;
      into.push(...chunk.records);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

describe('fileSource watch', () => {
  it('follows a log file while the job runs: appends, a partial last line, rotation, truncation', async () => {
    const dir = await fresh();
    const log = join(dir, 'app.jsonl');
    await writeFile(log, lines(0, 100));
    const out: Array<{ id: number }> = [];
    const collect: Sink<{ id: number }> = { name: 'out', open: () => ({ write: (b) => void out.push(...b.records) }) };
    const job = pipeline('tail')
      .source(fileSource<{ id: number }>({ path: log, watch: true, pollMs: 20, name: 'log' }))
      .sink(collect)
      .start();
    const seen = (): string => `${out.length} records, last ${JSON.stringify(out.at(-1))}`;
    try {
      await until(() => out.length === 100, seen);

      await appendFile(log, lines(100, 150));
      await until(() => out.length === 150, seen);

      // A line being written is not read until its line end arrives.
      await appendFile(log, '{"id":150');
      await appendFile(log, ', "late": true}\n' + lines(151, 160));
      await until(() => out.length === 160, seen);
      expect(out[150]).toEqual({ id: 150, late: true });

      // Rotation: the file is renamed away, the application writes a little more to the old inode,
      // then a new file appears under the name.
      const app = await open(log, 'a');
      await rename(log, `${log}.1`);
      await app.appendFile(lines(160, 170));
      await app.close();
      await writeFile(log, lines(170, 200));
      await until(() => out.length === 200, seen);

      // copytruncate: the file is emptied in place and written from the top.
      await truncate(log, 0);
      await appendFile(log, lines(200, 210));
      await until(() => out.length === 210, seen);
    } finally {
      await job.stop();
    }
    expect(out.map((r) => r.id)).toEqual(ids(0, 210));
  }, 30_000);

  it('picks up new files in a watched directory, finishing a followed file when a newer one appears', async () => {
    const dir = await fresh();
    await writeFile(join(dir, 'a.jsonl'), lines(0, 10));
    const reader = await fileSource({ path: dir, watch: true, pollMs: 20 }).open(sourceCtx());
    const out: unknown[] = [];
    const reading = pump(reader, out);
    try {
      await until(() => out.length === 10, () => `${out.length}`);
      // a.jsonl is the newest file: it is followed, so its unterminated last line waits.
      await appendFile(join(dir, 'a.jsonl'), lines(10, 15) + '{"id":15}');
      await until(() => out.length === 15, () => `${out.length}`);
      // A hidden file (a sink's part in progress) is not picked up; its rename to a visible name is.
      await writeFile(join(dir, '.b.jsonl.inprogress'), lines(16, 20));
      await rename(join(dir, '.b.jsonl.inprogress'), join(dir, 'b.jsonl'));
      await until(() => out.length === 20, () => `${out.length}`);
      await writeFile(join(dir, 'c.csv'), 'id\n20\n');
      await until(() => out.length === 21, () => `${out.length}`);
      expect(reader.position()).toMatchObject({ done: [join(dir, 'a.jsonl'), join(dir, 'b.jsonl')], current: { file: join(dir, 'c.csv') } });
    } finally {
      await reading.stop();
      await reader.close?.();
    }
    expect(out).toEqual([...ids(0, 20).map((id) => ({ id })), { id: '20' }]);
  }, 30_000);

  it('waits for a watched file that does not exist yet', async () => {
    const dir = await fresh();
    const log = join(dir, 'later.jsonl');
    const reader = await fileSource({ path: log, watch: true, pollMs: 20 }).open(sourceCtx());
    const out: unknown[] = [];
    const reading = pump(reader, out);
    try {
      expect(await reader.position()).toEqual({ done: [], current: null });
      await writeFile(log, lines(0, 3));
      await until(() => out.length === 3, () => `${out.length}`);
    } finally {
      await reading.stop();
      await reader.close?.();
    }
  });

  it('resumes a followed file rotated while the job was down: the rest of the old inode first, then the new file', async () => {
    const dir = await fresh();
    const log = join(dir, 'app.jsonl');
    await writeFile(log, lines(0, 20));
    const first = await fileSource({ path: log, watch: true, pollMs: 20 }).open(sourceCtx());
    const head: unknown[] = [];
    while (head.length < 12) head.push(...(await first.read(12 - head.length))!.records);
    const position = structuredClone(first.position());
    await first.close?.();
    // Down: the log is appended to, rotated, and a new one started.
    await appendFile(log, lines(20, 25));
    await rename(log, join(dir, 'app.jsonl.2024-01-01'));
    await writeFile(log, lines(25, 30));

    const second = await fileSource({ path: log, watch: true, pollMs: 20 }).open(sourceCtx(position));
    const tail: unknown[] = [];
    const reading = pump(second, tail);
    try {
      await until(() => tail.length === 18, () => `${tail.length}`);
    } finally {
      await reading.stop();
      await second.close?.();
    }
    expect([...head, ...tail]).toEqual(ids(0, 30).map((id) => ({ id })));
  });

  it('stops waiting when the signal aborts', async () => {
    const dir = await fresh();
    const controller = new AbortController();
    const reader = await fileSource({ path: dir, watch: true, pollMs: 60_000 }).open(sourceCtx(undefined, controller.signal));
    const pending = Promise.resolve(reader.read(10));
    controller.abort(new Error('stop'));
    await expect(pending).rejects.toThrow('stop');
    await reader.close?.();
  });
});
