import { ConfigError } from '../runtime/errors.js';
import { alignDown } from './align.js';
import { integer, positiveInteger } from './check-options.js';
import type { TimeWindow } from './time-window.js';

/** Overlapping event-time windows of fixed size, one starting every `slideMs`. Build with {@link sliding}. */
export interface SlidingWindows {
  readonly kind: 'sliding';
  readonly sizeMs: number;
  readonly slideMs: number;
  readonly offsetMs: number;
  /** Every window holding event time `t`, earliest start first. */
  assign(t: number): TimeWindow[];
}

/**
 * Sliding (hopping) windows: every window `[start, start + sizeMs)` with
 * `start ≡ offsetMs (mod slideMs)` that contains the record's event time, so a record is in
 * `ceil(sizeMs / slideMs)` windows. Each fires when the watermark reaches its `end − 1`.
 *
 * The operator does not copy records into every window: it keeps one accumulator per key and
 * *pane* of `gcd(sizeMs, slideMs)` ms (each record touches one pane) and merges a window's panes
 * when it fires.
 *
 * @param sizeMs - window length in ms, a positive integer.
 * @param slideMs - distance between window starts in ms, a positive integer ≤ `sizeMs`.
 * @param offsetMs - grid offset in ms, an integer (default 0).
 * @throws ConfigError on a bad argument, e.g. `slideMs` greater than `sizeMs`.
 *
 * @example
 * ```ts
 * stream.keyBy('auction').window(windows.sliding(10_000, 2_000)).aggregate({ bids: agg.count() });
 * ```
 */
export function sliding(sizeMs: number, slideMs: number, offsetMs = 0): SlidingWindows {
  const what = 'windows.sliding';
  const size = positiveInteger(what, 'sizeMs', sizeMs, ' (ms)');
  const slide = positiveInteger(what, 'slideMs', slideMs, ' (ms)');
  const offset = integer(what, 'offsetMs', offsetMs);
  if (slide > size) {
    throw new ConfigError(`${what}: slideMs must not exceed sizeMs (records would fall between windows), got slideMs ${slide} > sizeMs ${size}`);
  }
  return {
    kind: 'sliding',
    sizeMs: size,
    slideMs: slide,
    offsetMs: offset,
    assign(t) {
      const out: TimeWindow[] = [];
      for (let s = alignDown(t, slide, offset); s > t - size; s -= slide) out.unshift({ start: s, end: s + size });
      return out;
    },
  };
}
