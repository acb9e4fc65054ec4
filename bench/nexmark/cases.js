// Nexmark queries in weir (public builder API) and, for each, a hand-written plain-JS
// implementation computing the same result over the same events. The harness (bench/run.js)
// runs both and fails if their checksums differ.
//   npm run bench -- q5 --events 5e6
import { pipeline, sources, windows, agg, watermarks } from '../../dist/index.js';
import { memorySource, foldSink, multisetChecksum } from '../lib/memory-source.js';
import { makeNexmarkEvent, DEFAULT_CONFIG } from './generator.js';

const SEED = 42;
const OOO_MS = DEFAULT_CONFIG.outOfOrderMs;
const RUN = { batchSize: 4096, args: [] };

/** Generate the events once per process (untimed). */
async function prepare(n) {
  const reader = await sources.generator({ seed: SEED, count: n, make: (i, rng) => makeNexmarkEvent(i, rng) }).open({
    job: 'nexmark', name: 'gen', signal: new AbortController().signal, restored: undefined, now: Date.now,
  });
  const events = new Array(n);
  let k = 0;
  for (let chunk = reader.read(65536); chunk !== null; chunk = reader.read(65536)) for (const e of chunk.records) events[k++] = e;
  return events;
}

function source(p, events) {
  return p.source(memorySource(events), { name: 'events', timestamp: 't', watermark: watermarks.boundedOutOfOrderness(OOO_MS) });
}

async function runWeir(build) {
  const sum = multisetChecksum();
  const p = pipeline('nexmark');
  build(p).sink(foldSink(sum, (s, r) => s.add(r)));
  await p.run(RUN);
  return sum.toString();
}

/** A cheap order-independent checksum for the stateless queries, whose output is large. */
function numericSink(state) {
  return foldSink(state, (st, r) => {
    st.count++;
    st.sum = (st.sum + r.auction * 31 + (r.bidder ?? 0) * 17 + r.price) % 4294967296;
  });
}

async function runWeirNumeric(build) {
  const state = { count: 0, sum: 0 };
  const p = pipeline('nexmark');
  build(p).sink(numericSink(state));
  await p.run(RUN);
  return `${state.count}:${state.sum}`;
}

function checksumOf(rows) {
  const sum = multisetChecksum();
  for (const r of rows) sum.add(r);
  return sum.toString();
}

/** Tumbling/sliding window start for time t. */
const windowStart = (t, size) => t - (((t % size) + size) % size);

export const cases = {
  // q0: pass-through of bids (projection).
  q0: {
    defaultEvents: 1e6,
    target: { minEventsPerSec: 10e6, maxRatio: 1.5 },
    prepare,
    weir: (n, events) =>
      runWeirNumeric((p) => source(p, events).filter((e) => e.kind === 'bid').map((b) => ({ auction: b.auction, bidder: b.bidder, price: b.price, t: b.t }))),
    baseline(n, events) {
      let count = 0;
      let sum = 0;
      for (let i = 0; i < events.length; i++) {
        const e = events[i];
        if (e.kind !== 'bid') continue;
        const r = { auction: e.auction, bidder: e.bidder, price: e.price, t: e.t };
        count++;
        sum = (sum + r.auction * 31 + r.bidder * 17 + r.price) % 4294967296;
      }
      return `${count}:${sum}`;
    },
  },

  // q1: currency conversion of bid prices (dollars → euro cents, rounded).
  q1: {
    defaultEvents: 1e6,
    target: { minEventsPerSec: 10e6, maxRatio: 1.5 },
    prepare,
    weir: (n, events) =>
      runWeirNumeric((p) =>
        source(p, events)
          .filter((e) => e.kind === 'bid')
          .map((b) => ({ auction: b.auction, bidder: b.bidder, price: Math.round(b.price * 0.908), t: b.t })),
      ),
    baseline(n, events) {
      let count = 0;
      let sum = 0;
      for (let i = 0; i < events.length; i++) {
        const e = events[i];
        if (e.kind !== 'bid') continue;
        const r = { auction: e.auction, bidder: e.bidder, price: Math.round(e.price * 0.908), t: e.t };
        count++;
        sum = (sum + r.auction * 31 + r.bidder * 17 + r.price) % 4294967296;
      }
      return `${count}:${sum}`;
    },
  },

  // q2: selection: bids on every 123rd auction.
  q2: {
    defaultEvents: 1e6,
    target: { minEventsPerSec: 10e6, maxRatio: 1.5 },
    prepare,
    weir: (n, events) =>
      runWeirNumeric((p) =>
        source(p, events)
          .filter((e) => e.kind === 'bid' && e.auction % 123 === 0)
          .map((b) => ({ auction: b.auction, price: b.price })),
      ),
    baseline(n, events) {
      let count = 0;
      let sum = 0;
      for (let i = 0; i < events.length; i++) {
        const e = events[i];
        if (e.kind !== 'bid' || e.auction % 123 !== 0) continue;
        const r = { auction: e.auction, price: e.price };
        count++;
        sum = (sum + r.auction * 31 + r.price) % 4294967296;
      }
      return `${count}:${sum}`;
    },
  },

  // q3: local item suggestion: sellers in OR/ID/CA joined with their category-10 auctions.
  q3: {
    defaultEvents: 1e6,
    prepare,
    weir: (n, events) =>
      runWeir((p) =>
        source(p, events)
          .filter((e) => (e.kind === 'person' && (e.state === 'OR' || e.state === 'ID' || e.state === 'CA')) || (e.kind === 'auction' && e.category === 10))
          .keyBy((e) => (e.kind === 'person' ? e.id : e.seller))
          .process(
            (e, ctx) => {
              const person = ctx.state.value('person');
              if (e.kind === 'person') {
                person.set(e);
                const waiting = ctx.state.list('auctions');
                for (const a of waiting.get()) ctx.emit({ name: e.name, city: e.city, state: e.state, auction: a.id });
                waiting.clear();
                return;
              }
              const p = person.get();
              if (p !== undefined) ctx.emit({ name: p.name, city: p.city, state: p.state, auction: e.id });
              else ctx.state.list('auctions').add(e);
            },
            { name: 'join' },
          ),
      ),
    baseline(n, events) {
      const persons = new Map();
      const waiting = new Map();
      const rows = [];
      for (let i = 0; i < events.length; i++) {
        const e = events[i];
        if (e.kind === 'person') {
          if (e.state !== 'OR' && e.state !== 'ID' && e.state !== 'CA') continue;
          persons.set(e.id, e);
          const w = waiting.get(e.id);
          if (w) {
            for (const a of w) rows.push({ name: e.name, city: e.city, state: e.state, auction: a.id });
            waiting.delete(e.id);
          }
        } else if (e.kind === 'auction' && e.category === 10) {
          const p = persons.get(e.seller);
          if (p) rows.push({ name: p.name, city: p.city, state: p.state, auction: e.id });
          else {
            let w = waiting.get(e.seller);
            if (!w) waiting.set(e.seller, (w = []));
            w.push(e);
          }
        }
      }
      return checksumOf(rows);
    },
  },

  // q4: average closing price per category. An auction closes at `expires` with its highest bid
  // made within [t, expires]; the running average per category is updated at each close.
  q4: {
    defaultEvents: 1e6,
    prepare,
    weir: (n, events) =>
      runWeir((p) =>
        source(p, events)
          .filter((e) => e.kind === 'auction' || e.kind === 'bid')
          .keyBy((e) => (e.kind === 'auction' ? e.id : e.auction))
          .process(
            {
              processElement(e, ctx) {
                const auction = ctx.state.value('auction');
                const best = ctx.state.value('best');
                if (e.kind === 'auction') {
                  auction.set(e);
                  ctx.timers.registerEventTime(e.expires);
                  const early = ctx.state.list('early');
                  let max = best.get() ?? 0;
                  for (const b of early.get()) if (b.t >= e.t && b.t <= e.expires && b.price > max) max = b.price;
                  early.clear();
                  if (max > 0) best.set(max);
                  return;
                }
                const a = auction.get();
                if (a === undefined) {
                  ctx.state.list('early').add(e);
                  return;
                }
                if (e.t >= a.t && e.t <= a.expires && e.price > (best.get() ?? 0)) best.set(e.price);
              },
              onTimer(time, ctx) {
                const a = ctx.state.value('auction').get();
                const price = ctx.state.value('best').get();
                if (a !== undefined && price !== undefined && time === a.expires) ctx.emit({ category: a.category, price });
                ctx.state.value('auction').clear();
                ctx.state.value('best').clear();
                ctx.state.list('early').clear();
              },
            },
            { name: 'close' },
          )
          .keyBy('category')
          .process(
            (c, ctx) => {
              const s = ctx.state.value('sum');
              const cur = s.get() ?? { total: 0, n: 0 };
              const next = { total: cur.total + c.price, n: cur.n + 1 };
              s.set(next);
              ctx.emit({ category: c.category, total: next.total, n: next.n });
            },
            { name: 'average' },
          ),
      ),
    baseline(n, events) {
      // Winning bid per auction over the whole input, then one running-average row per close.
      const auctions = new Map();
      const bidsByAuction = new Map();
      for (let i = 0; i < events.length; i++) {
        const e = events[i];
        if (e.kind === 'auction') auctions.set(e.id, e);
        else if (e.kind === 'bid') {
          let l = bidsByAuction.get(e.auction);
          if (!l) bidsByAuction.set(e.auction, (l = []));
          l.push(e);
        }
      }
      const closes = [];
      for (const a of auctions.values()) {
        let max = 0;
        for (const b of bidsByAuction.get(a.id) ?? []) if (b.t >= a.t && b.t <= a.expires && b.price > max) max = b.price;
        if (max > 0) closes.push({ category: a.category, price: max });
      }
      // Running averages: the multiset of (category, total, n) rows does not depend on close order
      // only when prices are summed in order; use per-category (n → total after n closes) over the
      // closes sorted as weir fires them: by expires, then auction key.
      const sorted = [...auctions.values()]
        .map((a) => ({ a, max: (bidsByAuction.get(a.id) ?? []).reduce((m, b) => (b.t >= a.t && b.t <= a.expires && b.price > m ? b.price : m), 0) }))
        .filter((x) => x.max > 0)
        .sort((x, y) => x.a.expires - y.a.expires || x.a.id - y.a.id);
      const acc = new Map();
      const rows = [];
      for (const { a, max } of sorted) {
        const cur = acc.get(a.category) ?? { total: 0, n: 0 };
        const next = { total: cur.total + max, n: cur.n + 1 };
        acc.set(a.category, next);
        rows.push({ category: a.category, total: next.total, n: next.n });
      }
      void closes;
      return checksumOf(rows);
    },
  },

  // q5: hot items: per sliding window (10 s, every 2 s), the auctions with the most bids.
  q5: {
    defaultEvents: 1e6,
    target: { minEventsPerSec: 3e6 },
    prepare,
    weir: (n, events) =>
      runWeir((p) =>
        source(p, events)
          .filter((e) => e.kind === 'bid')
          .keyBy('auction')
          .window(windows.sliding(10_000, 2_000), { name: 'bids-per-auction' })
          .aggregate({ num: agg.count() })
          .keyBy('end')
          .window(windows.tumbling(2_000), { name: 'hottest' })
          .process((end, w, rows, emit) => {
            let max = 0;
            for (const r of rows) if (r.num > max) max = r.num;
            for (const r of rows) if (r.num === max) emit({ auction: r.key, num: r.num, end });
          }),
      ),
    baseline(n, events) {
      const size = 10_000;
      const slide = 2_000;
      // Count per (pane, auction); a window is the sum of its size/slide panes.
      const panes = new Map();
      for (let i = 0; i < events.length; i++) {
        const e = events[i];
        if (e.kind !== 'bid') continue;
        const pane = windowStart(e.t, slide);
        let m = panes.get(pane);
        if (!m) panes.set(pane, (m = new Map()));
        m.set(e.auction, (m.get(e.auction) ?? 0) + 1);
      }
      const ends = new Set();
      for (const pane of panes.keys()) for (let k = 1; k <= size / slide; k++) ends.add(pane + k * slide);
      const rows = [];
      for (const end of ends) {
        const counts = new Map();
        for (let start = end - size; start < end; start += slide) {
          const m = panes.get(start);
          if (m) for (const [a, c] of m) counts.set(a, (counts.get(a) ?? 0) + c);
        }
        let max = 0;
        for (const c of counts.values()) if (c > max) max = c;
        for (const [a, c] of counts) if (c === max) rows.push({ auction: a, num: c, end });
      }
      return checksumOf(rows);
    },
  },

  // q7: the highest bid of each tumbling 10 s window (ties: the lowest bidder, then auction).
  q7: {
    defaultEvents: 1e6,
    target: { minEventsPerSec: 5e6 },
    prepare,
    weir: (n, events) =>
      runWeir((p) =>
        source(p, events)
          .filter((e) => e.kind === 'bid')
          .keyBy(() => 0)
          .window(windows.tumbling(10_000), { name: 'per-10s' })
          .reduce((a, b) => (b.price > a.price || (b.price === a.price && (b.bidder < a.bidder || (b.bidder === a.bidder && b.auction < a.auction))) ? b : a))
          .map((r) => ({ start: r.start, price: r.value.price, bidder: r.value.bidder, auction: r.value.auction })),
      ),
    baseline(n, events) {
      const best = new Map();
      for (let i = 0; i < events.length; i++) {
        const b = events[i];
        if (b.kind !== 'bid') continue;
        const start = windowStart(b.t, 10_000);
        const a = best.get(start);
        if (a === undefined || b.price > a.price || (b.price === a.price && (b.bidder < a.bidder || (b.bidder === a.bidder && b.auction < a.auction)))) best.set(start, b);
      }
      return checksumOf([...best].map(([start, b]) => ({ start, price: b.price, bidder: b.bidder, auction: b.auction })));
    },
  },

  // q8: new users: persons who created an auction in the same tumbling 10 s window (one row per
  // person, auction pair).
  q8: {
    defaultEvents: 1e6,
    prepare,
    weir: (n, events) =>
      runWeir((p) => {
        const all = source(p, events);
        const persons = all.filter((e) => e.kind === 'person', { name: 'persons' }).keyBy('id');
        const auctions = all.filter((e) => e.kind === 'auction', { name: 'auctions' }).keyBy('seller');
        return persons.windowJoin(auctions, windows.tumbling(10_000), (person, auction, w) => ({ id: person.id, name: person.name, auction: auction.id, start: w.start }), {
          name: 'new-users',
        });
      }),
    baseline(n, events) {
      const persons = new Map();
      const auctions = new Map();
      for (let i = 0; i < events.length; i++) {
        const e = events[i];
        if (e.kind === 'person') {
          const k = `${e.id}/${windowStart(e.t, 10_000)}`;
          let l = persons.get(k);
          if (!l) persons.set(k, (l = []));
          l.push(e);
        } else if (e.kind === 'auction') {
          const k = `${e.seller}/${windowStart(e.t, 10_000)}`;
          let l = auctions.get(k);
          if (!l) auctions.set(k, (l = []));
          l.push(e);
        }
      }
      const rows = [];
      for (const [k, ps] of persons) {
        const as = auctions.get(k);
        if (!as) continue;
        const start = Number(k.split('/')[1]);
        for (const p of ps) for (const a of as) rows.push({ id: p.id, name: p.name, auction: a.id, start });
      }
      return checksumOf(rows);
    },
  },
};
