// A deterministic Nexmark-style bid stream for window benchmarks, and helpers both sides of a
// benchmark share (source over pre-generated batches, order-independent checksum of window rows).

/** Bids per pre-generated batch. */
export const BATCH = 4096;
/** Distinct auctions (keys). */
export const KEYS = 10_000;
/** Half of all bids go to this many hot auctions. */
export const HOT = 100;
/** Event time lags arrival by up to this many ms: the bound of the watermark strategy. */
export const OUT_OF_ORDER_MS = 2000;

/**
 * `n` bids `{ auction, price, t }` in batches of {@link BATCH}: about one bid per ms of event time,
 * each bid's time up to {@link OUT_OF_ORDER_MS} behind its arrival position, half of them on
 * {@link HOT} hot auctions. xorshift32, so every run (and both implementations) see the same bids.
 */
export function generateBids(n, seed = 0x2545f491) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  const t0 = 1_700_000_000_000;
  const batches = [];
  let batch = [];
  for (let i = 0; i < n; i++) {
    const r = next();
    const auction = r & 1 ? next() % HOT : HOT + (next() % (KEYS - HOT));
    const price = 1 + (next() % 1000);
    const t = t0 + i - (next() % (OUT_OF_ORDER_MS + 1));
    batch.push({ auction, price, t });
    if (batch.length === BATCH) {
      batches.push(batch);
      batch = [];
    }
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** A bounded source handing out the pre-generated batches as they are. */
export function batchSource(batches) {
  return {
    name: 'bids',
    bounded: true,
    replayable: true,
    open(ctx) {
      let i = ctx.restored ?? 0;
      return {
        read: () => (i < batches.length ? { records: batches[i++] } : null),
        position: () => i,
      };
    },
  };
}

/**
 * An order-independent checksum of window rows `(key, start, end, n, total)`: sums of integer
 * mixes, exact in doubles for the sizes benchmarked.
 */
export class RowChecksum {
  rows = 0;
  n = 0;
  total = 0;
  mix = 0;

  add(key, start, end, n, total) {
    this.rows++;
    this.n += n;
    this.total += total;
    this.mix = (this.mix + ((key * 7919 + (start % 1_000_003) * 31 + (end % 999_983)) % 1_000_000_007) * ((n % 13) + 1)) % 1_000_000_000_000_037;
  }

  value() {
    return `${this.rows}:${this.n}:${this.total}:${this.mix}`;
  }
}

/** A sink that feeds window rows `{ key, start, end, n, total }` into a {@link RowChecksum}. */
export function checksumSink(checksum) {
  return {
    name: 'checksum',
    open: () => ({
      write(batch) {
        const rows = batch.records;
        for (let i = 0; i < rows.length; i++) {
          const r = rows[i];
          checksum.add(r.key, r.start, r.end, r.n, r.total);
        }
      },
    }),
  };
}

/** A min-heap of `{ time }` objects (the hand-written baselines' timer queue). */
export class MinHeap {
  items = [];

  get size() {
    return this.items.length;
  }

  push(item) {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p].time <= a[i].time) break;
      [a[p], a[i]] = [a[i], a[p]];
      i = p;
    }
  }

  peekTime() {
    return this.items.length === 0 ? Infinity : this.items[0].time;
  }

  pop() {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l].time < a[m].time) m = l;
        if (r < a.length && a[r].time < a[m].time) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}
