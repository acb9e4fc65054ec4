import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/files.js';
import { committedLines, crashEpisodes, seededRandom } from '../support/crash-episodes.js';

const job = fileURLToPath(new URL('../fixtures/crash-job.js', import.meta.url));
/** SIGKILLs per run; the soak script (`npm run soak`) raises it with WEIR_CRASH_KILLS. */
const KILLS = Number(process.env.WEIR_CRASH_KILLS ?? 20);
const COUNT = 600_000;
const RATE = 250_000;

const tmp = tempDir('weir-crash-');
afterAll(() => tmp.cleanup());

function run(outDir: string, stateDir: string, killAfterMs?: number): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  const child = spawn(process.execPath, [job, outDir, '--state-dir', stateDir, '--checkpoint-interval', '25', String(COUNT), String(RATE)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  return once(child, 'exit').then(([code, signal]) => {
    clearTimeout(timer);
    return { code: code as number | null, signal: signal as string | null, stderr };
  });
}

const output = committedLines;

describe('exactly-once under SIGKILL', () => {
  it(`killed ${KILLS} times at random moments, the committed output equals an uninterrupted run`, async () => {
    const clean = await run(`${tmp.dir}/clean-out`, `${tmp.dir}/clean-state`);
    expect(clean.stderr).toBe('');
    expect(clean.code).toBe(0);
    const expected = output(`${tmp.dir}/clean-out`);
    expect(expected.length).toBeGreaterThan(1000);

    const random = seededRandom(12345);
    const kills = await crashEpisodes({
      kills: KILLS,
      expected,
      killAt: (attempt) => (attempt < 40 ? 150 + Math.floor(random() * 500) : undefined),
      run: (episode, killAt) => run(`${tmp.dir}/crash-out-${episode}`, `${tmp.dir}/crash-state-${episode}`, killAt),
      output: (episode) => output(`${tmp.dir}/crash-out-${episode}`),
    });
    expect(kills).toBeGreaterThanOrEqual(KILLS);
  }, 300_000);
});
