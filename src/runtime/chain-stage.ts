import { Transform, type TransformCallback } from 'node:stream';
import { END, MAX_WATERMARK, batch as makeBatch, type Batch, type StreamElement } from './elements.js';
import type { Operator, OperatorContext, Output } from './operator.js';
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

/**
 * The per-record form of a stateless operator. Adjacent operators that have one run inside a
 * single loop per batch (see {@link ChainStage}) instead of one `processBatch` and one batch each:
 * - `filter`: keep the record when `fn(record)` is truthy;
 * - `map`: replace the record with `fn(record)`;
 * - `mapOrDrop`: replace the record with `fn(record, timestamp)`, drop it on `undefined`;
 * - `flatMap`: replace the record with each of `fn(record)` (any iterable), in order.
 *
 * Event time is kept. A throwing `fn` goes to `ctx.recordFailed` (the step's error policy) for
 * that record, which then goes no further. Invariant: the result equals that of the operator's
 * `processBatch`, record for record.
 */
export type RecordStep<I = unknown, O = unknown> =
  | { readonly kind: 'filter'; readonly fn: (record: I) => boolean; readonly ctx: OperatorContext }
  | { readonly kind: 'map'; readonly fn: (record: I) => O; readonly ctx: OperatorContext }
  | { readonly kind: 'mapOrDrop'; readonly fn: (record: I, timestamp: number) => O | undefined; readonly ctx: OperatorContext }
  | { readonly kind: 'flatMap'; readonly fn: (record: I) => Iterable<O>; readonly ctx: OperatorContext };

/** An operator that a chain may also run record by record, fused with its neighbours. */
export interface FusibleOperator<I, O> extends Operator<I, O> {
  readonly recordStep: RecordStep<I, O>;
}

/**
 * The loop of a fused segment over one batch: writes what passes every step to `outRecords` /
 * `outTimes` from index 0 and returns how many; `reached[j]` is set to the number of records that
 * entered step `j` (j ≥ 1). `fail(j, …)` applies step `j`'s error policy.
 */
type FusedLoop = (
  records: unknown[],
  times: number[],
  outRecords: unknown[],
  outTimes: number[],
  reached: Int32Array,
  fail: (step: number, record: unknown, timestamp: number, err: unknown) => void,
) => number;

/** A run of adjacent links `first..last` that have a {@link RecordStep}, run as one loop. */
interface FusedSegment {
  readonly first: number;
  readonly last: number;
  readonly loop: FusedLoop;
  readonly fail: (step: number, record: unknown, timestamp: number, err: unknown) => void;
  /** Records that entered each step of the segment in the last batch (index 0 unused). */
  readonly reached: Int32Array;
  /** Records the last batch kept: the next batch's output arrays start with about this room. */
  lastKept: number;
}

type Pending = void | Promise<void>;

function isPromise(value: unknown): value is Promise<void> {
  return value !== undefined && typeof (value as Promise<void>).then === 'function';
}

/**
 * A stream stage running a chain of fused operators (operator chaining): records pass from one
 * operator to the next by function call, so a filter→map→filter costs one stream hop. Adjacent
 * operators with a {@link RecordStep} go further: one loop per batch carries each record through
 * all of them, with no batch in between (Flink-style record-at-a-time chaining).
 * Watermarks that do not advance are dropped here, so operators only see increasing ones.
 */
export class ChainStage extends Transform {
  readonly #links: ChainLink[];
  readonly #outputs: Output<unknown>[];
  /** The fused segment starting at each link index, if one does. */
  readonly #segments: Array<FusedSegment | undefined>;
  /** Every side output of every link, flattened once (checked after each element). */
  readonly #sides: OutChannel[];
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
    this.#segments = this.#fuse();
    this.#sides = links.flatMap((link) => [...link.sides.values()]);
  }

  #makeOutput(link: ChainLink, index: number): Output<unknown> {
    const stage = this;
    const counters = link.counters;
    const last = index === this.#links.length - 1;
    return {
      emit(records, timestamps): Pending {
        if (records.length === 0) return;
        counters.recordsOut += records.length;
        return stage.#forward(index, records, timestamps);
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

  /** Pass what link `index` produced (not empty, already counted) to the next link or downstream. */
  #forward(index: number, records: unknown[], timestamps: number[]): Pending {
    if (index === this.#links.length - 1) {
      this.push(makeBatch(records, timestamps, this.#source));
      return;
    }
    return this.#deliver(index + 1, makeBatch(records, timestamps, this.#source));
  }

  /** Group adjacent links with a record step into fused segments. */
  #fuse(): Array<FusedSegment | undefined> {
    const segments: Array<FusedSegment | undefined> = new Array(this.#links.length).fill(undefined);
    const steps = this.#links.map((link) => (link.op as Partial<FusibleOperator<unknown, unknown>>).recordStep);
    let first = 0;
    while (first < steps.length) {
      if (steps[first] === undefined) {
        first++;
        continue;
      }
      let last = first;
      while (last + 1 < steps.length && steps[last + 1] !== undefined) last++;
      const segmentSteps = steps.slice(first, last + 1) as RecordStep[];
      const base = first;
      segments[first] = {
        first,
        last,
        loop: compileFusedLoop(segmentSteps),
        fail: (step, record, timestamp, err) => {
          segmentSteps[step].ctx.recordFailed(record, timestamp, err, this.#source, this.#outputs[base + step]);
        },
        reached: new Int32Array(segmentSteps.length),
        lastKept: 0,
      };
      first = last + 1;
    }
    return segments;
  }

  #deliver(index: number, batch: Batch<unknown>): Pending {
    const segment = this.#segments[index];
    if (segment !== undefined) return this.#runSegment(segment, batch);
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

  /**
   * Run a batch through a fused segment, then count per step as if each step had handled its own
   * batch (a step that received no record saw no batch).
   */
  #runSegment(segment: FusedSegment, batch: Batch<unknown>): Pending {
    const records = batch.records;
    const n = records.length;
    // Size the output like the last batch's (plus slack): a selective filter then allocates little,
    // and a pass-through rarely grows. Writing past the end grows the array like push().
    const room = Math.min(n, segment.lastKept + (segment.lastKept >> 3) + 16);
    const outRecords = new Array<unknown>(room);
    const outTimes = new Array<number>(room);
    const reached = segment.reached;
    let kept: number;
    try {
      kept = segment.loop(records, batch.timestamps, outRecords, outTimes, reached, segment.fail);
    } catch (err) {
      // recordFailed names the step itself; anything else is a fault of the segment's first step.
      throw asStepError(this.#links[segment.first].name, err);
    }
    reached[0] = n;
    const links = this.#links;
    for (let j = 0; j <= segment.last - segment.first; j++) {
      const counters = links[segment.first + j].counters;
      const entered = reached[j];
      if (entered === 0) break;
      counters.recordsIn += entered;
      counters.batchesIn++;
      counters.recordsOut += segment.first + j === segment.last ? kept : reached[j + 1];
    }
    segment.lastKept = kept;
    if (kept === 0) return;
    if (kept < room) {
      outRecords.length = kept;
      outTimes.length = kept;
    }
    return this.#forward(segment.last, outRecords, outTimes);
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
    const sides = this.#sides;
    for (let i = 0; i < sides.length; i++) {
      const channel = sides[i];
      if (channel.readableLength >= channel.readableHighWaterMark) {
        const waitStart = performance.now();
        channel.ready().then(() => {
          this.#head.backpressureMs += performance.now() - waitStart;
          this.#afterElement(cb);
        }, cb);
        return;
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
    for (const channel of this.#sides) fn(channel);
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

/**
 * Generate the loop of a fused segment. Generated rather than interpreted so that each segment
 * has its own call sites: V8 sees one function at each and can inline the user functions, where
 * a shared loop calling `steps[j].fn` would be megamorphic across a job's operators. Only the
 * step kinds shape the code; the functions come in as arguments, never as source text.
 */
function compileFusedLoop(steps: readonly RecordStep[]): FusedLoop {
  const counted = steps.map((_, j) => j).slice(1);
  const source = `
    return function fusedLoop(records, times, outRecords, outTimes, reached, fail) {
      const n = records.length;
      let kept = 0;
      ${counted.map((j) => `let reached${j} = 0;`).join(' ')}
      for (let i = 0; i < n; i++) {
        let r = records[i];
        const t = times[i];
        ${stepCode(steps, 0)}
      }
      ${counted.map((j) => `reached[${j}] = reached${j};`).join(' ')}
      return kept;
    };`;
  const params = steps.map((_, j) => `f${j}`);
  const make = new Function('toArray', ...params, source) as (...args: unknown[]) => FusedLoop;
  return make(toArray, ...steps.map((step) => step.fn));
}

/**
 * Code for step `j` and everything after it, for one record `r` with time `t`. `continue` drops
 * the record (or, after a flatMap, the current output of it); a flatMap runs the rest of the
 * steps in a loop over its outputs, which it collects first so a failure discards them all.
 */
function stepCode(steps: readonly RecordStep[], j: number): string {
  if (j === steps.length) return 'outRecords[kept] = r; outTimes[kept] = t; kept++;';
  const count = j > 0 ? `reached${j}++;` : '';
  const guard = `catch (err) { fail(${j}, r, t, err); continue; }`;
  const rest = stepCode(steps, j + 1);
  switch (steps[j].kind) {
    case 'filter':
      return `${count} let keep${j}; try { keep${j} = f${j}(r); } ${guard} if (!keep${j}) continue; ${rest}`;
    case 'map':
      return `${count} let next${j}; try { next${j} = f${j}(r); } ${guard} r = next${j}; ${rest}`;
    case 'mapOrDrop':
      return `${count} let next${j}; try { next${j} = f${j}(r, t); } ${guard} if (next${j} === undefined) continue; r = next${j}; ${rest}`;
    case 'flatMap':
      return `${count} let items${j}; try { items${j} = toArray(f${j}(r)); } ${guard}
        for (let k${j} = 0; k${j} < items${j}.length; k${j}++) { r = items${j}[k${j}]; ${rest} }`;
  }
}

/** A flatMap result as an array (arrays as they are; other iterables are drained). */
function toArray(items: Iterable<unknown>): readonly unknown[] {
  return Array.isArray(items) ? items : Array.from(items);
}
