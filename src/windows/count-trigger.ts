import { positiveInteger } from './check-options.js';
import type { Trigger, TriggerContext } from './trigger.js';

/**
 * Fire and purge every `n` records per (key, window): the trigger for `windows.global()`. A
 * window with fewer than `n` records left at end of input is not emitted.
 *
 * @param n - records per firing, a positive integer.
 *
 * @example
 * ```ts
 * keyed.window(windows.global(), { trigger: triggers.count(100) }).aggregate(agg.sum('price'));
 * ```
 */
export function countTrigger(n: number): Trigger {
  const every = positiveInteger('triggers.count', 'n', n);
  return Object.freeze({
    name: `count(${every})`,
    onElement(_record: unknown, _timestamp: number, ctx: TriggerContext) {
      ctx.value++;
      if (ctx.value < every) return 'continue' as const;
      ctx.value = 0;
      return 'fire-and-purge' as const;
    },
    onEventTime: () => 'continue' as const,
  });
}
