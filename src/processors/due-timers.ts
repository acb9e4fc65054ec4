import type { TimerQueue } from '../state/timer-queue.js';

/** A timer taken out of a {@link TimerQueue}. */
export interface DueTimer<K, N> {
  readonly time: number;
  readonly key: K;
  readonly ns: N;
}

/**
 * Take every timer of the earliest due time (≤ `upTo`) out of `queue`, ordered by key then
 * namespace; an empty array when none is due.
 *
 * Why not fire in heap order: ties in a binary heap come out in an order that depends on the
 * heap's history, which a restored queue does not share, so a job restored from a checkpoint
 * could emit same-time timer output in another order than an uninterrupted run. Sorting each
 * group of equal times by key makes the order a function of the timers alone. Call it in a loop:
 * timers registered while a group fires are picked up by the next call.
 *
 * @example
 * ```ts
 * for (let due = pollDueGroup(timers, wm); due.length > 0; due = pollDueGroup(timers, wm)) for (const t of due) fire(t);
 * ```
 */
export function pollDueGroup<K, N>(queue: TimerQueue<K, N>, upTo: number): Array<DueTimer<K, N>> {
  const first = queue.pollDue(upTo);
  if (first === undefined) return [];
  const group: Array<DueTimer<K, N>> = [first];
  while (queue.peekTime() === first.time) group.push(queue.pollDue(upTo)!);
  if (group.length > 1) group.sort(compareTimers);
  return group;
}

function compareTimers<K, N>(a: DueTimer<K, N>, b: DueTimer<K, N>): number {
  return comparePrimitive(a.key, b.key) || comparePrimitive(a.ns, b.ns);
}

/** Total order on the primitive values keys may be: by type name, then by value. */
function comparePrimitive(a: unknown, b: unknown): number {
  const ta = typeof a;
  const tb = typeof b;
  if (ta !== tb) return ta < tb ? -1 : 1;
  if (a === b) return 0;
  // NaN is the only value not equal to itself; put it first among numbers.
  if (a !== a) return -1;
  if (b !== b) return 1;
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}
