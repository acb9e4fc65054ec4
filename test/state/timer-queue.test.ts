import { describe, expect, it } from 'vitest';
import { TimerQueue } from '../../src/state/timer-queue.js';

/** Poll every timer due by `upTo`, in order. */
function drain<K, N>(q: TimerQueue<K, N>, upTo = Number.POSITIVE_INFINITY): Array<[number, K, N]> {
  const out: Array<[number, K, N]> = [];
  for (let t = q.pollDue(upTo); t !== undefined; t = q.pollDue(upTo)) out.push([t.time, t.key, t.ns]);
  return out;
}

describe('TimerQueue', () => {
  it('fires in time order and only what is due', () => {
    const q = new TimerQueue<string, number>();
    q.register(30, 'a', 0);
    q.register(10, 'b', 0);
    q.register(20, 'c', 1);
    expect(q.peekTime()).toBe(10);
    expect(drain(q, 20)).toEqual([
      [10, 'b', 0],
      [20, 'c', 1],
    ]);
    expect(q.size).toBe(1);
    expect(drain(q)).toEqual([[30, 'a', 0]]);
    expect(q.peekTime()).toBe(Number.POSITIVE_INFINITY);
  });

  it('ignores duplicates of pending timers, numeric and not, and accepts them again once fired', () => {
    const q = new TimerQueue<unknown, unknown>();
    q.register(5, 1, 2);
    q.register(5, 1, 2);
    q.register(5, -0, 2);
    q.register(5, 0, 2);
    q.register(5, Number.NaN, 2);
    q.register(5, Number.NaN, 2);
    q.register(5, 'k', 2);
    q.register(5, 'k', 2);
    expect(q.size).toBe(4);
    expect(drain(q).length).toBe(4);
    q.register(5, 1, 2);
    expect(q.size).toBe(1);
  });

  it('keeps a number and its string form apart', () => {
    const q = new TimerQueue<unknown, unknown>();
    q.register(1, 1, 0);
    q.register(1, '1', 0);
    q.register(1, 1, '0');
    expect(q.size).toBe(3);
  });

  it('deletes pending timers of either kind', () => {
    const q = new TimerQueue<unknown, number>();
    for (let i = 0; i < 20; i++) q.register(i, i % 2 === 0 ? i : `k${i}`, 7);
    q.delete(4, 4, 7);
    q.delete(5, 'k5', 7);
    q.delete(6, 6, 8); // absent: no-op
    expect(q.size).toBe(18);
    const fired = drain(q).map(([time]) => time);
    expect(fired).toEqual([...Array(20).keys()].filter((i) => i !== 4 && i !== 5));
    expect(q.size).toBe(0);
  });

  it('snapshots every pending timer and restores from it', () => {
    const q = new TimerQueue<unknown, number>();
    q.register(3, 'a', 1);
    q.register(1, 2, 1);
    q.register(2, 2, 1);
    drain(q, 1);
    const restored = new TimerQueue<unknown, number>(structuredClone(q.snapshot()));
    expect(restored.size).toBe(2);
    restored.register(2, 2, 1);
    expect(drain(restored)).toEqual([
      [2, 2, 1],
      [3, 'a', 1],
    ]);
  });

  it('matches a reference on random operations', () => {
    let x = 12345;
    const rnd = (n: number): number => {
      x = (x * 1103515245 + 12345) % 2147483648;
      return x % n;
    };
    const q = new TimerQueue<unknown, unknown>();
    const ref = new Map<string, [number, unknown, unknown]>();
    const id = (t: number, k: unknown, n: unknown): string => `${t}|${typeof k}:${String(k)}|${typeof n}:${String(n)}`;
    const pick = (): unknown => [0, 1, 2, '1', 'a', -0][rnd(6)];
    for (let step = 0; step < 3000; step++) {
      const op = rnd(10);
      const t = rnd(50);
      const k = pick();
      const n = pick();
      if (op < 6) {
        q.register(t, k, n);
        if (!ref.has(id(t, k, n))) ref.set(id(t, k, n), [t, k, n]);
      } else if (op < 8) {
        q.delete(t, k, n);
        ref.delete(id(t, k, n));
      } else {
        const upTo = rnd(50);
        const got = drain(q, upTo).map(([tt, kk, nn]) => id(tt, kk, nn));
        const want = [...ref.entries()].filter(([, [tt]]) => tt <= upTo);
        expect(got.sort()).toEqual(want.map(([key]) => key).sort());
        for (const [key] of want) ref.delete(key);
      }
      expect(q.size).toBe(ref.size);
    }
  });
});
