import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/files.js';

const job = fileURLToPath(new URL('../fixtures/big-state-job.js', import.meta.url));
const KEYS = 1_000_000;

const tmp = tempDir('weir-big-state-');
afterAll(() => tmp.cleanup());

describe('LevelDB state backend: state larger than the heap', () => {
  it(`holds ${KEYS} keys of ValueState with a 64 MB heap, checkpointing, and completes`, async () => {
    // The heap backend needs well over 64 MB of heap for this state (it runs out of memory).
    const child = spawn(process.execPath, ['--max-old-space-size=64', job, `${tmp.dir}/state`, String(KEYS), String(KEYS), '150000', 'leveldb'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const report = JSON.parse(stdout.trim()) as { n: number; sum: number; checkpoints: number; peakRssMb: number };
    expect(report.n).toBe(KEYS);
    expect(report.sum).toBe(KEYS);
    expect(report.checkpoints).toBeGreaterThan(1);
    expect(report.peakRssMb).toBeLessThan(400);
  }, 60_000);
});
