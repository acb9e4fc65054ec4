/**
 * Event-time (or processing-time) timers of one step: (time, key, namespace) triples, each
 * registered at most once, fired in time order when the watermark passes them. A binary heap
 * ordered by time; a Map de-duplicates registrations.
 *
 * Snapshot invariant: `snapshot()` lists every registered, not yet fired timer.
 */
export class TimerQueue<K, N> {
  #heap: Array<{ time: number; key: K; ns: N; id: string }> = [];
  readonly #ids = new Set<string>();

  constructor(restored?: Array<[number, K, N]>) {
    if (restored !== undefined) for (const [time, key, ns] of restored) this.register(time, key, ns);
  }

  get size(): number {
    return this.#ids.size;
  }

  static #id(time: number, key: unknown, ns: unknown): string {
    return `${time}\u0000${typeof key}:${String(key)}\u0000${typeof ns}:${String(ns)}`;
  }

  /** Register a timer; a duplicate of a pending one is ignored. */
  register(time: number, key: K, ns: N): void {
    const id = TimerQueue.#id(time, key, ns);
    if (this.#ids.has(id)) return;
    this.#ids.add(id);
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
    const id = TimerQueue.#id(time, key, ns);
    if (!this.#ids.delete(id)) return;
    this.#heap = this.#heap.filter((t) => t.id !== id);
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
    this.#ids.delete(top.id);
    return top;
  }

  snapshot(): Array<[number, K, N]> {
    return this.#heap.map((t) => [t.time, t.key, t.ns]);
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
