import { ROOT_CONTEXT, trace, type Context, type Span } from '@opentelemetry/api';
import type { CheckpointEvent } from '../checkpoint-coordinator.js';
import { ATTR, endSpan, weirTracer } from './tracing.js';

/** What kind of step a step name is (for the `weir.step.kind` attribute). */
export type StepKindOf = (step: string) => string | undefined;

interface OpenCheckpoint {
  readonly span: Span;
  readonly context: Context;
  /** When the checkpoint was triggered, ms since the epoch (sub-ms precision). */
  readonly startedAt: number;
  readonly commits: Map<string, Span>;
}

/**
 * Turns checkpoint events into one trace per checkpoint: a root span `weir.checkpoint` from
 * trigger to completion (or failure), with a child `weir.snapshot` per step from the trigger to
 * the moment that step acknowledged (barrier travel, alignment and the snapshot itself: the long
 * one is the step holding the checkpoint back) and a child `weir.sink.commit` per transactional
 * sink's commit. Spans still open when the job ends are ended by {@link close}.
 *
 * @example
 * ```ts
 * const spans = new CheckpointSpans('clicks', () => 'operator');
 * spans.onEvent({ type: 'triggered', id: 1, kind: 'periodic' });
 * ```
 */
export class CheckpointSpans {
  readonly #job: string;
  readonly #kindOf: StepKindOf;
  readonly #open = new Map<number, OpenCheckpoint>();

  constructor(job: string, kindOf: StepKindOf) {
    this.#job = job;
    this.#kindOf = kindOf;
  }

  onEvent(event: CheckpointEvent): void {
    switch (event.type) {
      case 'triggered': {
        const startedAt = performance.timeOrigin + performance.now();
        const span = weirTracer().startSpan(
          'weir.checkpoint',
          { root: true, startTime: startedAt, attributes: { [ATTR.job]: this.#job, [ATTR.checkpointId]: event.id, [ATTR.checkpointKind]: event.kind } },
          ROOT_CONTEXT,
        );
        this.#open.set(event.id, { span, context: trace.setSpan(ROOT_CONTEXT, span), startedAt, commits: new Map() });
        return;
      }
      case 'acknowledged': {
        const open = this.#open.get(event.id);
        if (open === undefined) return;
        const kind = this.#kindOf(event.step);
        weirTracer()
          .startSpan(
            'weir.snapshot',
            { startTime: open.startedAt, attributes: { [ATTR.job]: this.#job, [ATTR.step]: event.step, ...(kind === undefined ? {} : { [ATTR.stepKind]: kind }) } },
            open.context,
          )
          .end();
        return;
      }
      case 'committing': {
        const open = this.#open.get(event.id);
        if (open === undefined) return;
        const span = weirTracer().startSpan('weir.sink.commit', { attributes: { [ATTR.job]: this.#job, [ATTR.step]: event.sink, [ATTR.stepKind]: 'sink' } }, open.context);
        open.commits.set(event.sink, span);
        return;
      }
      case 'committed': {
        const open = this.#open.get(event.id);
        const span = open?.commits.get(event.sink);
        if (span === undefined) return;
        open!.commits.delete(event.sink);
        span.end();
        return;
      }
      case 'completed': {
        const open = this.#open.get(event.meta.id);
        if (open === undefined) return;
        this.#open.delete(event.meta.id);
        open.span.setAttribute(ATTR.checkpointBytes, event.meta.bytes);
        open.span.end();
        return;
      }
      case 'failed': {
        const open = this.#open.get(event.id);
        if (open === undefined) return;
        this.#open.delete(event.id);
        for (const span of open.commits.values()) endSpan(span, true, event.error);
        endSpan(open.span, true, event.error);
        return;
      }
    }
  }

  /** End every span still open (the job ended with a checkpoint in flight). Idempotent. */
  close(): void {
    for (const open of this.#open.values()) {
      for (const span of open.commits.values()) span.end();
      open.span.setAttribute('weir.checkpoint.abandoned', true);
      open.span.end();
    }
    this.#open.clear();
  }
}
