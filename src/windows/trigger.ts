import type { TimeWindow } from './time-window.js';

/**
 * What a trigger decides for one (key, window):
 * - `'continue'`: nothing now;
 * - `'fire'`: emit the window's current result and keep its contents (early or repeated firing);
 * - `'purge'`: drop the window's contents without emitting;
 * - `'fire-and-purge'`: emit, then drop the contents (the next firing starts from empty).
 *
 * Sliding windows share panes between windows, so `'purge'` and `'fire-and-purge'` are refused
 * there (the step fails naming the trigger).
 */
export type TriggerAction = 'continue' | 'fire' | 'purge' | 'fire-and-purge';

/**
 * What a trigger sees of the (key, window) it is called for. The operator reuses one context
 * object: it is valid only during the call.
 */
export interface TriggerContext {
  /** The window's key, as the key selector returned it. */
  readonly key: unknown;
  /** The window (for global windows: `{ start: -Infinity, end: Infinity }`). */
  readonly window: TimeWindow;
  /** The operator's current watermark. */
  readonly watermark: number;
  /** Current processing time in ms (a manual clock in tests). */
  now(): number;
  /**
   * One number the trigger keeps per (key, window) — a counter, a pending timer's time. Starts at
   * 0, is checkpointed with the window, is reset to 0 when the window is purged, and when session
   * windows merge becomes `mergeValues(a, b)` (default: the sum).
   */
  value: number;
  /** Ask for `onProcessingTime` for this (key, window) once processing time reaches `timeMs`. */
  registerProcessingTimer(timeMs: number): void;
}

/**
 * Decides when a window emits, in the manner of Flink's triggers. Every hook is optional; a
 * trigger with no hooks at all is the plain event-time trigger, which the operator runs on its
 * fast path (no per-record call).
 *
 * Invariants: hooks are called synchronously, one at a time, never after the job closed. A window
 * is always closed (its state dropped) when the watermark passes `end − 1 + allowedLateness`,
 * whatever the trigger says; a record arriving for a window that already fired but is not closed
 * yet (late but allowed) re-fires that window at the end of its batch without asking the trigger.
 *
 * @example
 * ```ts
 * // Fire every 10 records per key and window, and once more at the end of the window.
 * const everyTen: Trigger = {
 *   name: 'every-ten',
 *   onElement(_record, _t, ctx) {
 *     ctx.value++;
 *     if (ctx.value < 10) return 'continue';
 *     ctx.value = 0;
 *     return 'fire';
 *   },
 * };
 * ```
 */
export interface Trigger<T = any> {
  /** Shown in messages. */
  readonly name: string;
  /** A record was added to the window. Default `'continue'`. */
  onElement?(record: T, timestamp: number, ctx: TriggerContext): TriggerAction;
  /**
   * The watermark reached the window's `end − 1` (for global windows: end of input). Default
   * `'fire'`.
   */
  onEventTime?(ctx: TriggerContext): TriggerAction;
  /** A processing-time timer this trigger registered for the window is due. Default `'continue'`. */
  onProcessingTime?(timeMs: number, ctx: TriggerContext): TriggerAction;
  /** The value of a session merged from two sessions. Default `a + b`. */
  mergeValues?(a: number, b: number): number;
}

const ACTIONS = new Set<string>(['continue', 'fire', 'purge', 'fire-and-purge']);

/**
 * True when `x` is one of the four trigger actions (the operator checks what user triggers return).
 *
 * @example
 * ```ts
 * isTriggerAction('fire'); // true
 * ```
 */
export function isTriggerAction(x: unknown): x is TriggerAction {
  return typeof x === 'string' && ACTIONS.has(x);
}

/**
 * True when `x` looks like a {@link Trigger}: an object with a string `name` whose hooks, when
 * present, are functions.
 *
 * @example
 * ```ts
 * isTrigger(triggers.eventTime()); // true
 * ```
 */
export function isTrigger(x: unknown): x is Trigger {
  if (x === null || typeof x !== 'object') return false;
  const t = x as Record<string, unknown>;
  if (typeof t.name !== 'string') return false;
  for (const hook of ['onElement', 'onEventTime', 'onProcessingTime', 'mergeValues']) {
    if (t[hook] !== undefined && typeof t[hook] !== 'function') return false;
  }
  return true;
}

/**
 * True when the trigger is the plain event-time trigger: no hook at all, so the operator needs no
 * per-record or per-window trigger call.
 *
 * @example
 * ```ts
 * isPlainEventTime(triggers.eventTime()); // true
 * ```
 */
export function isPlainEventTime(t: Trigger): boolean {
  return t.onElement === undefined && t.onEventTime === undefined && t.onProcessingTime === undefined;
}
