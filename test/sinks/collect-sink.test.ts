import { describe, expect, it } from 'vitest';
import { collectSink } from '../../src/sinks/collect-sink.js';
import { batch } from '../../src/runtime/elements.js';
import { ConfigError } from '../../src/runtime/errors.js';
import type { SinkContext, SinkWriter } from '../../src/runtime/sink.js';

const ctx: SinkContext = { job: 't', name: 'k', signal: new AbortController().signal, restored: undefined, now: () => Date.now() };

describe('collectSink', () => {
  it('pushes every record into the target, in order, batch after batch', async () => {
    const out: number[] = [0];
    const sink = collectSink(out);
    expect(sink.name).toBe('collect');
    const writer = (await sink.open(ctx)) as SinkWriter<number>;
    writer.write(batch([1, 2], [10, 20]));
    writer.write(batch([], []));
    writer.write(batch([3], [30]));
    expect(out).toEqual([0, 1, 2, 3]);
  });

  it('takes large batches without spreading them onto the stack', async () => {
    const out: number[] = [];
    const writer = (await collectSink(out, { name: 'big' }).open(ctx)) as SinkWriter<number>;
    const records = Array.from({ length: 300_000 }, (_, i) => i);
    writer.write(batch(records, new Array<number>(records.length).fill(Number.NaN)));
    expect(out).toHaveLength(300_000);
  });

  it('rejects a target that is not an array and an empty name', () => {
    expect(() => collectSink({} as unknown as unknown[])).toThrow(ConfigError);
    expect(() => collectSink([], { name: '' })).toThrow('sinks.collect: name must be a non-empty string, got ""');
  });
});
