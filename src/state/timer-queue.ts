/**
 * Event-time (or processing-time) timers of one step: (time, key, namespace) triples, each
 * registered at most once, fired in time order when the watermark passes them. A binary heap
 * ordered by time; a de-duplication index beside it.
 *
 * Two triples are the same timer when their times are equal and their keys and namespaces have
 * the same type and string form (so `1` and `'1'` differ, `0` and `-0` do not). Triples whose key
 * and namespace are both numbers (window starts, pane kinds, numeric keys) are de-duplicated in
 * nested Maps without building a string id; Map's SameValueZero equality matches the string form
 * of numbers exactly (NaN equals NaN, -0 equals 0).
 *
 * Snapshot invariant: `snapshot()` lists every registered, not yet fired timer.
 */
export class TimerQueue<K, N> {
  #heap: Array<TimerNode<K, N>> = [];
  /** Ids of timers whose key or namespace is not a number. */
  readonly #ids = new Set<string>();
  /** Timers whose key and namespace are numbers: time → key → namespaces. */
  readonly #numeric = new Map<number, Map<number, Set<number>>>();
  #numericSize = 0;

  constructor(restored?: Array<[number, K, N]>) {
    if (restored !== undefined) for (const [time, key, ns] of restored) this.register(time, key, ns);
  }

  get size(): number {
    return this.#ids.size + this.#numericSize;
  }

  static #id(time: number, key: unknown, ns: unknown): string {
    return `${time}\u0000${typeof key}:${String(key)}\u0000${typeof ns}:${String(ns)}`;
  }

  /** Register a timer; a duplicate of a pending one is ignored. */
  register(time: number, key: K, ns: N): void {
    let id: string | undefined;
    if (typeof key === 'number' && typeof ns === 'number') {
      if (!this.#addNumeric(time, key, ns)) return;
    } else {
      id = TimerQueue.#id(time, key, ns);
      if (this.#ids.has(id)) return;
      this.#ids.add(id);
    }
    const heap = this.#heap;
    heap.push({ time, key, ns, id });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent].time <= heap[i].time) break;
      [heap[parent], heap[i]] = [heap[i], heap[parent]];
      i = parent;
    }
  }

  /** Remove a pending timer (no-op when absent). */
  delete(time: number, key: K, ns: N): void {
    if (typeof key === 'number' && typeof ns === 'number') {
      if (!this.#deleteNumeric(time, key, ns)) return;
      this.#heap = this.#heap.filter((t) => !(t.id === undefined && sameNumber(t.time, time) && sameNumber(t.key as number, key) && sameNumber(t.ns as number, ns)));
    } else {
      const id = TimerQueue.#id(time, key, ns);
      if (!this.#ids.delete(id)) return;
      this.#heap = this.#heap.filter((t) => t.id !== id);
    }
    this.#heapify();
  }

  /** Time of the earliest pending timer, or +∞. */
  peekTime(): number {
    return this.#heap.length === 0 ? Number.POSITIVE_INFINITY : this.#heap[0].time;
  }

  /** Remove and return the earliest timer if its time is ≤ `upTo`. */
  pollDue(upTo: number): { time: number; key: K; ns: N } | undefined {
    const heap = this.#heap;
    if (heap.length === 0 || heap[0].time > upTo) return undefined;
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      this.#siftDown(0);
    }
    if (top.id === undefined) this.#deleteNumeric(top.time, top.key as number, top.ns as number);
    else this.#ids.delete(top.id);
    return top;
  }

  snapshot(): Array<[number, K, N]> {
    return this.#heap.map((t) => [t.time, t.key, t.ns]);
  }

  /** Index a numeric timer; false when it is already pending. */
  #addNumeric(time: number, key: number, ns: number): boolean {
    let byKey = this.#numeric.get(time);
    if (byKey === undefined) this.#numeric.set(time, (byKey = new Map()));
    let spaces = byKey.get(key);
    if (spaces === undefined) byKey.set(key, (spaces = new Set()));
    if (spaces.has(ns)) return false;
    spaces.add(ns);
    this.#numericSize++;
    return true;
  }

  /** Unindex a numeric timer; false when it was not pending. */
  #deleteNumeric(time: number, key: number, ns: number): boolean {
    const byKey = this.#numeric.get(time);
    const spaces = byKey?.get(key);
    if (spaces === undefined || !spaces.delete(ns)) return false;
    this.#numericSize--;
    if (spaces.size === 0) {
      byKey!.delete(key);
      if (byKey!.size === 0) this.#numeric.delete(time);
    }
    return true;
  }

  #heapify(): void {
    for (let i = (this.#heap.length >> 1) - 1; i >= 0; i--) this.#siftDown(i);
  }

  #siftDown(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && heap[l].time < heap[m].time) m = l;
      if (r < n && heap[r].time < heap[m].time) m = r;
      if (m === i) return;
      [heap[m], heap[i]] = [heap[i], heap[m]];
      i = m;
    }
  }
}

/** A pending timer; `id` is undefined for a timer indexed as numeric. */
interface TimerNode<K, N> {
  time: number;
  key: K;
  ns: N;
  id: string | undefined;
}

/** SameValueZero on numbers: the equality of the numbers' string forms. */
function sameNumber(a: number, b: number): boolean {
  return a === b || (a !== a && b !== b);
}
