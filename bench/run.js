// The benchmark harness: `npm run bench` runs every case; `npm run bench -- <case…> --events N`
// runs some. Each case has a weir implementation (public API, like a user's job) and a
// hand-written plain-JS baseline computing the same result over the same events; both run in
// this harness run, each in a fresh process, and their checksums must agree: a differing result
// fails the run loudly. Prints a table, writes bench/results/latest.json and appends the same
// report as one line to bench/results/history.jsonl (with the commit, for tracking over time).
// A case may declare a target, `{ minEventsPerSec?, maxRatio? }`: the table says whether this run
// met it (a machine's result, not a pass/fail of the harness).
//   --events N     events per case (default per case)     --prof     write a .cpuprofile per weir run
//   --repeat N     best of N runs per implementation (default 1)
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, writeFileSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import os from 'node:os';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const wanted = [];
let events;
let prof = false;
let repeat = 1;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--events') events = Number(args[++i]);
  else if (a === '--prof') prof = true;
  else if (a === '--repeat') repeat = Number(args[++i]);
  else if (a.startsWith('--')) throw new Error(`bench: unknown flag ${a}`);
  else wanted.push(a);
}
if (events !== undefined && !(Number.isFinite(events) && events > 0)) throw new Error('bench: --events must be a positive number');

// Benchmark modules export `cases`; standalone scripts (e.g. formats.js) are run on their own.
const modules = readdirSync(here)
  .filter((f) => f.endsWith('.js') && f !== 'run.js')
  .map((f) => join(here, f));
for (const dir of readdirSync(here, { withFileTypes: true })) {
  if (dir.isDirectory() && dir.name !== 'lib' && dir.name !== 'results') {
    for (const f of readdirSync(join(here, dir.name))) if (f === 'cases.js') modules.push(join(here, dir.name, f));
  }
}
const withCases = modules.filter((m) => /export const cases\b/.test(readFileSync(m, 'utf8')));

const rows = [];
let failed = false;
for (const modulePath of withCases) {
  const mod = await import(pathToFileURL(modulePath).href);
  for (const [name, benchCase] of Object.entries(mod.cases ?? {})) {
    if (wanted.length > 0 && !wanted.includes(name)) continue;
    const n = Math.round(events ?? benchCase.defaultEvents ?? 1e6);
    const measure = (impl) => {
      let best;
      for (let r = 0; r < repeat; r++) {
        const extra = prof && impl === 'weir' ? ['--prof', resolve(here, 'results', `${name}.cpuprofile`)] : [];
        const out = execFileSync(process.execPath, ['--max-old-space-size=8192', join(here, 'lib', 'child.js'), modulePath, name, impl, String(n), ...extra], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'inherit'],
          maxBuffer: 1 << 26,
        });
        const result = JSON.parse(out.trim().split('\n').pop());
        if (best === undefined || result.ms < best.ms) best = result;
      }
      return best;
    };
    const baseline = measure('baseline');
    const weir = measure('weir');
    const agree = baseline.checksum === weir.checksum;
    if (!agree) {
      failed = true;
      console.error(`RESULT MISMATCH in ${name}: weir checksum ${weir.checksum}, baseline ${baseline.checksum}`);
    }
    const weirEventsPerSec = Math.round((n / weir.ms) * 1000);
    const ratio = Number((weir.ms / baseline.ms).toFixed(2));
    rows.push({
      case: name,
      events: n,
      weirEventsPerSec,
      baselineEventsPerSec: Math.round((n / baseline.ms) * 1000),
      ratio,
      weirPeakRssMb: Math.round(weir.maxRssMb),
      baselinePeakRssMb: Math.round(baseline.maxRssMb),
      checksum: agree ? 'ok' : 'MISMATCH',
      ...(benchCase.target ? { target: benchCase.target, targetMet: meets(benchCase.target, weirEventsPerSec, ratio) } : {}),
    });
  }
}

const fmt = (v) => (typeof v === 'number' && v >= 1e5 ? `${(v / 1e6).toFixed(2)}M` : String(v));
const headers = ['case', 'events', 'weir ev/s', 'baseline ev/s', 'ratio (weir time / baseline)', 'weir peak RSS MB', 'baseline peak RSS MB', 'result', 'target'];
const table = rows.map((r) => [
  r.case,
  fmt(r.events),
  fmt(r.weirEventsPerSec),
  fmt(r.baselineEventsPerSec),
  String(r.ratio),
  String(r.weirPeakRssMb),
  String(r.baselinePeakRssMb),
  r.checksum,
  r.target ? `${describeTarget(r.target)}: ${r.targetMet ? 'met' : 'missed'}` : '',
]);
const widths = headers.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
const line = (cells) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
console.log(line(headers));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const row of table) console.log(line(row));

mkdirSync(join(here, 'results'), { recursive: true });
const report = { at: new Date().toISOString(), commit: commit(), node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model, rows };
writeFileSync(join(here, 'results', 'latest.json'), JSON.stringify(report, null, 2) + '\n');
if (rows.length > 0) appendFileSync(join(here, 'results', 'history.jsonl'), JSON.stringify(report) + '\n');
if (rows.length === 0) {
  console.error(`bench: no case matched ${wanted.join(', ')}`);
  process.exit(1);
}
if (failed) process.exit(1);

/** True when a run's events/s and ratio meet a case's target. */
function meets(target, eventsPerSec, ratio) {
  return (target.minEventsPerSec === undefined || eventsPerSec >= target.minEventsPerSec) && (target.maxRatio === undefined || ratio <= target.maxRatio);
}

/** `≥ 7M ev/s, ratio ≤ 1.5`. */
function describeTarget(target) {
  const parts = [];
  if (target.minEventsPerSec !== undefined) parts.push(`≥ ${fmt(target.minEventsPerSec)} ev/s`);
  if (target.maxRatio !== undefined) parts.push(`ratio ≤ ${target.maxRatio}`);
  return parts.join(', ');
}

/** The checked-out commit (with "+" when the tree has changes), or undefined outside a git checkout. */
function commit() {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: here, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: here, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty === '' ? head : `${head}+`;
  } catch {
    return undefined;
  }
}
