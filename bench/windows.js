// Window benchmarks on a Nexmark-style bid stream (10,000 auctions, half the bids on 100 hot ones,
// ~1 bid per ms of event time, up to 2 s out of order; watermark = boundedOutOfOrderness(2000)):
//   windows-tumbling  10 s tumbling windows, count + sum(price) per auction
//   windows-sliding   10 s windows sliding by 2 s, count + sum(price) per auction
//   windows-session   1 s-gap sessions per auction, count + sum(price)
// Each case runs weir (public builder API, a source handing out pre-generated batches of 4096, a
// checksum sink) against a hand-written plain-JS loop computing the same rows with the same
// watermark-driven firing; the harness checks both checksums agree.
//
//   npm run build && node bench/windows.js [case…] [--events N] [--repeat N] [--prof]   (default 1e6 events)
//   (also run by the harness: npm run bench -- windows-tumbling windows-sliding windows-session)
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { agg, pipeline, watermarks, windows } from '../dist/index.js';
import { MinHeap, OUT_OF_ORDER_MS, RowChecksum, batchSource, checksumSink, generateBids } from './lib/bids.js';

const SIZE_MS = 10_000;
const SLIDE_MS = 2_000;
const GAP_MS = 1_000;

/** The weir job of every case: bids → keyBy(auction) → window → { n, total } → checksum. */
async function runWeir(name, assigner, batches) {
  const checksum = new RowChecksum();
  await pipeline(name)
    .source(batchSource(batches), { timestamp: 't', watermark: watermarks.boundedOutOfOrderness(OUT_OF_ORDER_MS) })
    .keyBy('auction')
    .window(assigner)
    .aggregate({ n: agg.count(), total: agg.sum('price') })
    .sink(checksumSink(checksum))
    .run({ batchSize: 4096, args: [], handleSignals: false });
  return checksum.value();
}

/** The source's watermark after a batch whose largest event time so far is `maxT`. */
const watermarkFor = (maxT) => maxT - OUT_OF_ORDER_MS - 1;

/** Floored modulo alignment (negative-safe). */
const alignDown = (t, step) => t - (((t % step) + step) % step);

function tumblingBaseline(batches) {
  const checksum = new RowChecksum();
  const open = new Map(); // window start → Map<auction, { n, total }>
  let cachedStart = Number.NaN;
  let cached;
  let maxT = -Infinity;
  let wm = -Infinity;
  let late = 0;
  const fire = (upTo) => {
    const due = [...open.keys()].filter((s) => s + SIZE_MS - 1 <= upTo).sort((a, b) => a - b);
    for (const s of due) {
      for (const [auction, a] of open.get(s)) checksum.add(auction, s, s + SIZE_MS, a.n, a.total);
      open.delete(s);
    }
    cachedStart = Number.NaN;
  };
  for (const batch of batches) {
    for (let i = 0; i < batch.length; i++) {
      const bid = batch[i];
      const t = bid.t;
      if (t > maxT) maxT = t;
      const s = alignDown(t, SIZE_MS);
      if (s !== cachedStart) {
        if (s + SIZE_MS - 1 <= wm) {
          late++;
          continue;
        }
        cached = open.get(s);
        if (cached === undefined) open.set(s, (cached = new Map()));
        cachedStart = s;
      }
      const a = cached.get(bid.auction);
      if (a === undefined) cached.set(bid.auction, { n: 1, total: bid.price });
      else {
        a.n++;
        a.total += bid.price;
      }
    }
    const w = watermarkFor(maxT);
    if (w > wm) {
      wm = w;
      fire(wm);
    }
  }
  fire(Infinity);
  if (late > 0) throw new Error(`tumbling baseline: ${late} late bids (the generator should produce none)`);
  return checksum.value();
}

function slidingBaseline(batches) {
  // Panes of 2 s; a window merges its 5 panes when the watermark passes its end − 1.
  const checksum = new RowChecksum();
  const panes = new Map(); // pane start → Map<auction, { n, total }>
  let cachedStart = Number.NaN;
  let cached;
  let maxT = -Infinity;
  let wm = -Infinity;
  let nextStart = Number.NaN; // smallest window start not fired yet
  const fire = (upTo) => {
    if (panes.size === 0) return;
    let minPane = Infinity;
    for (const p of panes.keys()) if (p < minPane) minPane = p;
    let s = Math.max(Number.isNaN(nextStart) ? -Infinity : nextStart, minPane - SIZE_MS + SLIDE_MS);
    for (; s + SIZE_MS - 1 <= upTo && panes.size > 0; s += SLIDE_MS) {
      const merged = new Map();
      for (let p = s; p < s + SIZE_MS; p += SLIDE_MS) {
        const pane = panes.get(p);
        if (pane === undefined) continue;
        for (const [auction, a] of pane) {
          const m = merged.get(auction);
          if (m === undefined) merged.set(auction, { n: a.n, total: a.total });
          else {
            m.n += a.n;
            m.total += a.total;
          }
        }
      }
      for (const [auction, m] of merged) checksum.add(auction, s, s + SIZE_MS, m.n, m.total);
      panes.delete(s); // no later window holds the pane starting at s
    }
    nextStart = s;
    cachedStart = Number.NaN;
  };
  for (const batch of batches) {
    for (let i = 0; i < batch.length; i++) {
      const bid = batch[i];
      const t = bid.t;
      if (t > maxT) maxT = t;
      const p = alignDown(t, SLIDE_MS);
      if (p !== cachedStart) {
        cached = panes.get(p);
        if (cached === undefined) panes.set(p, (cached = new Map()));
        cachedStart = p;
      }
      const a = cached.get(bid.auction);
      if (a === undefined) cached.set(bid.auction, { n: 1, total: bid.price });
      else {
        a.n++;
        a.total += bid.price;
      }
    }
    const w = watermarkFor(maxT);
    if (w > wm) {
      wm = w;
      fire(wm);
    }
  }
  fire(Infinity);
  return checksum.value();
}

function sessionBaseline(batches) {
  // Per auction a sorted array of sessions; a timer heap fires them at end − 1 (lazily re-armed
  // when a session grew, ignored when it was merged away).
  const checksum = new RowChecksum();
  const byKey = new Map(); // auction → [{ start, end, n, total, timerAt, dead }]
  const timers = new MinHeap();
  let maxT = -Infinity;
  let wm = -Infinity;
  const fire = (upTo) => {
    while (timers.size > 0 && timers.peekTime() <= upTo) {
      const { time, auction, s } = timers.pop();
      if (s.dead || s.timerAt !== time) continue;
      if (s.end - 1 > upTo) {
        s.timerAt = s.end - 1;
        timers.push({ time: s.timerAt, auction, s });
        continue;
      }
      checksum.add(auction, s.start, s.end, s.n, s.total);
      s.dead = true;
      const list = byKey.get(auction);
      list.splice(list.indexOf(s), 1);
      if (list.length === 0) byKey.delete(auction);
    }
  };
  for (const batch of batches) {
    for (let i = 0; i < batch.length; i++) {
      const { auction, price, t } = batch[i];
      if (t > maxT) maxT = t;
      const hi = t + GAP_MS;
      let list = byKey.get(auction);
      if (list === undefined) byKey.set(auction, (list = []));
      let j = list.length;
      while (j > 0 && list[j - 1].end >= t) j--;
      let k = j;
      while (k < list.length && list[k].start <= hi) k++;
      let s;
      if (j === k) {
        if (hi - 1 <= wm) throw new Error('session baseline: a late bid (the generator should produce none)');
        s = { start: t, end: hi, n: 0, total: 0, timerAt: hi - 1, dead: false };
        list.splice(j, 0, s);
        timers.push({ time: s.timerAt, auction, s });
      } else {
        s = list[j];
        for (let m = j + 1; m < k; m++) {
          const o = list[m];
          s.n += o.n;
          s.total += o.total;
          if (o.end > s.end) s.end = o.end;
          o.dead = true;
        }
        list.splice(j + 1, k - j - 1);
        if (t < s.start) s.start = t;
        if (hi > s.end) s.end = hi;
      }
      s.n++;
      s.total += price;
    }
    const w = watermarkFor(maxT);
    if (w > wm) {
      wm = w;
      fire(wm);
    }
  }
  fire(Infinity);
  return checksum.value();
}

export const cases = {
  'windows-tumbling': {
    defaultEvents: 1e6,
    target: { minEventsPerSec: 7e6 },
    prepare: (n) => generateBids(n),
    weir: (_n, batches) => runWeir('bench-tumbling', windows.tumbling(SIZE_MS), batches),
    baseline: (_n, batches) => tumblingBaseline(batches),
  },
  'windows-sliding': {
    defaultEvents: 1e6,
    target: { minEventsPerSec: 3e6 },
    prepare: (n) => generateBids(n),
    weir: (_n, batches) => runWeir('bench-sliding', windows.sliding(SIZE_MS, SLIDE_MS), batches),
    baseline: (_n, batches) => slidingBaseline(batches),
  },
  'windows-session': {
    defaultEvents: 1e6,
    prepare: (n) => generateBids(n),
    weir: (_n, batches) => runWeir('bench-session', windows.session(GAP_MS), batches),
    baseline: (_n, batches) => sessionBaseline(batches),
  },
};

// Run directly: each implementation of each case in a fresh process (bench/lib/child.js, as the
// harness does), checksums compared, events/s, ratio and peak RSS printed. Only this module's
// cases are loaded, so other benchmark modules do not need to import cleanly.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const here = dirname(fileURLToPath(import.meta.url));
  const args = process.argv.slice(2);
  let events = 1e6;
  let repeat = 1;
  let prof = false;
  const only = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--events') events = Number(args[++i]);
    else if (args[i] === '--repeat') repeat = Number(args[++i]);
    else if (args[i] === '--prof') prof = true;
    else if (args[i].startsWith('--')) throw new Error(`bench/windows.js: unknown flag ${args[i]}`);
    else only.push(args[i]);
  }
  if (!(Number.isFinite(events) && events > 0)) throw new Error('bench/windows.js: --events must be a positive number');
  const measure = (name, impl) => {
    let best;
    for (let r = 0; r < repeat; r++) {
      const extra = prof && impl === 'weir' ? ['--prof', join(here, 'results', `${name}.cpuprofile`)] : [];
      const out = execFileSync(process.execPath, [join(here, 'lib', 'child.js'), fileURLToPath(import.meta.url), name, impl, String(Math.round(events)), ...extra], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const result = JSON.parse(out.trim().split('\n').pop());
      if (best === undefined || result.ms < best.ms) best = result;
    }
    return best;
  };
  const fmt = (v) => `${(v / 1e6).toFixed(2)}M`;
  console.log(['case', 'events', 'weir ev/s', 'baseline ev/s', 'ratio', 'weir RSS MB', 'baseline RSS MB', 'result'].join('\t'));
  let failed = false;
  for (const name of Object.keys(cases)) {
    if (only.length > 0 && !only.includes(name)) continue;
    const baseline = measure(name, 'baseline');
    const weir = measure(name, 'weir');
    const agree = baseline.checksum === weir.checksum;
    failed ||= !agree;
    console.log(
      [
        name,
        fmt(events),
        fmt((events / weir.ms) * 1000),
        fmt((events / baseline.ms) * 1000),
        (weir.ms / baseline.ms).toFixed(2),
        Math.round(weir.maxRssMb),
        Math.round(baseline.maxRssMb),
        agree ? 'ok' : `MISMATCH ${weir.checksum} vs ${baseline.checksum}`,
      ].join('\t'),
    );
  }
  if (failed) process.exit(1);
}
