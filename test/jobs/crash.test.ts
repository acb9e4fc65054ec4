import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { committedRecords, tempDir } from '../support/files.js';

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

/** Lines of the committed output as a sorted multiset. */
function output(dir: string): string[] {
  return committedRecords(dir)
    .map((r) => JSON.stringify(r))
    .sort();
}

describe('exactly-once under SIGKILL', () => {
  it(`killed ${KILLS} times at random moments, the committed output equals an uninterrupted run`, async () => {
    const clean = await run(`${tmp.dir}/clean-out`, `${tmp.dir}/clean-state`);
    expect(clean.stderr).toBe('');
    expect(clean.code).toBe(0);
    const expected = output(`${tmp.dir}/clean-out`);
    expect(expected.length).toBeGreaterThan(1000);

    // Episodes: each starts from nothing and is killed again and again until a run finishes on its
    // own; its committed output must then equal the clean run's. Episodes repeat until enough kills.
    let kills = 0;
    let seed = 12345;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let episode = 0; kills < KILLS; episode++) {
      expect(episode).toBeLessThan(KILLS * 4);
      const outDir = `${tmp.dir}/crash-out-${episode}`;
      const stateDir = `${tmp.dir}/crash-state-${episode}`;
      for (let attempt = 0; ; attempt++) {
        expect(attempt).toBeLessThan(200);
        const killAt = attempt < 40 ? 150 + Math.floor(random() * 500) : undefined;
        const result = await run(outDir, stateDir, killAt);
        if (result.signal === 'SIGKILL') {
          kills++;
          // What is visible after a crash is part of the right answer: nothing duplicated, nothing wrong.
          const partial = output(outDir);
          expect(new Set(partial).size).toBe(partial.length);
          const allowed = new Set(expected);
          for (const line of partial) expect(allowed.has(line)).toBe(true);
          continue;
        }
        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
        break;
      }
      expect(output(outDir)).toEqual(expected);
    }
    expect(kills).toBeGreaterThanOrEqual(KILLS);
  }, 300_000);
});
