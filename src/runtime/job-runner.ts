import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ChainStage, type ChainLink } from './chain-stage.js';
import { DEAD_LETTER_TAG, asStepError, toDeadLetter } from './error-policy.js';
import { AbortedError, ConfigError, WeirError } from './errors.js';
import { portKey, type GraphNode, type JobGraph, type NodeId, type OperatorNode, type Port } from './graph.js';
import type { OperatorContext } from './operator.js';
import type { StateKv } from './checkpoint-storage.js';
import type { StateBackendName } from './run-options.js';
import { OutChannel } from './out-channel.js';
import { SinkStage } from './sink-stage.js';
import { SourceStage } from './source-stage.js';
import { NO_CHECKPOINTS, type CheckpointAcks, type RunContext } from './stage-context.js';
import { StepCounters } from './step-counters.js';
import { Tee } from './tee.js';
import type { Clock } from './clock.js';
import { UnionStage } from './union-stage.js';

/** Runtime settings of one run, already validated. */
export interface RuntimeSettings {
  readonly batchSize: number;
  readonly bufferBatches: number;
  readonly clock: Clock;
  readonly checkpoints?: CheckpointAcks;
  /** State saved per step by the checkpoint being restored. */
  readonly restored?: ReadonlyMap<string, unknown>;
  /** Cancels the run from outside. */
  readonly signal?: AbortSignal;
  /** Fuse adjacent stateless operators (default true). */
  readonly chaining?: boolean;
  /** Default state backend of keyed steps (default 'heap'). */
  readonly stateBackend?: StateBackendName;
  /** The checkpoint storage's shared state store (checkpoints on). */
  readonly stateKv?: StateKv;
}

/** Counters of one step at one moment. */
export interface StepStats {
  readonly kind: StepCounters['kind'];
  readonly recordsIn: number;
  readonly recordsOut: number;
  readonly skipped: number;
  readonly deadLettered: number;
  readonly lateDropped: number;
  readonly watermark: number;
}

/** What a finished run reports. */
export interface JobResult {
  readonly job: string;
  readonly durationMs: number;
  /** True when the run ended by `stop()` rather than end of input. */
  readonly stopped: boolean;
  /** Checkpoints completed during the run (0 with checkpoints off). */
  readonly checkpoints?: number;
  readonly steps: Readonly<Record<string, StepStats>>;
}

interface Consumer {
  readonly node: GraphNode;
  /** Which input of a union this edge feeds. */
  readonly inputIndex: number;
}

/**
 * A running job: the stream stages built from a {@link JobGraph}, wired segment by segment with
 * `stream.pipeline` under one AbortSignal. The first error anywhere aborts every segment, which
 * destroys every stage, which closes every source, operator and sink exactly once.
 */
export class JobRun {
  readonly done: Promise<JobResult>;
  readonly #graph: JobGraph;
  readonly #settings: RuntimeSettings;
  readonly #abort = new AbortController();
  readonly #counters = new Map<string, StepCounters>();
  readonly #consumers = new Map<string, Consumer[]>();
  readonly #sources: SourceStage<unknown>[] = [];
  readonly #chains: ChainStage[] = [];
  readonly #sinks: SinkStage<unknown>[] = [];
  readonly #unions = new Map<NodeId, UnionStage>();
  readonly #segments: Array<Array<Readable | Writable>> = [];
  /** The side channels of each chained operator, by tag. */
  readonly #sides = new Map<NodeId, Map<string, OutChannel>>();
  readonly #started = Date.now();
  #stopped = false;
  #firstError: unknown;

  constructor(graph: JobGraph, settings: RuntimeSettings) {
    this.#graph = graph;
    this.#settings = settings;
    const external = settings.signal;
    if (external !== undefined) {
      if (external.aborted) this.#fail(new AbortedError('job aborted before start', { cause: external.reason }));
      else external.addEventListener('abort', () => this.#fail(new AbortedError('job aborted', { cause: external.reason })), { once: true });
    }
    const run = this.#runContext();
    this.#build(run);
    this.done = this.#run();
  }

  /** Live counters of every step. */
  stats(): Record<string, StepStats> {
    const out: Record<string, StepStats> = {};
    for (const [name, c] of this.#counters) {
      out[name] = {
        kind: c.kind,
        recordsIn: c.recordsIn,
        recordsOut: c.recordsOut,
        skipped: c.skipped,
        deadLettered: c.deadLettered,
        lateDropped: c.lateDropped,
        watermark: c.watermark,
      };
    }
    return out;
  }

  /** The live counter objects (for metrics exporters). */
  get counters(): ReadonlyMap<string, StepCounters> {
    return this.#counters;
  }

  get sources(): readonly SourceStage<unknown>[] {
    return this.#sources;
  }

  get sinks(): readonly SinkStage<unknown>[] {
    return this.#sinks;
  }

  get chains(): readonly ChainStage[] {
    return this.#chains;
  }

  /** Every step that acknowledges checkpoints: sources, operators and sinks. */
  participants(): string[] {
    return [...this.#sources.map((s) => s.name), ...this.#chains.flatMap((c) => c.stepNames), ...this.#sinks.map((s) => s.name)];
  }

  /**
   * Graceful stop: sources stop reading (emitting the savepoint barrier when given), everything
   * in flight drains, stages close. Windows still open are not fired: they stay in the savepoint.
   */
  stop(savepointId?: number): Promise<JobResult> {
    this.#stopped = true;
    for (const source of this.#sources) source.stop(savepointId);
    return this.done;
  }

  /** Cancel at once: abort every stage. */
  abort(reason?: unknown): void {
    this.#fail(new AbortedError('job aborted', { cause: reason }));
  }

  /** Fail the job with `err` (e.g. a checkpoint could not be written): abort every stage. */
  fail(err: unknown): void {
    this.#fail(err);
  }

  #fail(err: unknown): void {
    if (this.#firstError !== undefined) return;
    this.#firstError = err;
    this.#abort.abort(err);
  }

  #runContext(): RunContext {
    const counters = this.#counters;
    const clock = this.#settings.clock;
    return {
      job: this.#graph.job,
      signal: this.#abort.signal,
      checkpoints: this.#settings.checkpoints ?? NO_CHECKPOINTS,
      bufferBatches: this.#settings.bufferBatches,
      now: () => clock.now(),
      clock,
      counters(step, kind) {
        let c = counters.get(step);
        if (c === undefined) {
          c = new StepCounters(step, kind);
          counters.set(step, c);
        }
        return c;
      },
    };
  }

  async #run(): Promise<JobResult> {
    const runs = this.#segments.map((segment) =>
      pipeline(segment as unknown as NodeJS.ReadWriteStream[], { signal: this.#abort.signal }).catch((err: unknown) => {
        this.#fail(err);
      }),
    );
    await Promise.all(runs);
    if (this.#firstError !== undefined) {
      const err = this.#firstError;
      throw err instanceof WeirError ? err : asStepError(this.#graph.job, err);
    }
    return {
      job: this.#graph.job,
      durationMs: Date.now() - this.#started,
      stopped: this.#stopped,
      steps: this.stats(),
    };
  }

  // ---- building -------------------------------------------------------------------------

  #build(run: RunContext): void {
    const live = this.#liveNodes();
    for (const node of live) {
      const inputs = node.type === 'union' ? node.inputs : node.type === 'source' ? [] : [node.input];
      inputs.forEach((port, inputIndex) => {
        const key = portKey(port);
        let list = this.#consumers.get(key);
        if (list === undefined) this.#consumers.set(key, (list = []));
        list.push({ node, inputIndex });
      });
    }
    if (!live.some((n) => n.type === 'sink')) {
      throw new ConfigError(`job "${this.#graph.job}": no sink; add one with .sink(...) before .run()`);
    }
    for (const node of live) {
      if (node.type === 'union') this.#unions.set(node.id, new UnionStage(node.name, node.inputs.length, run));
    }
    for (const node of live) {
      if (node.type !== 'source') continue;
      const deadLetters = this.#hasConsumers({ node: node.id, tag: DEAD_LETTER_TAG }) ? new OutChannel(run.bufferBatches) : undefined;
      const stage = new SourceStage(node.name, node.source, node.time, run, {
        batchSize: this.#settings.batchSize,
        restored: this.#settings.restored?.get(node.name),
        deadLetters,
      });
      this.#sources.push(stage);
      this.#fromPort([stage], { node: node.id }, run);
      if (deadLetters !== undefined) this.#fromPort([deadLetters], { node: node.id, tag: DEAD_LETTER_TAG }, run);
    }
    for (const [id, union] of this.#unions) this.#fromPort([union.output], { node: id }, run);
  }

  /** Nodes a sink depends on; the rest of the graph is never built. */
  #liveNodes(): GraphNode[] {
    const nodes = this.#graph.nodes;
    const live = new Set<NodeId>();
    const visit = (id: NodeId): void => {
      if (live.has(id)) return;
      live.add(id);
      const node = nodes[id];
      if (node.type === 'union') node.inputs.forEach((p) => visit(p.node));
      else if (node.type !== 'source') visit(node.input.node);
    };
    for (const node of nodes) if (node.type === 'sink') visit(node.id);
    return nodes.filter((n) => live.has(n.id));
  }

  #hasConsumers(port: Port): boolean {
    return (this.#consumers.get(portKey(port))?.length ?? 0) > 0;
  }

  /** Continue `segment`, which currently ends in a stream carrying `port`, to all its consumers. */
  #fromPort(segment: Array<Readable | Writable>, port: Port, run: RunContext): void {
    const consumers = this.#consumers.get(portKey(port)) ?? [];
    if (consumers.length === 0) {
      segment.push(discard(run.bufferBatches));
      this.#segments.push(segment);
      return;
    }
    if (consumers.length === 1) {
      this.#toConsumer(segment, consumers[0], run);
      return;
    }
    const tee = new Tee(consumers.length, run.bufferBatches);
    segment.push(tee);
    this.#segments.push(segment);
    consumers.forEach((consumer, i) => this.#toConsumer([tee.branches[i]], consumer, run));
  }

  #toConsumer(segment: Array<Readable | Writable>, consumer: Consumer, run: RunContext): void {
    const node = consumer.node;
    switch (node.type) {
      case 'sink': {
        const stage = new SinkStage(node.name, node.sink, run, this.#settings.restored?.get(node.name));
        this.#sinks.push(stage);
        segment.push(stage);
        this.#segments.push(segment);
        return;
      }
      case 'union':
        segment.push(this.#unions.get(node.id)!.inputs[consumer.inputIndex]);
        this.#segments.push(segment);
        return;
      case 'operator': {
        const chain = this.#chainFrom(node);
        let stage: ChainStage | undefined;
        // Timers registered while operators are created (restored ones) wait for their stage.
        const early: Array<[number, number]> = [];
        const links = chain.map((op, index) =>
          this.#link(op, run, (timeMs) => (stage === undefined ? early.push([index, timeMs]) : stage.scheduleTimer(index, timeMs))),
        );
        stage = new ChainStage(links, run);
        for (const [index, timeMs] of early) stage.scheduleTimer(index, timeMs);
        this.#chains.push(stage);
        segment.push(stage);
        const last = chain[chain.length - 1];
        for (const op of chain) {
          for (const [tag, channel] of this.#sides.get(op.id) ?? []) this.#fromPort([channel], { node: op.id, tag }, run);
        }
        this.#fromPort(segment, { node: last.id }, run);
        return;
      }
      case 'source':
        throw new ConfigError(`step "${node.name}": a source cannot consume a stream`);
    }
  }

  /** The operators fused with `head`: following stateless operators that are sole consumers. */
  #chainFrom(head: OperatorNode): OperatorNode[] {
    const chain = [head];
    let current = head;
    while (current.spec.stateless && this.#settings.chaining !== false) {
      const next = this.#consumers.get(portKey({ node: current.id })) ?? [];
      if (next.length !== 1) break;
      const candidate = next[0].node;
      if (candidate.type !== 'operator' || !candidate.spec.stateless) break;
      chain.push(candidate);
      current = candidate;
    }
    return chain;
  }

  #link(node: OperatorNode, run: RunContext, schedule: (timeMs: number) => void): ChainLink {
    const counters = run.counters(node.name, 'operator');
    const sides = new Map<string, OutChannel>();
    for (const [key, consumers] of this.#consumers) {
      const prefix = `${node.id}:`;
      if (consumers.length > 0 && key.startsWith(prefix)) sides.set(key.slice(prefix.length), new OutChannel(run.bufferBatches));
    }
    this.#sides.set(node.id, sides);
    const policy = node.onError;
    const name = node.name;
    const ctx: OperatorContext = {
      job: run.job,
      name,
      signal: run.signal,
      restored: this.#settings.restored?.get(name),
      now: run.now,
      recordFailed(record, timestamp, cause, source, out) {
        if (policy === 'fail') throw asStepError(name, cause);
        if (policy === 'skip') {
          counters.skipped++;
          return;
        }
        counters.deadLettered++;
        out.side(DEAD_LETTER_TAG, [toDeadLetter(record, cause, name, source)], [timestamp]);
      },
      registerProcessingTimer: schedule,
      stateBackend: this.#settings.stateBackend,
      stateKv: this.#settings.stateKv,
      requestCheckpoint: () => run.checkpoints.requestCheckpoint(),
      countDropped(n, reason) {
        if (reason === 'late') counters.lateDropped += n;
        else counters.skipped += n;
      },
    };
    let op;
    try {
      op = node.spec.create(ctx);
    } catch (err) {
      throw asStepError(name, err);
    }
    return { name, op, counters, sides };
  }
}

/** The end of a branch nobody consumes (e.g. the main output of a step whose only consumer is a side output's sink). */
function discard(highWaterMark: number): Writable {
  return new Writable({ objectMode: true, highWaterMark, write: (_el, _enc, cb) => cb() });
}
