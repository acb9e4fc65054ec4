import type { Trigger } from './trigger.js';

/**
 * The default trigger of time windows: fire once when the watermark reaches the window's
 * `end − 1` (and again for each late-but-allowed record). It has no hooks, which lets the window
 * operator skip trigger calls entirely.
 *
 * @example
 * ```ts
 * keyed.window(windows.tumbling(60_000), { trigger: triggers.eventTime() });
 * ```
 */
export function eventTimeTrigger(): Trigger {
  return Object.freeze({ name: 'eventTime' });
}
