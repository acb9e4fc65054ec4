import { ConfigError, show } from '../runtime/errors.js';
import { isTriggerAction, type Trigger, type TriggerAction, type TriggerContext } from './trigger.js';

/**
 * The one mutable {@link TriggerContext} a window operator hands its trigger: the operator points
 * it at a (key, window) before each call (no allocation per call) and reads `value` back after.
 *
 * @example
 * ```ts
 * const scope = new TriggerScope(() => ctx.now(), (t, key, ns) => timers.register(t, key, ns));
 * scope.set('u1', 'u1', 0, 60_000, 0, watermark, 0);
 * const action = trigger.onElement?.(record, 42, scope);
 * ```
 */
export class TriggerScope implements TriggerContext {
  key: unknown = undefined;
  /** The state key of `key` (its JSON for object keys), for timers. */
  stateKey: unknown = undefined;
  readonly window = { start: 0, end: 0 };
  watermark = Number.NEGATIVE_INFINITY;
  value = 0;
  readonly #now: () => number;
  readonly #register: (timeMs: number, stateKey: unknown, ns: number) => void;
  /** Namespace of the window for processing timers (its start, or a session's id). */
  ns = 0;

  constructor(now: () => number, register: (timeMs: number, stateKey: unknown, ns: number) => void) {
    this.#now = now;
    this.#register = register;
  }

  /** Point the scope at one (key, window) with its stored trigger value. */
  set(key: unknown, stateKey: unknown, start: number, end: number, ns: number, watermark: number, value: number): void {
    this.key = key;
    this.stateKey = stateKey;
    this.window.start = start;
    this.window.end = end;
    this.ns = ns;
    this.watermark = watermark;
    this.value = value;
  }

  now(): number {
    return this.#now();
  }

  registerProcessingTimer(timeMs: number): void {
    if (typeof timeMs !== 'number' || Number.isNaN(timeMs)) {
      throw new TypeError(`registerProcessingTimer: timeMs must be a number, got ${show(timeMs)}`);
    }
    this.#register(timeMs, this.stateKey, this.ns);
  }
}

/**
 * Check what a trigger hook returned; a missing hook's default is `fallback`.
 *
 * @throws ConfigError naming the step and the trigger when the result is not a {@link TriggerAction}.
 *
 * @example
 * ```ts
 * const action = checkAction(trigger.onEventTime?.(scope) ?? 'fire', trigger, 'onEventTime', 'per-minute');
 * ```
 */
export function checkAction(result: unknown, trigger: Trigger, hook: string, step: string): TriggerAction {
  if (isTriggerAction(result)) return result;
  throw new ConfigError(
    `window "${step}": trigger "${trigger.name}" ${hook} must return 'continue', 'fire', 'purge' or 'fire-and-purge', got ${show(result)}`,
    { step },
  );
}
