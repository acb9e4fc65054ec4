import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { consoleSink } from '../../src/sinks/console-sink.js';
import { batch } from '../../src/runtime/elements.js';
import { ConfigError } from '../../src/runtime/errors.js';
import type { SinkContext, SinkWriter } from '../../src/runtime/sink.js';

function ctx(signal = new AbortController().signal): SinkContext {
  return { job: 't', name: 'k', signal, restored: undefined, now: () => Date.now() };
}

function nan(n: number): number[] {
  return new Array<number>(n).fill(Number.NaN);
}

describe('consoleSink', () => {
  it('writes one JSON line per record, one write per batch', async () => {
    const stream = new PassThrough();
    const chunks: string[] = [];
    stream.on('data', (d: Buffer) => chunks.push(d.toString()));
    const writer = (await consoleSink({ stream }).open(ctx())) as SinkWriter<unknown>;
    await writer.write(batch([{ a: 1 }, 'x', 2n, [1, 2]], nan(4)));
    await writer.write(batch([], []));
    await writer.write(batch([{ b: 'c' }], nan(1)));
    expect(chunks).toEqual(['{"a":1}\n"x"\n2\n[1,2]\n', '{"b":"c"}\n']);
  });

  it('prints an aligned table per batch with the union of keys, cut long values', async () => {
    const stream = new PassThrough();
    const chunks: string[] = [];
    stream.on('data', (d: Buffer) => chunks.push(d.toString()));
    const writer = (await consoleSink({ stream, format: 'table' }).open(ctx())) as SinkWriter<unknown>;
    await writer.write(
      batch(
        [
          { id: 1, user: 'ann' },
          { id: 22, page: '/cart', note: 'x'.repeat(50) },
          { id: 3, user: null, tags: ['a'] },
        ],
        nan(3),
      ),
    );
    expect(chunks).toHaveLength(1);
    const cut = 'x'.repeat(31) + '…';
    expect(chunks[0]).toBe(
      [
        'id  user  page   note                              tags',
        '--  ----  -----  --------------------------------  -----',
        ' 1  ann',
        '22        /cart  ' + cut,
        ' 3                                                 ["a"]',
        '',
        '',
      ].join('\n'),
    );
    await writer.write(batch([5, 'five'], nan(2)));
    expect(chunks[1]).toBe(['value', '-----', '5', 'five', '', ''].join('\n'));
  });

  it('waits for drain when the stream pushes back', async () => {
    const written: string[] = [];
    let release: (() => void) | undefined;
    const slow = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _enc, cb) {
        written.push(chunk.toString());
        release = cb;
      },
    });
    const writer = (await consoleSink({ stream: slow }).open(ctx())) as SinkWriter<unknown>;
    const result = writer.write(batch([1, 2, 3], nan(3)));
    expect(result).toBeInstanceOf(Promise);
    let done = false;
    void (result as Promise<void>).then(() => (done = true));
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    release!();
    await result;
    expect(written).toEqual(['1\n2\n3\n']);
  });

  it('gives up waiting for drain when the signal aborts', async () => {
    const slow = new Writable({ highWaterMark: 1, write: () => undefined });
    const controller = new AbortController();
    const writer = (await consoleSink({ stream: slow }).open(ctx(controller.signal))) as SinkWriter<unknown>;
    const result = writer.write(batch([1], nan(1)));
    controller.abort();
    await expect(result).rejects.toThrow();
  });

  it('validates its options', () => {
    expect(() => consoleSink({ format: 'csv' as 'jsonl' })).toThrow(new ConfigError(`sinks.console: format must be 'jsonl' or 'table', got "csv"`));
    expect(() => consoleSink({ stream: {} as NodeJS.WritableStream })).toThrow(/stream must be a writable stream/);
    expect(consoleSink().name).toBe('console');
  });
});
