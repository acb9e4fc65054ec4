import { describe, expect, it } from 'vitest';
import { pipeline } from '../../src/builder/pipeline.js';
import { listSource, recording, recordingSink } from '../support/inline.js';

describe('smoke', () => {
  it('runs filter/map/flatMap to a sink', async () => {
    const rec = recording<number>();
    const data = Array.from({ length: 20 }, (_, i) => ({ n: i, t: i * 10 }));
    const result = await pipeline('smoke')
      .source(listSource(data), { timestamp: 't' })
      .filter((e) => e.n % 2 === 0)
      .map((e) => e.n)
      .flatMap((n) => [n, n])
      .sink(recordingSink(rec))
      .run();
    expect(rec.records).toEqual(data.filter((e) => e.n % 2 === 0).flatMap((e) => [e.n, e.n]));
    expect(rec.ends).toBe(1);
    expect(rec.closes).toBe(1);
    expect(result.steps.map.recordsOut).toBe(10);
  });
});
