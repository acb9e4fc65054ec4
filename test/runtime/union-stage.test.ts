import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/runtime/clock.js';
import { END, barrier, batch, watermark, type StreamElement } from '../../src/runtime/elements.js';
import { NO_CHECKPOINTS, type RunContext } from '../../src/runtime/stage-context.js';
import { StepCounters } from '../../src/runtime/step-counters.js';
import { UnionStage } from '../../src/runtime/union-stage.js';

function runContext(): RunContext {
  const clock = new ManualClock();
  return {
    job: 't',
    signal: new AbortController().signal,
    checkpoints: NO_CHECKPOINTS,
    bufferBatches: 64,
    now: () => clock.now(),
    clock,
    counters: (step, kind) => new StepCounters(step, kind),
  };
}

function drain(stage: UnionStage): StreamElement[] {
  const out: StreamElement[] = [];
  let el: StreamElement | null;
  while ((el = stage.output.read() as StreamElement | null) !== null) out.push(el);
  return out;
}

const tick = () => new Promise((r) => setImmediate(r));

describe('UnionStage', () => {
  it('emits the minimum watermark of its inputs, only when it advances', async () => {
    const u = new UnionStage('u', 2, runContext());
    u.inputs[0].write(watermark(100));
    await tick();
    expect(drain(u)).toEqual([]);
    u.inputs[1].write(watermark(50));
    await tick();
    expect(drain(u)).toEqual([watermark(50)]);
    u.inputs[1].write(watermark(200));
    await tick();
    expect(drain(u)).toEqual([watermark(100)]);
    u.inputs[0].write(END);
    await tick();
    expect(drain(u)).toEqual([watermark(200)]);
    u.inputs[1].write(END);
    await tick();
    expect(drain(u)).toEqual([END]);
  });

  it('aligns barriers: an input that delivered the barrier waits for the others', async () => {
    const u = new UnionStage('u', 2, runContext());
    const b1 = batch([1], [1]);
    const b2 = batch([2], [2]);
    const b3 = batch([3], [3]);
    u.inputs[0].write(barrier(7));
    u.inputs[0].write(b1); // after the barrier: must not overtake it
    u.inputs[1].write(b2);
    await tick();
    expect(drain(u)).toEqual([b2]);
    u.inputs[1].write(barrier(7));
    u.inputs[1].write(b3);
    await tick();
    const out = drain(u);
    expect(out[0]).toEqual(barrier(7));
    expect(out.slice(1)).toEqual(expect.arrayContaining([b1, b3]));
    expect(out).toHaveLength(3);
  });

  it("a closed input does not hold barriers back", async () => {
    const u = new UnionStage('u', 2, runContext());
    u.inputs[1].write(END);
    u.inputs[1].end();
    u.inputs[0].write(barrier(3));
    await tick();
    expect(drain(u)).toEqual([barrier(3)]);
  });
});
