import { Transform, type TransformCallback } from 'node:stream';
import { END, MAX_WATERMARK, batch as makeBatch, type Batch, type StreamElement } from './elements.js';
import type { Operator, Output } from './operator.js';
import type { OutChannel } from './out-channel.js';
import type { RunContext } from './stage-context.js';
import type { StepCounters } from './step-counters.js';
import { asStepError } from './error-policy.js';
import { traceBatch } from './observability/tracing.js';

/** One operator of a chain, with the output that feeds the next one. */
export interface ChainLink {
  readonly name: string;
  readonly op: Operator<unknown, unknown>;
  readonly counters: StepCounters;
  /** Side outputs of this step that somebody consumes, by tag. */
  readonly sides: ReadonlyMap<string, OutChannel>;
}

type Pending = void | Promise<void>;

function isPromise(value: unknown): value is Promise<void> {
  return value !== undefined && typeof (value as Promise<void>).then === 'function';
}

/**
 * A stream stage running a chain of fused operators (operator chaining): records pass from one
 * operator to the next by function call, so a filter→map→filter costs one stream hop.
 * Watermarks that do not advance are dropped here, so operators only see increasing ones.
 */
export class ChainStage extends Transform {
  readonly #links: ChainLink[];
  readonly #outputs: Output<unknown>[];
  readonly #run: RunContext;
  /** Counters of the first step: batch time and backpressure of the whole stage are recorded there. */
  readonly #head: StepCounters;
  #watermark = Number.NEGATIVE_INFINITY;
  #source: string | undefined;
  #closed = false;
  /** True while an element is being handled: timer work waits in the mailbox until it is done. */
  #busy = false;
  #mailbox: Array<() => Pending> = [];
  #cancelTimers: Array<() => void> = [];
  /** Output buffer length when the current element arrived (Node waits only if it grew). */
  #lengthBefore = 0;

  constructor(links: ChainLink[], run: RunContext) {
    super({ objectMode: true, highWaterMark: run.bufferBatches });
    this.#links = links;
    this.#run = run;
    this.#head = links[0].counters;
    this.#outputs = links.map((link, i) => this.#makeOutput(link, i));
  }

  #makeOutput(link: ChainLink, index: number): Output<unknown> {
    const stage = this;
    const counters = link.counters;
    const last = index === this.#links.length - 1;
    return {
      emit(records, timestamps): Pending {
        if (records.length === 0) return;
        counters.recordsOut += records.length;
        if (last) {
          stage.push(makeBatch(records, timestamps, stage.#source));
          return;
        }
        return stage.#deliver(index + 1, makeBatch(records, timestamps, stage.#source));
      },
      watermark(time): Pending {
        if (last) {
          stage.push({ kind: 'watermark', time });
          return;
        }
        return stage.#deliverWatermark(index + 1, time);
      },
      side(tag, records, timestamps) {
        const channel = link.sides.get(tag);
        if (channel === undefined || records.length === 0) return;
        channel.send(makeBatch(records, timestamps, stage.#source));
      },
    };
  }

  #deliver(index: number, batch: Batch<unknown>): Pending {
    const link = this.#links[index];
    const counters = link.counters;
    counters.recordsIn += batch.records.length;
    counters.batchesIn++;
    try {
      const result = link.op.processBatch(batch, this.#outputs[index]);
      if (isPromise(result)) return result.catch((err: unknown) => Promise.reject(asStepError(link.name, err)));
    } catch (err) {
      throw asStepError(link.name, err);
    }
  }

  #deliverWatermark(index: number, time: number): Pending {
    const link = this.#links[index];
    link.counters.watermark = time;
    const out = this.#outputs[index];
    try {
      const result = link.op.onWatermark === undefined ? out.watermark(time) : link.op.onWatermark(time, out);
      if (isPromise(result)) return result.catch((err: unknown) => Promise.reject(asStepError(link.name, err)));
    } catch (err) {
      throw asStepError(link.name, err);
    }
  }

  override _transform(element: StreamElement, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#busy = true;
    this.#lengthBefore = this.readableLength;
    const head = this.#head;
    // Batch time: one performance.now() pair per batch, never per record.
    const start = element.kind === 'batch' && element.records.length > 0 ? performance.now() : -1;
    let result: Pending;
    try {
      result =
        start >= 0 && head.sampleBatch()
          ? traceBatch(this.#run.job, head.step, (element as Batch<unknown>).records.length, () => this.#dispatch(element))
          : this.#dispatch(element);
    } catch (err) {
      this.#busy = false;
      cb(err as Error);
      return;
    }
    if (isPromise(result)) {
      result.then(
        () => {
          if (start >= 0) head.observeBatchMs(performance.now() - start);
          this.#afterElement(cb);
        },
        (err: unknown) => {
          this.#busy = false;
          cb(err as Error);
        },
      );
    } else {
      if (start >= 0) head.observeBatchMs(performance.now() - start);
      this.#afterElement(cb);
    }
  }

  override _read(size: number): void {
    this.#head.stopWaiting();
    super._read(size);
  }

  /**
   * Hand the element back. Node holds the next one while our output buffer is full and grew
   * during this element (Transform's own rule); that wait, until `_read`, is backpressure.
   */
  #release(cb: TransformCallback): void {
    const length = this.readableLength;
    if (length >= this.readableHighWaterMark && length !== this.#lengthBefore) this.#head.startWaiting();
    cb();
  }

  /**
   * Schedule a processing-time timer of link `index`. It runs through the mailbox: between
   * elements, never during one, so operators never see two calls at once.
   */
  scheduleTimer(index: number, timeMs: number): void {
    if (this.destroyed || this.#closed) return;
    const cancel = this.#run.clock.schedule(timeMs, () => {
      this.#cancelTimers = this.#cancelTimers.filter((c) => c !== cancel);
      this.#post(() => {
        const link = this.#links[index];
        if (link.op.onProcessingTime === undefined) return;
        try {
          const result = link.op.onProcessingTime(timeMs, this.#outputs[index]);
          if (isPromise(result)) return result.catch((err: unknown) => Promise.reject(asStepError(link.name, err)));
        } catch (err) {
          throw asStepError(link.name, err);
        }
      });
    });
    this.#cancelTimers.push(cancel);
  }

  #post(action: () => Pending): void {
    this.#mailbox.push(action);
    if (!this.#busy) this.#runMailbox(() => undefined);
  }

  /** Run queued timer work, then `next`. Failures abort the stage. */
  #runMailbox(next: () => void): void {
    while (this.#mailbox.length > 0 && !this.destroyed) {
      const action = this.#mailbox.shift()!;
      this.#busy = true;
      let result: Pending;
      try {
        result = action();
      } catch (err) {
        this.#busy = false;
        this.destroy(err as Error);
        return;
      }
      if (isPromise(result)) {
        result.then(
          () => this.#runMailbox(next),
          (err: unknown) => {
            this.#busy = false;
            this.destroy(err as Error);
          },
        );
        return;
      }
    }
    this.#busy = false;
    next();
  }

  /** Wait for full side outputs before taking the next element, so they stay bounded too. */
  #afterElement(cb: TransformCallback): void {
    for (const link of this.#links) {
      for (const channel of link.sides.values()) {
        if (channel.readableLength >= channel.readableHighWaterMark) {
          const waitStart = performance.now();
          channel.ready().then(() => {
            this.#head.backpressureMs += performance.now() - waitStart;
            this.#afterElement(cb);
          }, cb);
          return;
        }
      }
    }
    if (this.#mailbox.length > 0) this.#runMailbox(() => this.#release(cb));
    else {
      this.#busy = false;
      this.#release(cb);
    }
  }

  #dispatch(element: StreamElement): Pending {
    switch (element.kind) {
      case 'batch':
        if (element.records.length === 0) return;
        this.#source = element.source;
        return this.#deliver(0, element);
      case 'watermark':
        if (element.time <= this.#watermark) return;
        this.#watermark = element.time;
        return this.#deliverWatermark(0, element.time);
      case 'barrier':
        return this.#barrier(element.checkpointId).then(() => {
          this.push(element);
          this.#forEachSide((c) => c.send(element));
        });
      case 'end':
        return this.#end();
    }
  }

  async #barrier(checkpointId: number): Promise<void> {
    for (const link of this.#links) {
      const state = link.op.snapshot === undefined ? undefined : await link.op.snapshot(checkpointId);
      await this.#run.checkpoints.acknowledge(link.name, checkpointId, state);
    }
  }

  /** End of input: watermark +∞ through the chain, then each operator's onEnd in order. */
  async #end(): Promise<void> {
    if (this.#watermark < MAX_WATERMARK) {
      this.#watermark = MAX_WATERMARK;
      await this.#deliverWatermark(0, MAX_WATERMARK);
    }
    for (let i = 0; i < this.#links.length; i++) {
      const link = this.#links[i];
      if (link.op.onEnd === undefined) continue;
      try {
        await link.op.onEnd(this.#outputs[i]);
      } catch (err) {
        throw asStepError(link.name, err);
      }
    }
    this.push(END);
    this.#forEachSide((c) => c.send(END));
  }

  /** Names of the steps fused in this stage, in order. */
  get stepNames(): string[] {
    return this.#links.map((l) => l.name);
  }

  /** Tell every operator that checkpoint `checkpointId` is durable. */
  async checkpointComplete(checkpointId: number): Promise<void> {
    for (const link of this.#links) await link.op.onCheckpointComplete?.(checkpointId);
  }

  #forEachSide(fn: (channel: OutChannel) => void): void {
    for (const link of this.#links) for (const channel of link.sides.values()) fn(channel);
  }

  override _flush(cb: TransformCallback): void {
    this.#forEachSide((c) => c.close());
    this.#closeOperators().then(() => cb(), cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#forEachSide((c) => (err ? c.destroy(err) : c.close()));
    this.#closeOperators().then(
      () => cb(err),
      (closeErr: unknown) => cb(err ?? (closeErr as Error)),
    );
  }

  /** Close every operator once, also after a failure. */
  async #closeOperators(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const cancel of this.#cancelTimers) cancel();
    this.#cancelTimers = [];
    let first: unknown;
    for (const link of this.#links) {
      try {
        await link.op.close?.();
      } catch (err) {
        first ??= asStepError(link.name, err);
      }
    }
    if (first !== undefined) throw first;
  }
}
