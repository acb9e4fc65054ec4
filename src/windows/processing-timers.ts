import type { OperatorContext } from '../runtime/operator.js';
import { TimerQueue } from '../state/timer-queue.js';

/** A processing-time timer of a window: when, which state key, which window namespace. */
export interface DueTimer {
  readonly time: number;
  readonly key: unknown;
  readonly ns: number;
}

/**
 * The processing-time timers of a window operator's trigger: (time, key, window) entries in a
 * {@link TimerQueue}, with one clock registration per distinct time. The entries are part of the
 * operator's snapshot, and a restored operator schedules them again (the runtime's own timers do
 * not survive a restart).
 *
 * @example
 * ```ts
 * const timers = new ProcessingTimers(ctx);
 * timers.register(60_000, 'user-1', windowStart);
 * for (const t of timers.due(60_000)) console.log(t.key, t.ns);
 * ```
 */
export class ProcessingTimers {
  readonly #ctx: OperatorContext;
  #queue: TimerQueue<unknown, number>;
  readonly #scheduled = new Set<number>();

  constructor(ctx: OperatorContext, restored?: Array<[number, unknown, number]>) {
    this.#ctx = ctx;
    this.#queue = new TimerQueue(restored);
    if (restored !== undefined) for (const [time] of restored) this.#schedule(time);
  }

  get size(): number {
    return this.#queue.size;
  }

  register(timeMs: number, key: unknown, ns: number): void {
    this.#queue.register(timeMs, key, ns);
    this.#schedule(timeMs);
  }

  #schedule(timeMs: number): void {
    if (this.#scheduled.has(timeMs)) return;
    this.#scheduled.add(timeMs);
    this.#ctx.registerProcessingTimer(timeMs);
  }

  /** Remove and return every timer due at `timeMs`, earliest first. */
  due(timeMs: number): DueTimer[] {
    this.#scheduled.delete(timeMs);
    const out: DueTimer[] = [];
    for (let t = this.#queue.pollDue(timeMs); t !== undefined; t = this.#queue.pollDue(timeMs)) out.push(t);
    return out;
  }

  /** Drop every pending timer (end of input: no window is left to fire). */
  clear(): void {
    this.#queue = new TimerQueue();
    this.#scheduled.clear();
  }

  snapshot(): Array<[number, unknown, number]> {
    return this.#queue.snapshot();
  }
}
