import { describe, expect, it } from 'vitest';
import { collect } from '../../src/aggregations/collect.js';
import { count } from '../../src/aggregations/count.js';
import { session } from '../../src/windows/session.js';
import type { WindowOperator } from '../../src/windows/window-operator.js';
import { context, drive, recorder, spec, type Element, type Ev } from './support.js';

const ev = (t: number, k: number | string = 'a', v = t): Ev => ({ k, t, v });

async function run(gap: number, elements: Element[], aggregation: unknown = count()) {
  const { ctx } = context();
  const op = spec({ assigner: session(gap), aggregation }).create(ctx) as WindowOperator<Ev>;
  const { out, got } = recorder();
  await drive(op, elements, out);
  return { got, op };
}

describe('session windows', () => {
  it('an out-of-order event bridging two sessions merges them', async () => {
    const { got, op } = await run(
      10,
      [
        { kind: 'batch', records: [ev(0), ev(5), ev(30), ev(33)] }, // [0, 15) and [30, 43)
        { kind: 'watermark', time: 12 },
        { kind: 'batch', records: [ev(18)] }, // touches neither: [0, 15) ends at 15 < 18, 18 + 10 < 30
        { kind: 'batch', records: [ev(21, 'b'), ev(14)] }, // 14 ≤ 15: joins [0, 15) → [0, 24), and touches [18, 28) → [0, 28)
        { kind: 'batch', records: [ev(25)] }, // [0, 35) now touches [30, 43): one session [0, 43)
      ],
      collect<Ev>('t'),
    );
    // Merged contents: sessions in start order, then the bridging record.
    const sorted = got.rows.map((r) => ({ ...r, value: [...(r.value as number[])].sort((x, y) => x - y) }));
    expect(sorted).toEqual([
      { key: 'b', start: 21, end: 31, value: [21] },
      { key: 'a', start: 0, end: 43, value: [0, 5, 14, 18, 25, 30, 33] },
    ]);
    expect(op.stateSize()).toBe(0);
  });

  it('events exactly gap apart are one session; more than gap apart are two', async () => {
    const { got } = await run(10, [{ kind: 'batch', records: [ev(0), ev(10), ev(20), ev(31)] }]);
    expect(got.rows).toEqual([
      { key: 'a', start: 0, end: 30, value: 3 },
      { key: 'a', start: 31, end: 41, value: 1 },
    ]);
  });

  it('fires when the watermark reaches last + gap − 1, in end order across keys', async () => {
    const { got } = await run(10, [
      { kind: 'batch', records: [ev(0, 'x'), ev(3, 'y'), ev(1, 'z')] },
      { kind: 'watermark', time: 10 }, // x [0, 10) and z [1, 11) are due; y [3, 13) is not
    ]);
    expect(got.rows.slice(0, 2)).toEqual([
      { key: 'x', start: 0, end: 10, value: 1 },
      { key: 'z', start: 1, end: 11, value: 1 },
    ]);
    expect(got.times.slice(0, 2)).toEqual([9, 10]);
    expect(got.watermarks[0]).toBe(10);
  });

  it('a session that keeps growing fires once, at its final end', async () => {
    const records = Array.from({ length: 200 }, (_, i) => ev(i * 5));
    const elements: Element[] = [];
    for (let i = 0; i < records.length; i += 7) {
      elements.push({ kind: 'batch', records: records.slice(i, i + 7) });
      elements.push({ kind: 'watermark', time: records[Math.min(i + 6, records.length - 1)].t - 1 });
    }
    const { got, op } = await run(10, elements);
    expect(got.rows).toEqual([{ key: 'a', start: 0, end: 1005, value: 200 }]);
    expect(op.stateSize()).toBe(0);
  });

  it('object keys are keyed by their JSON and rows carry the object', async () => {
    const { ctx } = context();
    const op = spec({ assigner: session(10), aggregation: count(), key: (e) => ({ user: e.k }) }).create(ctx) as WindowOperator<Ev>;
    const { out, got } = recorder();
    await drive(op, [{ kind: 'batch', records: [ev(0), ev(2), ev(1, 'b')] }], out);
    expect(got.rows).toEqual([
      { key: { user: 'b' }, start: 1, end: 11, value: 1 },
      { key: { user: 'a' }, start: 0, end: 12, value: 2 },
    ]);
  });
});
