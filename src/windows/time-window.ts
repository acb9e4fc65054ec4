/**
 * A window of event time: the half-open interval `[start, end)` in milliseconds. Time windows
 * (tumbling, sliding, session) fire when the watermark reaches `end - 1`, and their results carry
 * the event timestamp `end - 1`. Count and global windows describe the records they hold:
 * `start` is the smallest event time among them and `end` the largest plus one.
 *
 * @example
 * ```ts
 * const w: TimeWindow = { start: 60_000, end: 120_000 }; // the second minute
 * ```
 */
export interface TimeWindow {
  /** First millisecond inside the window. */
  readonly start: number;
  /** First millisecond after the window. */
  readonly end: number;
}
