/** One window per key holding every record, fired only by its trigger. Build with {@link globalWindow}. */
export interface GlobalWindows {
  readonly kind: 'global';
}

/**
 * The global window: per key, one window that never ends. It fires only when its trigger says so,
 * so `.window(windows.global(), { trigger })` requires a trigger (e.g. `triggers.count(100)` or a
 * custom {@link Trigger}). At end of input the trigger's `onEventTime` is asked once per key
 * (the watermark reached +∞); {@link countTrigger} says `'continue'`, so an incomplete batch of
 * records is not emitted. Rows carry `start`/`end` like count windows.
 *
 * @example
 * ```ts
 * stream.keyBy('user').window(windows.global(), { trigger: triggers.count(3) }).aggregate(agg.count());
 * ```
 */
export function globalWindow(): GlobalWindows {
  return { kind: 'global' };
}
