import type { TableSnapshot } from '../state/keyed-state.js';

/** Marks a deleted entry of a {@link Pane} (a key itself may be `undefined`). */
const HOLE: unique symbol = Symbol('hole');

/**
 * A sliding window's merge slot of one state key, shared by every pane holding the key: a firing
 * folds the key's pane accumulators into it, stamped with the firing, so merging needs no Map
 * lookup per (pane, key). Derived from the panes: not state.
 */
export interface Slot {
  readonly key: unknown;
  /** Live panes holding the key. */
  panes: number;
  /** The firing that last used the slot. */
  stamp: number;
  acc: unknown;
  /** True once `acc` is a fresh accumulator of this firing (not a pane's). */
  owned: boolean;
}

/**
 * The accumulators of one pane, per state key. Keys and accumulators sit in parallel arrays in
 * insertion order, with a Map from key to index: the hot path does one Map lookup per record and
 * writes the accumulator back into the array (no second lookup for a new key, no Map write for a
 * new primitive accumulator), and a firing walks the arrays without an iterator or a closure per
 * entry. Deleted entries (purging triggers, tumbling windows only) leave holes, so the order of
 * the remaining keys does not change; holes are compacted once they are half the entries.
 *
 * Invariant: `index.get(keys[i]) === i` for every `i` that is not a hole; `slots`, when present,
 * is parallel to `keys` (sliding panes never delete entries).
 */
export class Pane {
  readonly index = new Map<unknown, number>();
  readonly keys: unknown[] = [];
  readonly accs: unknown[] = [];
  /** Sliding windows only: the merge slot of each key, parallel to `keys`. */
  readonly slots: Slot[] | undefined;
  #holes = 0;

  constructor(sliding: boolean) {
    this.slots = sliding ? [] : undefined;
  }

  /** Entries held (not counting holes). */
  get size(): number {
    return this.keys.length - this.#holes;
  }

  /** True when entry `i` was deleted. */
  isHole(i: number): boolean {
    return this.keys[i] === HOLE;
  }

  /** Append a key that is not in the pane yet. */
  append(key: unknown, acc: unknown): void {
    this.index.set(key, this.keys.length);
    this.keys.push(key);
    this.accs.push(acc);
  }

  delete(key: unknown): void {
    const i = this.index.get(key);
    if (i === undefined) return;
    this.index.delete(key);
    this.keys[i] = HOLE;
    this.accs[i] = undefined;
    if (++this.#holes * 2 > this.keys.length) this.#compact();
  }

  #compact(): void {
    const { keys, accs, index } = this;
    let j = 0;
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] === HOLE) continue;
      keys[j] = keys[i];
      accs[j] = accs[i];
      index.set(keys[j], j);
      j++;
    }
    keys.length = j;
    accs.length = j;
    this.#holes = 0;
  }
}

/**
 * The pane accumulators of a pane window operator: pane start → {@link Pane}. Snapshots have the
 * {@link TableSnapshot} layout of a heap table keyed by (state key, pane start).
 *
 * @example
 * ```ts
 * const panes = new PaneTable(false);
 * panes.space(0).append('u1', 5);
 * panes.snapshot(); // [[0, [['u1', 5]]]]
 * ```
 */
export class PaneTable {
  readonly #panes = new Map<number, Pane>();
  readonly #sliding: boolean;

  constructor(sliding: boolean, restored?: TableSnapshot<unknown, number, unknown>) {
    this.#sliding = sliding;
    if (restored !== undefined) {
      for (const [p, entries] of restored) {
        const pane = this.space(p);
        for (const [key, acc] of entries) {
          const i = pane.index.get(key);
          if (i === undefined) pane.append(key, acc);
          else pane.accs[i] = acc;
        }
      }
    }
  }

  /** Entries held over every pane. */
  get size(): number {
    let size = 0;
    for (const pane of this.#panes.values()) size += pane.size;
    return size;
  }

  /** The pane starting at `p`, or `undefined`. */
  get(p: number): Pane | undefined {
    return this.#panes.get(p);
  }

  /** The pane starting at `p`, created when absent. */
  space(p: number): Pane {
    let pane = this.#panes.get(p);
    if (pane === undefined) {
      pane = new Pane(this.#sliding);
      this.#panes.set(p, pane);
    }
    return pane;
  }

  /** Pane starts, in creation order. */
  starts(): IterableIterator<number> {
    return this.#panes.keys();
  }

  drop(p: number): void {
    this.#panes.delete(p);
  }

  /** Copy of every entry (accumulators by reference: the caller deep-copies), panes with none left out. */
  snapshot(): TableSnapshot<unknown, number, unknown> {
    const out: TableSnapshot<unknown, number, unknown> = [];
    for (const [p, pane] of this.#panes) {
      if (pane.size === 0) continue;
      const entries: Array<[unknown, unknown]> = [];
      for (let i = 0; i < pane.keys.length; i++) if (!pane.isHole(i)) entries.push([pane.keys[i], pane.accs[i]]);
      out.push([p, entries]);
    }
    return out;
  }
}
