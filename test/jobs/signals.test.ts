import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const job = fileURLToPath(new URL('../fixtures/unbounded-job.js', import.meta.url));

/** Start the job and resolve once it has printed `lines` records. */
async function startJob(lines: number) {
  const child = spawn(process.execPath, [job], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.split('\n').length > lines) resolve();
    });
    child.once('exit', (code) => reject(new Error(`job exited early with ${code}: ${stderr}`)));
  });
  return { child, out: () => stdout, err: () => stderr };
}

describe('job signals', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} on an unbounded generator job stops it gracefully with exit code 0`, async () => {
      const { child, out, err } = await startJob(50);
      child.kill(signal);
      const [code] = await once(child, 'exit');
      expect(code).toBe(0);
      expect(err()).toContain(`${signal} received, stopping gracefully`);
      expect(err()).toContain('job finished');
      // Every line printed is a whole record, in order, with nothing lost before the stop.
      const records = out().trim().split('\n').map((l) => JSON.parse(l) as { i: number; sq: number });
      expect(records.length).toBeGreaterThanOrEqual(50);
      records.forEach((r, idx) => expect(r).toEqual({ i: idx, sq: idx * idx }));
    });
  }

  it('--help lists the standard flags and exits 0', async () => {
    const child = spawn(process.execPath, [job, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    expect(stdout).toContain('--batch-size');
  });

  it('an unknown flag fails at start with a message naming it', async () => {
    const child = spawn(process.execPath, [job, '--bogus'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code] = await once(child, 'exit');
    expect(code).not.toBe(0);
    expect(stderr).toContain('unknown flag --bogus');
  });
});
