import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { committedLines, crashEpisodes, seededRandom } from '../support/crash-episodes.js';
import { tempDir } from '../support/files.js';

/** SIGKILLs per run (raised by the soak script with WEIR_CRASH_KILLS). */
const KILLS = Number(process.env.WEIR_CRASH_KILLS ?? 12);
const COUNT = 300_000;
const RATE = 200_000;
const dist = new URL('../../dist/index.js', import.meta.url).href;

const tmp = tempDir('weir-kp-crash-');
afterAll(() => tmp.cleanup());

// A keyed process job counting per key in heap ValueState and ListState, whose checkpoints are
// incremental chunks: any restored count that is off shows in the committed output.
const job = `${tmp.dir}/kp-crash-job.mjs`;
writeFileSync(
  job,
  `import { pipeline, sources, sinks } from ${JSON.stringify(dist)};
const [outDir, ...rest] = process.argv.slice(2);
await pipeline('kp-crash')
  .source(sources.generator({ seed: 3, count: ${COUNT}, ratePerSec: ${RATE}, make: (i, rng) => ({ user: 'u' + (i % 5 === 0 ? rng.int(20_000) : rng.int(300)), i }) }), { name: 'events' })
  .keyBy('user')
  .process((e, ctx) => {
    const n = ctx.state.value('n');
    const next = (n.get() ?? 0) + 1;
    if (next % 50 === 0) n.clear(); else n.set(next);
    const last = ctx.state.list('last');
    last.add(e.i % 1000);
    if (last.get().length > 2) last.update(last.get().slice(-2));
    if (e.i % 7 === 0) ctx.emit({ user: e.user, i: e.i, n: next, last: last.get().join(',') });
  }, { name: 'count' })
  .sink(sinks.file({ dir: outDir, format: 'jsonl', rollRecords: 2000 }), { name: 'files' })
  .run({ args: rest });
`,
);

function run(outDir: string, stateDir: string, killAfterMs?: number) {
  const child = spawn(process.execPath, [job, outDir, '--state-dir', stateDir, '--checkpoint-interval', '25'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  return once(child, 'exit').then(([code, signal]) => {
    clearTimeout(timer);
    return { code: code as number | null, signal: signal as string | null, stderr };
  });
}

describe('keyed process, heap backend, incremental checkpoints: exactly-once under SIGKILL', () => {
  it(`killed ${KILLS} times at random moments, the committed output equals an uninterrupted run`, async () => {
    fileURLToPath(dist); // dist must be built (npm run build) before this test
    const clean = await run(`${tmp.dir}/clean-out`, `${tmp.dir}/clean-state`);
    expect(clean.stderr).toBe('');
    expect(clean.code).toBe(0);
    const expected = committedLines(`${tmp.dir}/clean-out`);
    expect(expected.length).toBe(Math.ceil(COUNT / 7));

    const random = seededRandom(777);
    const kills = await crashEpisodes({
      kills: KILLS,
      expected,
      killAt: (attempt) => (attempt < 30 ? 150 + Math.floor(random() * 600) : undefined),
      run: (episode, killAt) => run(`${tmp.dir}/crash-out-${episode}`, `${tmp.dir}/crash-state-${episode}`, killAt),
      output: (episode) => committedLines(`${tmp.dir}/crash-out-${episode}`),
    });
    expect(kills).toBeGreaterThanOrEqual(KILLS);
  }, 300_000);
});
