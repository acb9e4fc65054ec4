import { Writable } from 'node:stream';
import { END, type StreamElement } from './elements.js';
import { OutChannel } from './out-channel.js';
import type { RunContext } from './stage-context.js';
import type { StepCounters } from './step-counters.js';

interface InputState {
  watermark: number;
  /** End of input received: counts as watermark +∞ (barriers still come: the final checkpoint). */
  ended: boolean;
  /** The Node stream closed (shutdown): counts as aligned. */
  closed: boolean;
  /** Barrier this input is blocked at, with the callback that releases it. */
  blockedAt: number | undefined;
  barrier: StreamElement | undefined;
  release: (() => void) | undefined;
}

/**
 * Fan-in of several streams into one. The output watermark is the minimum of the inputs'
 * watermarks; a barrier is emitted once every open input has delivered it (alignment: an input
 * that delivered it waits, so no record after the barrier overtakes the snapshot); end of input
 * is emitted once every input has ended.
 */
export class UnionStage {
  readonly output: OutChannel;
  readonly inputs: Writable[];
  readonly #states: InputState[];
  readonly #counters: StepCounters;
  #watermark = Number.NEGATIVE_INFINITY;
  #endSent = false;

  constructor(name: string, inputCount: number, run: RunContext) {
    this.output = new OutChannel(run.bufferBatches);
    this.#counters = run.counters(name, 'union');
    this.#states = Array.from({ length: inputCount }, () => ({
      watermark: Number.NEGATIVE_INFINITY,
      ended: false,
      closed: false,
      blockedAt: undefined,
      barrier: undefined,
      release: undefined,
    }));
    this.inputs = this.#states.map((state) => this.#makeInput(state, run.bufferBatches));
  }

  #makeInput(state: InputState, highWaterMark: number): Writable {
    const union = this;
    return new Writable({
      objectMode: true,
      highWaterMark,
      write(element: StreamElement, _enc, cb) {
        union.#receive(state, element, cb);
      },
      final(cb) {
        state.closed = true;
        union.#afterInputChange();
        if (union.#states.every((s) => s.closed)) union.output.close();
        cb();
      },
      destroy(err, cb) {
        if (err) union.output.destroy(err);
        cb(err);
      },
    });
  }

  #receive(state: InputState, element: StreamElement, cb: (err?: Error | null) => void): void {
    switch (element.kind) {
      case 'batch': {
        this.#counters.recordsIn += element.records.length;
        this.#counters.recordsOut += element.records.length;
        if (this.output.send(element)) cb();
        else this.output.ready().then(() => cb(), cb);
        return;
      }
      case 'watermark':
        state.watermark = element.time;
        this.#afterInputChange();
        cb();
        return;
      case 'barrier':
        state.blockedAt = element.checkpointId;
        state.barrier = element;
        state.release = () => cb();
        this.#afterInputChange();
        return;
      case 'end':
        state.ended = true;
        state.watermark = Number.POSITIVE_INFINITY;
        this.#afterInputChange();
        cb();
        return;
    }
  }

  /** Re-evaluate watermark, barrier alignment and end after any input changed. */
  #afterInputChange(): void {
    let min = Number.POSITIVE_INFINITY;
    for (const s of this.#states) if (!s.closed && s.watermark < min) min = s.watermark;
    if (min > this.#watermark && min !== Number.POSITIVE_INFINITY) {
      this.#watermark = min;
      this.#counters.watermark = min;
      this.output.send({ kind: 'watermark', time: min });
    }
    const blocked = this.#states.find((s) => s.blockedAt !== undefined);
    if (blocked !== undefined) {
      const id = blocked.blockedAt!;
      const aligned = this.#states.every((s) => s.blockedAt === id || s.closed);
      if (aligned) {
        this.output.send(blocked.barrier!);
        for (const s of this.#states) {
          const release = s.release;
          s.blockedAt = undefined;
          s.barrier = undefined;
          s.release = undefined;
          release?.();
        }
      }
    }
    if (!this.#endSent && this.#states.every((s) => s.ended)) {
      this.#endSent = true;
      this.output.send(END);
    }
  }
}
