import { describe, expect, it } from 'vitest';
import { count } from '../../src/aggregations/count.js';
import { pipeline } from '../../src/builder/pipeline.js';
import { collectSink } from '../../src/sinks/collect-sink.js';
import { windows } from '../../src/windows/index.js';
import { session } from '../../src/windows/session.js';
import { sliding } from '../../src/windows/sliding.js';
import { tumbling } from '../../src/windows/tumbling.js';
import type { WindowOperator } from '../../src/windows/window-operator.js';
import { listSource } from '../support/inline.js';
import { context, drive, recorder, spec, type Element, type Ev } from './support.js';

const ev = (t: number, k: number | string = 'a', v = 1): Ev => ({ k, t, v });

async function runOp(assigner: Parameters<typeof spec>[0]['assigner'], elements: Element[], lateness: number, lateOutput: boolean) {
  const { ctx, counts } = context();
  const op = spec({ assigner, aggregation: count(), lateness, lateOutput }).create(ctx) as WindowOperator<Ev>;
  const { out, got } = recorder();
  await drive(op, elements, out);
  return { got, counts, op };
}

describe('late data', () => {
  const elements: Element[] = [
    { kind: 'batch', records: [ev(1), ev(2)] },
    { kind: 'watermark', time: 9 }, // [0, 10) fires
    { kind: 'batch', records: [ev(3), ev(12)] }, // 3 is late (no lateness allowed)
  ];

  it('without a late output, late records are dropped and counted', async () => {
    const { got, counts, op } = await runOp(tumbling(10), elements, 0, false);
    expect(got.rows).toEqual([
      { key: 'a', start: 0, end: 10, value: 2 },
      { key: 'a', start: 10, end: 20, value: 1 },
    ]);
    expect(got.late).toEqual([]);
    expect(counts.lateDropped).toBe(1);
    expect(op.stateSize()).toBe(0);
  });

  it('with a late output, late records go there with their timestamps', async () => {
    const { got, counts } = await runOp(tumbling(10), elements, 0, true);
    expect(got.late).toEqual([ev(3)]);
    expect(got.lateTimes).toEqual([3]);
    expect(counts.lateDropped).toBe(0);
  });

  it('a late-but-allowed record re-fires its window with the updated result; after the lateness it is late', async () => {
    const { got } = await runOp(
      tumbling(10),
      [
        { kind: 'batch', records: [ev(1), ev(2)] },
        { kind: 'watermark', time: 9 },
        { kind: 'batch', records: [ev(3), ev(4, 'b')] }, // allowed: 9 < 9 + 5
        { kind: 'watermark', time: 13 },
        { kind: 'batch', records: [ev(5)] }, // still allowed: 13 < 14
        { kind: 'watermark', time: 14 }, // [0, 10) closes
        { kind: 'batch', records: [ev(6)] }, // late
      ],
      5,
      true,
    );
    expect(got.rows).toEqual([
      { key: 'a', start: 0, end: 10, value: 2 },
      { key: 'a', start: 0, end: 10, value: 3 },
      { key: 'b', start: 0, end: 10, value: 1 },
      { key: 'a', start: 0, end: 10, value: 4 },
    ]);
    expect(got.late).toEqual([ev(6)]);
  });

  it('sliding: a record is late only when every window holding it is closed', async () => {
    const { got } = await runOp(
      sliding(10, 5),
      [
        { kind: 'batch', records: [ev(7)] },
        { kind: 'watermark', time: 9 }, // [0, 10) fires and closes; [5, 15) open
        { kind: 'batch', records: [ev(6), ev(2)] }, // 6 counts in [5, 15) only; 2 is late
      ],
      0,
      true,
    );
    expect(got.rows).toEqual([
      { key: 'a', start: 0, end: 10, value: 1 },
      { key: 'a', start: 5, end: 15, value: 2 },
    ]);
    expect(got.late).toEqual([ev(2)]);
  });

  it('sessions: a late-but-allowed record re-fires the merged session', async () => {
    const { got } = await runOp(
      session(5),
      [
        { kind: 'batch', records: [ev(0), ev(3)] },
        { kind: 'watermark', time: 20 }, // [0, 8) fires
        { kind: 'batch', records: [ev(6)] }, // [0, 11): 10 ≤ 20 and 10 + 15 > 20: re-fires now
        { kind: 'watermark', time: 26 }, // closes (10 + 15 ≤ 26)
        { kind: 'batch', records: [ev(7)] }, // 7 + 5 − 1 + 15 ≤ 26: late
      ],
      15,
      true,
    );
    expect(got.rows).toEqual([
      { key: 'a', start: 0, end: 8, value: 2 },
      { key: 'a', start: 0, end: 11, value: 3 },
    ]);
    expect(got.late).toEqual([ev(7)]);
  });

  it('through a pipeline: lateOutput is a sink, the dropped count is in the step stats', async () => {
    const data = [ev(1), ev(2), ev(30), ev(3), ev(31)];
    const late: Ev[] = [];
    const rows: unknown[] = [];
    const withSink = await pipeline('late-sink')
      .source(listSource(data, { chunk: 1 }), { timestamp: 't' })
      .keyBy('k')
      .window(windows.tumbling(10), { name: 'per-10', lateOutput: collectSink(late) })
      .aggregate(count())
      .sink(collectSink(rows))
      .run();
    expect(late).toEqual([ev(3)]);
    expect(rows).toEqual([
      { key: 'a', start: 0, end: 10, value: 2 },
      { key: 'a', start: 30, end: 40, value: 2 },
    ]);
    expect(withSink.steps['per-10'].lateDropped).toBe(0);

    const dropped = await pipeline('late-drop')
      .source(listSource(data, { chunk: 1 }), { timestamp: 't' })
      .keyBy('k')
      .window(windows.tumbling(10), { name: 'per-10' })
      .aggregate(count())
      .sink(collectSink([]))
      .run();
    expect(dropped.steps['per-10'].lateDropped).toBe(1);
  });
});
