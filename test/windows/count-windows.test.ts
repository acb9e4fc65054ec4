import { describe, expect, it } from 'vitest';
import { count } from '../../src/aggregations/count.js';
import { sum } from '../../src/aggregations/sum.js';
import { pipeline } from '../../src/builder/pipeline.js';
import { collectSink } from '../../src/sinks/collect-sink.js';
import { countWindow } from '../../src/windows/count-window.js';
import { windows } from '../../src/windows/index.js';
import { slidingCount } from '../../src/windows/sliding-count.js';
import type { WindowOperator } from '../../src/windows/window-operator.js';
import { listSource } from '../support/inline.js';
import { context, drive, recorder, spec, type Ev } from './support.js';

const ev = (t: number, k: number | string = 'a', v = 1): Ev => ({ k, t, v });

describe('count windows', () => {
  it('count(n): every n records of a key in arrival order; the incomplete rest is not emitted', async () => {
    const { ctx } = context();
    const op = spec({ assigner: countWindow(2), aggregation: sum<Ev>('v') }).create(ctx) as WindowOperator<Ev>;
    const { out, got } = recorder();
    await drive(op, [{ kind: 'batch', records: [ev(9, 'a', 1), ev(3, 'a', 2), ev(4, 'b', 5), ev(1, 'a', 4)] }], out);
    expect(got.rows).toEqual([{ key: 'a', start: 3, end: 10, value: 3 }]);
    expect(got.times).toEqual([9]);
    expect(op.stateSize()).toBe(0);
  });

  it('slidingCount(n, step): the last n records every step records, first after n', async () => {
    const { ctx } = context();
    const op = spec({ assigner: slidingCount(3, 2), aggregation: sum<Ev>('v') }).create(ctx) as WindowOperator<Ev>;
    const { out, got } = recorder();
    const records = [1, 2, 3, 4, 5, 6].map((v, i) => ev(i, 'a', v));
    await drive(op, [{ kind: 'batch', records: records.slice(0, 4) }, { kind: 'batch', records: records.slice(4) }], out);
    // Windows [1,2,3] and [3,4,5]; [5,6] is incomplete.
    expect(got.rows.map((r) => r.value)).toEqual([6, 12]);
    expect(got.rows.map((r) => [r.start, r.end])).toEqual([
      [0, 3],
      [2, 5],
    ]);
    expect(op.stateSize()).toBe(0);
  });

  it('work on streams without event time (start and end are NaN then)', async () => {
    const rows: Array<Record<string, any>> = [];
    await pipeline('no-time')
      .source(listSource([1, 2, 3, 4, 5].map((v) => ({ k: 'a', v }))))
      .keyBy('k')
      .window(windows.count(2))
      .aggregate({ n: count(), total: sum('v') })
      .sink(collectSink(rows))
      .run();
    expect(rows.map(({ key, n, total }) => ({ key, n, total }))).toEqual([
      { key: 'a', n: 2, total: 3 },
      { key: 'a', n: 2, total: 7 },
    ]);
    expect(Number.isNaN(rows[0].start)).toBe(true);
  });
});
