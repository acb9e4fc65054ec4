import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { pipeline } from '../../src/builder/pipeline.js';
import { deadLetter, type DeadLetter } from '../../src/runtime/error-policy.js';
import { ConfigError, WeirError } from '../../src/runtime/errors.js';
import { listSource, recording, recordingSink } from '../support/inline.js';

interface Click {
  user: string;
  price: number;
  t: number;
  items: string[];
}

const clicks: Click[] = Array.from({ length: 50 }, (_, i) => ({
  user: `u${i % 7}`,
  price: (i * 37) % 100,
  t: 1000 + i * 10,
  items: Array.from({ length: i % 3 }, (_, j) => `item-${i}-${j}`),
}));

describe('stateless operators', () => {
  it('filter keeps matching records with their timestamps', async () => {
    const rec = recording<Click>();
    await pipeline('f').source(listSource(clicks), { timestamp: 't' }).filter((c) => c.price > 50).sink(recordingSink(rec)).run();
    const expected = clicks.filter((c) => c.price > 50);
    expect(rec.records).toEqual(expected);
    expect(rec.timestamps).toEqual(expected.map((c) => c.t));
  });

  it('map replaces records and keeps event time', async () => {
    const rec = recording<number>();
    await pipeline('m').source(listSource(clicks), { timestamp: 't' }).map((c) => c.price * 2).sink(recordingSink(rec)).run();
    expect(rec.records).toEqual(clicks.map((c) => c.price * 2));
    expect(rec.timestamps).toEqual(clicks.map((c) => c.t));
  });

  it('flatMap expands records, each output with its input time', async () => {
    const rec = recording<string>();
    await pipeline('fm').source(listSource(clicks), { timestamp: 't' }).flatMap((c) => c.items).sink(recordingSink(rec)).run();
    expect(rec.records).toEqual(clicks.flatMap((c) => c.items));
    expect(rec.timestamps).toEqual(clicks.flatMap((c) => c.items.map(() => c.t)));
  });

  it('flatMap accepts any iterable', async () => {
    const rec = recording<number>();
    function* twice(n: number) {
      yield n;
      yield n;
    }
    await pipeline('fm-gen').source(listSource([1, 2, 3])).flatMap(twice).sink(recordingSink(rec)).run();
    expect(rec.records).toEqual([1, 1, 2, 2, 3, 3]);
  });

  it('handles empty input: sinks flush and close, nothing written', async () => {
    const rec = recording<number>();
    const result = await pipeline('empty')
      .source(listSource<number>([]))
      .filter((n) => n > 0)
      .map((n) => n + 1)
      .flatMap((n) => [n])
      .sink(recordingSink(rec))
      .run();
    expect(rec.records).toEqual([]);
    expect(rec.ends).toBe(1);
    expect(rec.closes).toBe(1);
    expect(result.steps.map.recordsIn).toBe(0);
  });

  for (const kind of ['filter', 'map', 'flatMap'] as const) {
    it(`${kind}: a throwing user function fails the job, naming the step`, async () => {
      const boom = (c: Click): never => {
        throw new Error(`bad record ${c.user}`);
      };
      const stream = pipeline(`err-${kind}`).source(listSource(clicks));
      const next =
        kind === 'filter'
          ? stream.filter(boom, { name: 'my-step' })
          : kind === 'map'
            ? stream.map(boom, { name: 'my-step' })
            : stream.flatMap(boom, { name: 'my-step' });
      const err = await next.sink(recordingSink(recording())).run().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(WeirError);
      expect((err as WeirError).code).toBe('WEIR_USER_FUNCTION');
      expect((err as WeirError).step).toBe('my-step');
      expect((err as Error).message).toContain('step "my-step"');
      expect((err as Error).message).toContain('bad record u0');
    });
  }

  it("'skip' drops failing records, counts them, and goes on", async () => {
    const rec = recording<number>();
    const result = await pipeline('skip')
      .source(listSource([1, 2, 3, 4, 5, 6]))
      .map(
        (n) => {
          if (n % 3 === 0) throw new Error('no multiples of three');
          return n * 10;
        },
        { onError: 'skip', name: 'tens' },
      )
      .sink(recordingSink(rec))
      .run();
    expect(rec.records).toEqual([10, 20, 40, 50]);
    expect(result.steps.tens.skipped).toBe(2);
  });

  it('deadLetter(sink) routes failing records with the error and step, the job goes on', async () => {
    const rec = recording<number>();
    const dead = recording<DeadLetter>();
    const result = await pipeline('dl')
      .source(listSource([{ n: 1 }, { n: -1 }, { n: 2 }, { n: -2 }]), { name: 'input' })
      .filter(
        (r) => {
          if (r.n < 0) throw new RangeError(`negative: ${r.n}`);
          return true;
        },
        { name: 'check', onError: deadLetter(recordingSink(dead)) },
      )
      .map((r) => r.n)
      .sink(recordingSink(rec))
      .run();
    expect(rec.records).toEqual([1, 2]);
    expect(dead.records).toEqual([
      { record: { n: -1 }, error: { code: 'WEIR_USER_FUNCTION', message: 'negative: -1', step: 'check' }, source: { name: 'input' } },
      { record: { n: -2 }, error: { code: 'WEIR_USER_FUNCTION', message: 'negative: -2', step: 'check' }, source: { name: 'input' } },
    ]);
    expect(result.steps.check.deadLettered).toBe(2);
  });

  it('rejects bad configuration at build time, naming the field', () => {
    const s = pipeline('cfg').source(listSource([1]));
    expect(() => s.map(42 as unknown as (n: number) => number)).toThrow(ConfigError);
    expect(() => s.map((n) => n, { onError: 'retry' as never, name: 'm1' })).toThrow(/step "m1": onError must be/);
    expect(() => pipeline('bad name!')).toThrow(/job name/);
    expect(() => s.sink({} as never)).toThrow(/expects a sink/);
    expect(() => pipeline('dup').source(listSource([1]), { name: 'a' }).map((n) => n, { name: 'a' })).toThrow(/used twice/);
  });

  it('a job without a sink fails at start', () => {
    const p = pipeline('nosink');
    p.source(listSource([1])).map((n) => n);
    expect(() => p.start()).toThrow(/no sink/);
  });
});

describe('graph shapes', () => {
  it('fans out one stream to two sinks, each getting everything', async () => {
    const a = recording<number>();
    const b = recording<number>();
    const data = Array.from({ length: 100 }, (_, i) => i);
    await pipeline('fanout').source(listSource(data)).map((n) => n + 1).sink(recordingSink(a)).sink(recordingSink(b)).run();
    expect(a.records).toEqual(data.map((n) => n + 1));
    expect(b.records).toEqual(data.map((n) => n + 1));
    expect(a.closes + b.closes).toBe(2);
  });

  it('fans out to branches that continue differently', async () => {
    const evens = recording<number>();
    const odds = recording<number>();
    const s = pipeline('branches').source(listSource(Array.from({ length: 20 }, (_, i) => i))).map((n) => n * 3);
    s.filter((n) => n % 2 === 0).sink(recordingSink(evens));
    await s.filter((n) => n % 2 === 1).sink(recordingSink(odds)).run();
    expect(evens.records).toEqual([0, 6, 12, 18, 24, 30, 36, 42, 48, 54]);
    expect(odds.records).toEqual([3, 9, 15, 21, 27, 33, 39, 45, 51, 57]);
  });

  it('union merges streams and ends once every input has ended', async () => {
    const rec = recording<{ v: number; t: number }>();
    const p = pipeline('union');
    const slow = p.source(listSource(Array.from({ length: 10 }, (_, i) => ({ v: i, t: i * 10 })), { chunk: 2 }), { name: 'slow', timestamp: 't' });
    const fast = p.source(listSource(Array.from({ length: 10 }, (_, i) => ({ v: 100 + i, t: 1000 + i * 10 })), { chunk: 2 }), {
      name: 'fast',
      timestamp: 't',
    });
    await slow.union(fast).sink(recordingSink(rec)).run();
    expect(rec.records.map((r) => r.v).sort((x, y) => x - y)).toEqual([...Array(10).keys(), ...Array.from({ length: 10 }, (_, i) => 100 + i)]);
    for (let i = 1; i < rec.watermarks.length; i++) expect(rec.watermarks[i]).toBeGreaterThan(rec.watermarks[i - 1]);
    expect(rec.ends).toBe(1);
  });

  it('fused and unfused chains give the same result (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: -1000, max: 1000 }), { maxLength: 200 }), fc.integer({ min: 1, max: 17 }), async (data, chunk) => {
        const build = (out: ReturnType<typeof recording<number>>) =>
          pipeline('fuse')
            .source(listSource(data, { chunk }))
            .filter((n) => n % 3 !== 0)
            .map((n) => n * 2)
            .flatMap((n) => (n > 0 ? [n, -n] : [n]))
            .filter((n) => n !== 4)
            .sink(recordingSink(out));
        const fused = recording<number>();
        const unfused = recording<number>();
        await build(fused).run({ chaining: true });
        await build(unfused).run({ chaining: false });
        expect(fused.records).toEqual(unfused.records);
        expect(fused.records).toEqual(data.filter((n) => n % 3 !== 0).map((n) => n * 2).flatMap((n) => (n > 0 ? [n, -n] : [n])).filter((n) => n !== 4));
      }),
      { numRuns: 30 },
    );
  });
});

describe('transform', () => {
  it('applies a declarative spec in the pipeline, dropping filtered records, and dead-letters record errors', async () => {
    const rec = recording<Record<string, unknown>>();
    const dead = recording<DeadLetter>();
    await pipeline('tx')
      .source(listSource([
        { user: { name: 'ann' }, url: 'https://a.example/x', n: 1, t: 0 },
        { user: { name: 'bob' }, url: 'ftp://nope', n: 2, t: 1000 },
        { user: { name: 'cid' }, url: 'https://c.example/', n: -1, t: 2000 },
      ]), { timestamp: 't' })
      .transform(
        [
          { filter: { field: 'n', gt: 0 } },
          { rename: 'user.name', to: 'who' },
          { extract: 'url', pattern: '^https?://([^/]+)', into: ['host'], required: true },
          { set: 'seen', value: '${who}@${timestamp}' },
          { remove: ['user', 't'] },
        ],
        { name: 'clean', onError: deadLetter(recordingSink(dead)) },
      )
      .sink(recordingSink(rec))
      .run();
    expect(rec.records).toEqual([{ who: 'ann', url: 'https://a.example/x', n: 1, host: 'a.example', seen: 'ann@0' }]);
    expect(dead.records).toHaveLength(1);
    expect(dead.records[0].error.step).toBe('clean');
    expect(dead.records[0].error.code).toBe('WEIR_BAD_RECORD');
  });

  it('rejects an invalid spec when the pipeline is built', () => {
    expect(() => pipeline('tx-bad').source(listSource([{}])).transform([{ extract: 'a', pattern: '(' }] as never, { name: 'bad' })).toThrow(
      /transform "bad".*pattern/,
    );
  });
});
