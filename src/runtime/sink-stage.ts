import { Writable } from 'node:stream';
import type { StreamElement } from './elements.js';
import { asStepError } from './error-policy.js';
import { traceBatch } from './observability/tracing.js';
import { isTransactional, type Sink, type SinkWriter } from './sink.js';
import type { RunContext } from './stage-context.js';
import type { StepCounters } from './step-counters.js';

/**
 * Writes elements into a sink writer. On a barrier a transactional writer pre-commits and its
 * transaction goes into the checkpoint; at end of input the writer flushes.
 */
export class SinkStage<T> extends Writable {
  readonly name: string;
  readonly #sink: Sink<T>;
  readonly #run: RunContext;
  readonly #counters: StepCounters;
  readonly #restored: unknown;
  #writer: SinkWriter<T> | undefined;
  #closed = false;
  #opened!: () => void;
  /** Resolves once the writer is open. */
  readonly ready: Promise<void> = new Promise((resolve) => {
    this.#opened = resolve;
  });

  constructor(name: string, sink: Sink<T>, run: RunContext, restored: unknown) {
    super({ objectMode: true, highWaterMark: run.bufferBatches });
    this.name = name;
    this.#sink = sink;
    this.#run = run;
    this.#counters = run.counters(name, 'sink');
    this.#restored = restored;
  }

  /** The live writer (after the stage was constructed). */
  get writer(): SinkWriter<T> | undefined {
    return this.#writer;
  }

  override _construct(cb: (err?: Error | null) => void): void {
    const ctx = {
      job: this.#run.job,
      name: this.name,
      signal: this.#run.signal,
      restored: this.#restored,
      now: () => this.#run.now(),
      clock: this.#run.clock,
    };
    Promise.resolve()
      .then(() => this.#sink.open(ctx))
      .then(
        (writer) => {
          this.#writer = writer;
          this.#opened();
          cb();
        },
        (err: unknown) => cb(asStepError(this.name, err)),
      );
  }

  override _write(element: StreamElement<T>, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const counters = this.#counters;
    // Batch time (the write): one performance.now() pair per batch, never per record.
    const start = element.kind === 'batch' ? performance.now() : -1;
    let result: void | Promise<void>;
    try {
      result =
        start >= 0 && counters.sampleBatch()
          ? traceBatch(this.#run.job, this.name, (element as { records: unknown[] }).records.length, () => this.#handle(element))
          : this.#handle(element);
    } catch (err) {
      cb(asStepError(this.name, err));
      return;
    }
    if (result === undefined) {
      if (start >= 0) counters.observeBatchMs(performance.now() - start);
      cb();
    } else {
      result.then(
        () => {
          if (start >= 0) counters.observeBatchMs(performance.now() - start);
          cb();
        },
        (err: unknown) => cb(asStepError(this.name, err)),
      );
    }
  }

  #handle(element: StreamElement<T>): void | Promise<void> {
    const writer = this.#writer!;
    switch (element.kind) {
      case 'batch':
        this.#counters.recordsIn += element.records.length;
        this.#counters.batchesIn++;
        return writer.write(element);
      case 'watermark':
        this.#counters.watermark = element.time;
        return writer.onWatermark?.(element.time);
      case 'barrier':
        return this.#barrier(writer, element.checkpointId);
      case 'end':
        // With checkpoints on, the final checkpoint (right after end of input) commits instead.
        return this.#run.checkpoints.holdsEnd ? undefined : writer.flush?.();
    }
  }

  async #barrier(writer: SinkWriter<T>, checkpointId: number): Promise<void> {
    const txn = isTransactional(writer) ? await writer.preCommit(checkpointId) : undefined;
    await this.#run.checkpoints.acknowledge(this.name, checkpointId, txn);
  }

  override _final(cb: (err?: Error | null) => void): void {
    // The last checkpoint's commit uses the writer: close only after it.
    this.#run.checkpoints
      .settled()
      .then(() => this.#close())
      .then(() => cb(), (err: unknown) => cb(asStepError(this.name, err)));
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#close().then(
      () => cb(err),
      (closeErr: unknown) => cb(err ?? asStepError(this.name, closeErr)),
    );
  }

  /** Close the writer once, also after a failure. */
  async #close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writer?.close?.();
  }
}
