import { positiveInteger } from './check-options.js';
import type { Trigger } from './trigger.js';

/**
 * Early firings by count: emit the (key, window)'s current result every `n` records it receives,
 * then fire as usual when the watermark reaches the window's `end − 1`. The count is the
 * trigger's per-window value (checkpointed; summed when sessions merge).
 *
 * @param n - records between early firings, a positive integer.
 *
 * @example
 * ```ts
 * keyed.window(windows.tumbling(3_600_000), { trigger: triggers.countEarly(1000) });
 * ```
 */
export function countEarlyTrigger(n: number): Trigger {
  const every = positiveInteger('triggers.countEarly', 'n', n);
  return Object.freeze({
    name: `countEarly(${every})`,
    onElement(_record: unknown, _timestamp: number, ctx: { value: number }) {
      ctx.value++;
      if (ctx.value < every) return 'continue' as const;
      ctx.value = 0;
      return 'fire' as const;
    },
  });
}
