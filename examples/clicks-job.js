// The example job behind `npm start`: a bounded run over generated click events, on embedded
// defaults (no external service). Per page and per minute of event time it counts clicks and
// computes revenue and a price percentile, prints the table, and writes the rows as JSON lines
// into ./out/clicks-per-page (committed part files, exactly once).
//
// Run it as any weir job: `node examples/clicks-job.js --help` lists the standard flags.
import { pipeline, sources, sinks, windows, agg, watermarks } from 'weir';

const clicks = sources.generator({ seed: 42, count: 30_000 }); // 5 minutes of event time

const perPage = pipeline('clicks-per-page')
  .source(clicks, { name: 'clicks', timestamp: 't', watermark: watermarks.boundedOutOfOrderness(2_000) })
  .filter((click) => click.price > 1, { name: 'paid' })
  .map((click) => ({ ...click, eur: Math.round(click.price * 0.92 * 100) / 100 }), { name: 'to-eur' })
  .keyBy('page')
  .window(windows.tumbling(60_000), { name: 'per-minute' })
  .aggregate({ clicks: agg.count(), revenueEur: agg.sum('eur'), p95Eur: agg.percentile('eur', 0.95) }, { name: 'totals' })
  .map((row) => ({
    minute: new Date(row.start).toISOString().slice(11, 16),
    page: row.key,
    clicks: row.clicks,
    revenueEur: Math.round(row.revenueEur * 100) / 100,
    p95Eur: Math.round(row.p95Eur * 100) / 100,
  }), { name: 'pretty' });

perPage.sink(sinks.console({ format: 'table' }), { name: 'print' });
perPage.sink(sinks.file({ dir: 'out/clicks-per-page', format: 'jsonl' }), { name: 'files' });

const result = await perPage.run();
const read = result.steps.clicks.recordsOut;
const rows = result.steps.files.recordsIn;
console.log(`\n${read} clicks read, ${rows} rows written to out/clicks-per-page in ${result.durationMs} ms`);
