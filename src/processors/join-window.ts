import { ConfigError, show } from '../runtime/errors.js';

/**
 * Windows of a window join: tumbling (`{ sizeMs }`) or sliding (`{ sizeMs, slideMs }`), aligned
 * to `offsetMs` (default 0) from the epoch. Window `[start, start + sizeMs)` exists for every
 * `start ≡ offsetMs (mod slideMs)`.
 *
 * Any object with these fields is accepted, so tumbling and sliding assigners that expose them
 * (`sizeMs`, `slideMs`, `offsetMs`) can be passed as they are. An object whose `kind` names
 * another assigner (session, count, global) is refused: those windows are not defined by time
 * alone on both sides.
 */
export interface JoinWindowSpec {
  readonly sizeMs: number;
  /** Default: `sizeMs` (tumbling). */
  readonly slideMs?: number;
  /** Default: 0. */
  readonly offsetMs?: number;
  /** Name of the assigner kind, when the object is an assigner (`'tumbling'`, `'sliding'`). */
  readonly kind?: string;
}

/** A time window `[start, end)` in ms, as handed to the window join function. */
export interface JoinWindow {
  readonly start: number;
  readonly end: number;
}

/** Windows with every field resolved. */
export interface ResolvedJoinWindows {
  readonly sizeMs: number;
  readonly slideMs: number;
  readonly offsetMs: number;
}

const KINDS = new Set(['tumbling', 'sliding', 'tumbling-event-time', 'sliding-event-time']);

/**
 * Validate a window-join spec; throws a {@link ConfigError} naming `what`, the field and the value.
 *
 * @example
 * ```ts
 * checkJoinWindows({ sizeMs: 60_000, slideMs: 10_000 }, 'windowJoin'); // { sizeMs: 60000, slideMs: 10000, offsetMs: 0 }
 * ```
 */
export function checkJoinWindows(spec: unknown, what: string): ResolvedJoinWindows {
  if (spec === null || typeof spec !== 'object') {
    throw new ConfigError(`${what}: expected tumbling or sliding windows ({ sizeMs, slideMs?, offsetMs? }), got ${show(spec)}`);
  }
  const { sizeMs, slideMs = sizeMs, offsetMs = 0, kind } = spec as Partial<JoinWindowSpec>;
  if (kind !== undefined && !KINDS.has(kind)) {
    throw new ConfigError(`${what}: only tumbling and sliding windows can join two streams, got ${show(kind)} windows`);
  }
  for (const [field, value] of [['sizeMs', sizeMs], ['slideMs', slideMs]] as const) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new ConfigError(`${what}: ${field} must be a positive number of ms, got ${show(value)}`);
    }
  }
  if (typeof offsetMs !== 'number' || !Number.isFinite(offsetMs)) {
    throw new ConfigError(`${what}: offsetMs must be a finite number of ms, got ${show(offsetMs)}`);
  }
  return { sizeMs: sizeMs!, slideMs: slideMs!, offsetMs };
}

/**
 * Start of the latest window (of `windows`) that contains `t`; earlier ones start every
 * `slideMs` before it while `start > t − sizeMs`.
 */
export function lastWindowStart(t: number, windows: ResolvedJoinWindows): number {
  const slide = windows.slideMs;
  const rem = (t - windows.offsetMs) % slide;
  return t - (rem < 0 ? rem + slide : rem);
}
