import { ConfigError } from './errors.js';

/**
 * How a source derives watermarks from the event times it sees, per split.
 * The runtime keeps one generator per split and emits the minimum over active splits.
 */
export interface WatermarkStrategy {
  /** Watermark for a split whose largest event time so far is `maxTimestamp` (−∞ before any record). */
  watermarkFor(maxTimestamp: number): number;
  /**
   * A split that produced nothing for this many ms of processing time is idle and no longer holds
   * the source's watermark back. `undefined`: splits never go idle.
   */
  readonly idleMs: number | undefined;
}

/** Options every watermark strategy takes. */
export interface WatermarkOptions {
  /** Idleness timeout in ms: an idle split stops holding the watermark back. */
  idleMs?: number;
}

function checkIdle(options: WatermarkOptions | undefined, what: string): number | undefined {
  const idleMs = options?.idleMs;
  if (idleMs !== undefined && !(Number.isFinite(idleMs) && idleMs > 0)) {
    throw new ConfigError(`${what}: idleMs must be a positive number of milliseconds, got ${String(idleMs)}`);
  }
  return idleMs;
}

/**
 * Records arrive at most `maxOutOfOrdernessMs` late: watermark = max event time − bound − 1.
 *
 * @example
 * ```ts
 * pipeline('j').source(src, { timestamp: 't', watermark: watermarks.boundedOutOfOrderness(2000) });
 * ```
 */
export function boundedOutOfOrderness(maxOutOfOrdernessMs: number, options?: WatermarkOptions): WatermarkStrategy {
  if (!(Number.isFinite(maxOutOfOrdernessMs) && maxOutOfOrdernessMs >= 0)) {
    throw new ConfigError(
      `watermarks.boundedOutOfOrderness: maxOutOfOrdernessMs must be a non-negative number of milliseconds, got ${String(maxOutOfOrdernessMs)}`,
    );
  }
  const idleMs = checkIdle(options, 'watermarks.boundedOutOfOrderness');
  return { watermarkFor: (max) => max - maxOutOfOrdernessMs - 1, idleMs };
}

/** Event times never decrease within a split: watermark = max event time − 1. */
export function monotonous(options?: WatermarkOptions): WatermarkStrategy {
  const idleMs = checkIdle(options, 'watermarks.monotonous');
  return { watermarkFor: (max) => max - 1, idleMs };
}
