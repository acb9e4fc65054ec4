import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { command } from '../../src/cli/dead-letters-command.js';
import type { CliIo } from '../../src/cli/command.js';
import { batch } from '../../src/runtime/elements.js';
import type { DeadLetter } from '../../src/runtime/error-policy.js';
import { ConfigError } from '../../src/runtime/errors.js';
import type { TransactionalWriter } from '../../src/runtime/sink.js';
import { deadLetterSink } from '../../src/sinks/dead-letter-sink.js';

let dir: string;
let work: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'weir-dlq-cli-'));
  work = await mkdtemp(join(tmpdir(), 'weir-dlq-out-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

function capture(): CliIo & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out(t: string) {
      io.stdout += t;
    },
    err(t: string) {
      io.stderr += t;
    },
  };
  return io;
}

function letter(id: number, code: string): DeadLetter {
  return {
    record: { id, name: `order-${id}` },
    error: { code, message: `step "api": POST http://h/in failed: ${code}`, step: 'api' },
    source: { name: 'orders', position: { file: 'orders.jsonl', line: id } },
  };
}

/** Two committed checkpoints of dead letters, written by the dead-letter sink itself, plus an in-progress file. */
async function fill(): Promise<void> {
  const writer = (await deadLetterSink({ dir, name: 'api' }).open({
    job: 'j',
    name: 'api',
    signal: new AbortController().signal,
    restored: undefined,
    now: () => 0,
  })) as TransactionalWriter<DeadLetter>;
  const write = (letters: DeadLetter[]) => writer.write(batch(letters, letters.map(() => Number.NaN)));
  await write([letter(1, 'WEIR_HTTP_400'), letter(2, 'WEIR_HTTP_500'), letter(3, 'WEIR_HTTP_TIMEOUT')]);
  await writer.commit(await writer.preCommit(1));
  await write([letter(4, 'WEIR_HTTP_500'), letter(5, 'WEIR_HTTP_400')]);
  await writer.commit(await writer.preCommit(2));
  await write([letter(6, 'WEIR_HTTP_500')]); // never committed: hidden, not shown
  await writer.close?.();
}

describe('weir dead-letters list', () => {
  it('lists files with counts and first/last error codes', async () => {
    await fill();
    const io = capture();
    expect(await command.run(['list', dir], io)).toBe(0);
    expect(io.stdout).toBe(
      [
        'FILE                             LETTERS  FIRST CODE     LAST CODE',
        'dead-api-0000000001-00000.jsonl        3  WEIR_HTTP_400  WEIR_HTTP_TIMEOUT',
        'dead-api-0000000002-00000.jsonl        2  WEIR_HTTP_500  WEIR_HTTP_400',
        'total: 2 files, 5 dead letters',
        '',
      ].join('\n'),
    );
  });

  it('counts lines that are not dead letters', async () => {
    await writeFile(join(dir, 'dead-x-0000000001-00000.jsonl'), `${JSON.stringify(letter(1, 'E1'))}\nnot json\n{"a":1}\n\n`);
    const io = capture();
    expect(await command.run(['list', dir], io)).toBe(0);
    expect(io.stdout).toContain('dead-x-0000000001-00000.jsonl        1  E1          E1         2 unreadable');
    expect(io.stdout).toContain('total: 1 file, 1 dead letter, 2 unreadable lines');
  });

  it('says when there is nothing', async () => {
    const io = capture();
    expect(await command.run(['list', dir], io)).toBe(0);
    expect(io.stdout).toBe(`no dead-letter files in ${dir}\n`);
  });
});

describe('weir dead-letters show', () => {
  it('prints records with error and source position', async () => {
    await fill();
    const io = capture();
    expect(await command.run(['show', dir, '--limit', '1'], io)).toBe(0);
    expect(io.stdout).toBe(
      [
        'dead-api-0000000001-00000.jsonl:1',
        '  error:  WEIR_HTTP_400 in step "api": POST http://h/in failed: WEIR_HTTP_400',
        '  source: orders at {"file":"orders.jsonl","line":1}',
        '  record: {',
        '      "id": 1,',
        '      "name": "order-1"',
        '    }',
        '',
        'shown 1 of 5 dead letters',
        '',
      ].join('\n'),
    );
  });

  it('filters by error code', async () => {
    await fill();
    const io = capture();
    expect(await command.run(['show', dir, '--code=WEIR_HTTP_500'], io)).toBe(0);
    expect(io.stdout.match(/^dead-api-\S+:\d+$/gm)).toEqual(['dead-api-0000000001-00000.jsonl:2', 'dead-api-0000000002-00000.jsonl:1']);
    expect(io.stdout).toContain('shown 2 of 2 dead letters with code WEIR_HTTP_500\n');
  });
});

describe('weir dead-letters replay', () => {
  it("writes the original records as JSON lines a job can read, and says how many", async () => {
    await fill();
    const to = join(work, 'retry.jsonl');
    const io = capture();
    expect(await command.run(['replay', dir, '--to', to], io)).toBe(0);
    expect(io.stdout).toBe(`replayed 5 dead letters from ${dir} to ${to}\n`);
    const lines = (await readFile(to, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { id: number });
    expect(lines.map((r) => r.id)).toEqual([1, 2, 3, 4, 5]);
    expect(lines[0]).toEqual({ id: 1, name: 'order-1' });
  });

  it('filters by code, refuses to overwrite without --force', async () => {
    await fill();
    const to = join(work, 'retry.jsonl');
    let io = capture();
    expect(await command.run(['replay', dir, '--to', to, '--code', 'WEIR_HTTP_400', '--code', 'WEIR_HTTP_TIMEOUT'], io)).toBe(0);
    expect(io.stdout).toBe(`replayed 3 dead letters with code WEIR_HTTP_400 or WEIR_HTTP_TIMEOUT from ${dir} to ${to}\n`);
    expect((await readFile(to, 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as { id: number }).id)).toEqual([1, 3, 5]);

    io = capture();
    expect(await command.run(['replay', dir, '--to', to], io)).toBe(1);
    expect(io.stderr).toContain('exists; pass --force to replace it');
    expect(await command.run(['replay', dir, '--to', to, '--force'], capture())).toBe(0);
    expect((await readFile(to, 'utf8')).trim().split('\n')).toHaveLength(5);
  });
});

describe('weir dead-letters arguments', () => {
  it('prints usage and exits 2 on bad arguments', async () => {
    for (const args of [[], ['drop', dir], ['list'], ['show', dir, '--limit', '0'], ['replay', dir], ['list', dir, '--bogus'], ['list', dir, 'extra']]) {
      const io = capture();
      expect(await command.run(args, io)).toBe(2);
      expect(io.stderr).toContain('usage: weir dead-letters');
    }
  });

  it('rejects a missing directory with a ConfigError', async () => {
    await expect(command.run(['list', join(dir, 'nope')], capture())).rejects.toThrow(ConfigError);
  });

  it('describes itself for weir --help', () => {
    expect(command.name).toBe('dead-letters');
    expect(command.summary.length).toBeGreaterThan(0);
    expect(command.usage).toContain('weir dead-letters replay <dir> --to <file.jsonl>');
  });
});
