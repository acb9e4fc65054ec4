import type { Aggregation } from '../aggregations/aggregation.js';
import { CheckpointError, show } from '../runtime/errors.js';
import type { Operator, OperatorContext, OperatorSpec } from '../runtime/operator.js';
import { CountWindowOperator } from './count-window-operator.js';
import { GlobalWindowOperator } from './global-window-operator.js';
import { PaneWindowOperator } from './pane-window-operator.js';
import { SessionWindowOperator } from './session-window-operator.js';
import type { Trigger } from './trigger.js';
import type { WindowAssigner } from './window-assigner.js';
import type { WindowFunction } from './window-function.js';

/** Everything a window step needs, validated by the builder. */
export interface WindowConfig<T> {
  readonly assigner: WindowAssigner;
  /** The key selector (compiled). */
  readonly key: (record: T) => unknown;
  readonly fn: WindowFunction<T>;
  /** `triggers.eventTime()` unless the user gave one; required for global windows. */
  readonly trigger: Trigger;
  /** How long after `end − 1` a window still takes late records and re-fires, in ms. */
  readonly allowedLatenessMs: number;
  /** True when a late-output sink is attached: late records go to side output `late`, else they are counted as dropped. */
  readonly lateOutput: boolean;
}

/** A live window operator: an {@link Operator} whose state size can be read (tests, metrics). */
export interface WindowOperator<T> extends Operator<T, unknown> {
  /** Held (key, window) entries plus pending timers. Zero after end of input. */
  stateSize(): number;
  snapshot(checkpointId: number): unknown;
}

/** The internal parts every window operator kind is built from. */
export interface WindowParts<T> {
  readonly name: string;
  readonly ctx: OperatorContext;
  readonly config: WindowConfig<T>;
  readonly aggregation: Aggregation<T, unknown, unknown>;
}

/**
 * The window step: an operator spec, stateful (it runs in its own stage, never fused). The live
 * operator depends on the assigner: panes for tumbling and sliding windows, a sorted session list
 * per key for sessions, count panes for count windows, one window per key for global windows.
 *
 * Snapshot invariant: `snapshot()` returns plain data (v8-serializable) describing every held
 * window, timer, counter and the watermark, as a deep copy — the checkpoint coordinator
 * serializes it only once every step acknowledged, while this step goes on processing; `create`
 * with it in `ctx.restored` resumes right after the last record the snapshotted operator
 * processed. Derived indexes (timer buckets, merge slots) are not saved but rebuilt.
 *
 * @example
 * ```ts
 * const spec = windowOperator('per-minute', {
 *   assigner: windows.tumbling(60_000), key: (e) => e.user, fn: aggregateFunction(agg.count(), 'per-minute'),
 *   trigger: triggers.eventTime(), allowedLatenessMs: 0, lateOutput: false,
 * });
 * ```
 */
export function windowOperator<T>(name: string, config: WindowConfig<T>): OperatorSpec<T, unknown> {
  return {
    name,
    stateless: false,
    create(ctx: OperatorContext): WindowOperator<T> {
      const parts: WindowParts<T> = { name, ctx, config, aggregation: config.fn.aggregation };
      const restored = ctx.restored;
      const kind = config.assigner.kind;
      if (restored !== undefined && (restored === null || typeof restored !== 'object' || (restored as { assigner?: unknown }).assigner !== kind)) {
        throw new CheckpointError(`window "${name}": the checkpoint does not hold ${kind} window state (got ${show(restored)})`, { step: name });
      }
      switch (config.assigner.kind) {
        case 'tumbling':
        case 'sliding':
          return new PaneWindowOperator(parts, config.assigner, restored as never);
        case 'session':
          return new SessionWindowOperator(parts, config.assigner, restored as never);
        case 'count':
        case 'sliding-count':
          return new CountWindowOperator(parts, config.assigner, restored as never);
        case 'global':
          return new GlobalWindowOperator(parts, restored as never);
      }
    },
  };
}
