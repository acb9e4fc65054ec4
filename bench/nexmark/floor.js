// The floor of a batch-at-a-time engine on the stateless Nexmark queries q0 (pass-through), q1
// (currency map) and q2 (selection): the same work weir's design must do, hand-written, with no
// engine around it (no streams, counters, error policies, checkpoints), against the harness's plain
// loop. The floor takes 4096-event slices of the input, reads every event's timestamp (the source
// stamps records and tracks the maximum for the watermark), runs the filter and map into an output
// batch, and hands that batch to the sink, which folds it. Variant "stamp fused" reads the
// timestamp in the filter/map loop instead of a pass of its own.
//
// Why: the plain loop never materializes the mapped object (V8 replaces it by its fields: nothing
// escapes the loop), while any engine handing batches from operator to sink has to allocate it,
// store it and read it back. If the floor is already more than 1.5× the plain loop, no tuning of
// weir's runtime reaches the "within 1.5×" target; only compiling source, chain and sink into one
// loop would.
//
//   npm run build && node bench/nexmark/floor.js [--events N] [--repeat N]   (default 5e6, best of 3)
import { cases } from './cases.js';

const BATCH = 4096;
const args = process.argv.slice(2);
let events = 5e6;
let repeat = 3;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--events') events = Number(args[++i]);
  else if (args[i] === '--repeat') repeat = Number(args[++i]);
  else throw new Error(`bench/nexmark/floor.js: unknown argument ${args[i]}`);
}
if (!(Number.isFinite(events) && events > 0)) throw new Error('bench/nexmark/floor.js: --events must be a positive number');
if (!(Number.isInteger(repeat) && repeat > 0)) throw new Error('bench/nexmark/floor.js: --repeat must be a positive integer');

// The queries' functions, as in cases.js.
const queries = {
  q0: {
    filter: (e) => e.kind === 'bid',
    map: (b) => ({ auction: b.auction, bidder: b.bidder, price: b.price, t: b.t }),
  },
  q1: {
    filter: (e) => e.kind === 'bid',
    map: (b) => ({ auction: b.auction, bidder: b.bidder, price: Math.round(b.price * 0.908), t: b.t }),
  },
  q2: {
    filter: (e) => e.kind === 'bid' && e.auction % 123 === 0,
    map: (b) => ({ auction: b.auction, price: b.price }),
  },
};

/** Slice → stamp → filter/map into an output batch → fold; the checksum of cases.js's numericSink. */
function floor(input, { filter, map }, fusedStamp) {
  const state = { count: 0, sum: 0 };
  let watermark = Number.NEGATIVE_INFINITY;
  for (let from = 0; from < input.length; from += BATCH) {
    const records = input.slice(from, from + BATCH);
    const n = records.length;
    const outRecords = [];
    const outTimes = [];
    let max = Number.NEGATIVE_INFINITY;
    if (fusedStamp) {
      for (let i = 0; i < n; i++) {
        const r = records[i];
        const t = r.t;
        if (typeof t !== 'number' || t !== t) throw new TypeError('timestamp must be a number');
        if (t > max) max = t;
        if (!filter(r)) continue;
        outRecords.push(map(r));
        outTimes.push(t);
      }
    } else {
      const times = new Array(n);
      for (let i = 0; i < n; i++) {
        const t = records[i].t;
        if (typeof t !== 'number' || t !== t) throw new TypeError('timestamp must be a number');
        times[i] = t;
        if (t > max) max = t;
      }
      for (let i = 0; i < n; i++) {
        const r = records[i];
        if (!filter(r)) continue;
        outRecords.push(map(r));
        outTimes.push(times[i]);
      }
    }
    if (max - 2001 > watermark) watermark = max - 2001;
    for (let i = 0; i < outRecords.length; i++) {
      const r = outRecords[i];
      state.count++;
      state.sum = (state.sum + r.auction * 31 + (r.bidder ?? 0) * 17 + r.price) % 4294967296;
    }
  }
  return `${state.count}:${state.sum}`;
}

const input = await cases.q0.prepare(events);
const best = (fn) => {
  let ms = Number.POSITIVE_INFINITY;
  let result;
  for (let r = 0; r < repeat; r++) {
    const start = performance.now();
    result = fn();
    ms = Math.min(ms, performance.now() - start);
  }
  return { ms, result };
};
const rate = (ms) => `${((events / ms) * 1000 / 1e6).toFixed(1)}M`;
console.log(['query', 'events', 'plain loop ev/s', 'floor ev/s', 'floor ratio', 'stamp fused ev/s', 'stamp fused ratio', 'result'].join('\t'));
let failed = false;
for (const [name, q] of Object.entries(queries)) {
  const plain = best(() => cases[name].baseline(events, input));
  const separate = best(() => floor(input, q, false));
  const fused = best(() => floor(input, q, true));
  const agree = plain.result === separate.result && plain.result === fused.result;
  failed ||= !agree;
  console.log(
    [
      name,
      `${(events / 1e6).toFixed(2)}M`,
      rate(plain.ms),
      rate(separate.ms),
      (separate.ms / plain.ms).toFixed(2),
      rate(fused.ms),
      (fused.ms / plain.ms).toFixed(2),
      agree ? 'ok' : `MISMATCH ${separate.result} / ${fused.result} vs ${plain.result}`,
    ].join('\t'),
  );
}
if (failed) process.exit(1);
