import { deserialize, serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ManualClock } from '../../src/runtime/clock.js';
import { CheckpointError } from '../../src/runtime/errors.js';
import { countWindow } from '../../src/windows/count-window.js';
import { triggers, windows } from '../../src/windows/index.js';
import { session } from '../../src/windows/session.js';
import { slidingCount } from '../../src/windows/sliding-count.js';
import { sliding } from '../../src/windows/sliding.js';
import { tumbling } from '../../src/windows/tumbling.js';
import type { WindowOperator } from '../../src/windows/window-operator.js';
import { batchOf, context, drive, inputArb, multiset, recorder, spec, type OpOptions, type Ev } from './support.js';

const cases: Array<{ name: string; options: OpOptions }> = [
  { name: 'tumbling', options: { assigner: tumbling(25, -7), lateness: 30 } },
  { name: 'sliding', options: { assigner: sliding(30, 10, 4), lateness: 20 } },
  { name: 'session', options: { assigner: session(12), lateness: 25 } },
  { name: 'tumbling + countEarly', options: { assigner: tumbling(40), trigger: triggers.countEarly(3) } },
  { name: 'sliding + countEarly', options: { assigner: sliding(40, 20), trigger: triggers.countEarly(2) } },
  { name: 'session + countEarly', options: { assigner: session(15), trigger: triggers.countEarly(2) } },
  { name: 'count', options: { assigner: countWindow(3) } },
  { name: 'slidingCount', options: { assigner: slidingCount(4, 2) } },
  { name: 'global + count trigger', options: { assigner: windows.global(), trigger: triggers.count(3) } },
];

describe.each(cases)('snapshot and restore: $name', ({ options }) => {
  it('a restored operator finishes with the same output as an uninterrupted one', async () => {
    await fc.assert(
      fc.asyncProperty(inputArb(), fc.nat(), async ({ elements }, cutAt) => {
        const whole = recorder();
        const straight = spec(options).create(context().ctx) as WindowOperator<Ev>;
        await drive(straight, elements, whole.out);

        const cut = elements.length === 0 ? 0 : cutAt % (elements.length + 1);
        const parts = recorder();
        const first = spec(options).create(context().ctx) as WindowOperator<Ev>;
        await drive(first, elements.slice(0, cut), parts.out, { end: false });
        const snapshot = first.snapshot(1);
        // The snapshot must not change when the operator goes on (the coordinator serializes it
        // later): run the rest of the input through the snapshotted operator first.
        await drive(first, elements.slice(cut), recorder().out);
        // Through the v8 serializer, as a checkpoint store keeps it.
        const saved = deserialize(serialize(snapshot));
        const second = spec(options).create(context({ restored: saved }).ctx) as WindowOperator<Ev>;
        await drive(second, elements.slice(cut), parts.out);

        expect(multiset(parts.got.rows)).toEqual(multiset(whole.got.rows));
        expect(multiset(parts.got.late)).toEqual(multiset(whole.got.late));
        expect(second.stateSize()).toBe(0);
      }),
      { numRuns: 60 },
    );
  });
});

describe('snapshot and restore', () => {
  it('pending processing-time timers are part of the snapshot and scheduled again on restore', async () => {
    const clock = new ManualClock(0);
    const options: OpOptions = { assigner: tumbling(100), trigger: triggers.processingTimeEarly(10) };
    const first = spec(options).create(context({ now: () => clock.now() }).ctx) as WindowOperator<Ev>;
    const { out, got } = recorder();
    await first.processBatch(batchOf([{ k: 'a', t: 1, v: 1 }]), out);
    const saved = deserialize(serialize(first.snapshot(7)));
    const { ctx, counts } = context({ restored: saved, now: () => clock.now() });
    const second = spec(options).create(ctx) as WindowOperator<Ev>;
    expect(counts.timers).toEqual([10]);
    await second.onProcessingTime!(10, out);
    expect(got.rows).toEqual([{ key: 'a', start: 0, end: 100, n: 1, total: 1, lo: 1, hi: 1 }]);
  });

  it('a checkpoint of another kind of window, or other sizes, is refused', () => {
    const saved = (spec({ assigner: tumbling(10) }).create(context().ctx) as WindowOperator<Ev>).snapshot(1);
    expect(() => spec({ assigner: session(10) }).create(context({ restored: saved }).ctx)).toThrow(CheckpointError);
    expect(() => spec({ assigner: tumbling(20) }).create(context({ restored: saved }).ctx)).toThrow(
      /window "w": the checkpoint was taken with size 10 \/ slide 10 \/ offset 0 ms, the job now has 20 \/ 20 \/ 0 ms/,
    );
  });
});
