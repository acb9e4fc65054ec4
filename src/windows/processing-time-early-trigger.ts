import { positiveInteger } from './check-options.js';
import type { Trigger, TriggerContext } from './trigger.js';

/**
 * Early firings by processing time: a (key, window) that received records fires its current
 * result at the next multiple of `intervalMs` of processing time, then fires as usual when the
 * watermark reaches its `end − 1`. A window that received nothing since its last early firing is
 * not fired again early. Processing time is the job's clock (a manual clock in tests).
 *
 * The trigger's per-window value holds the time of the pending timer.
 *
 * @param intervalMs - processing-time interval in ms, a positive integer.
 *
 * @example
 * ```ts
 * keyed.window(windows.tumbling(3_600_000), { trigger: triggers.processingTimeEarly(10_000) });
 * ```
 */
export function processingTimeEarlyTrigger(intervalMs: number): Trigger {
  const interval = positiveInteger('triggers.processingTimeEarly', 'intervalMs', intervalMs, ' (ms)');
  return Object.freeze({
    name: `processingTimeEarly(${interval})`,
    onElement(_record: unknown, _timestamp: number, ctx: TriggerContext) {
      const next = (Math.floor(ctx.now() / interval) + 1) * interval;
      if (ctx.value !== next) {
        ctx.value = next;
        ctx.registerProcessingTimer(next);
      }
      return 'continue' as const;
    },
    onProcessingTime(timeMs: number, ctx: TriggerContext) {
      // A timer of an older registration (a merged session's) is not this window's.
      if (timeMs !== ctx.value) return 'continue' as const;
      ctx.value = 0;
      return 'fire' as const;
    },
    // Merged sessions re-register on their next record.
    mergeValues: () => 0,
  });
}
