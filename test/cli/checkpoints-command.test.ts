import { afterEach, describe, expect, it } from 'vitest';
import { pipeline } from '../../src/builder/pipeline.js';
import { main } from '../../src/cli.js';
import { fileSink } from '../../src/sinks/file-sink.js';
import { listSource } from '../support/inline.js';
import { tempDir } from '../support/files.js';

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

function capture() {
  const io = { text: '', errText: '', out: (t: string) => (io.text += t), err: (t: string) => (io.errText += t) };
  return io;
}

describe('weir checkpoints', () => {
  it('lists complete checkpoints and inspects one', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const state = `${t.dir}/state`;
    await pipeline('cli-job')
      .source(listSource(Array.from({ length: 50 }, (_, i) => ({ i })), { name: 'input' }))
      .sink(fileSink({ dir: `${t.dir}/out`, format: 'jsonl' }), { name: 'files' })
      .run({ stateDir: state, checkpointInterval: 60_000 });
    const list = capture();
    expect(await main(['checkpoints', state], list)).toBe(0);
    expect(list.text).toMatch(/final/);
    expect(list.text).toContain('{"input":50}');
    const id = Number(/^\s+(\d+)\s/m.exec(list.text.split('\n')[1])![1]);
    const show = capture();
    expect(await main(['checkpoints', state, '--show', String(id)], show)).toBe(0);
    expect(show.text).toContain(`checkpoint ${id} of job "cli-job" (final)`);
    expect(show.text).toMatch(/source\s+input/);
    expect(show.text).toMatch(/sink\s+files/);
    const missing = capture();
    expect(await main(['checkpoints', state, '--show', '999'], missing)).toBe(1);
    expect(missing.errText).toContain('available:');
  });

  it('points from the state directory of a scaled-out job to its tasks', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const state = `${t.dir}/state`;
    for (const task of ['0', '1']) {
      await pipeline('cli-job')
        .source(listSource([{ i: 1 }], { name: 'input' }))
        .sink(fileSink({ dir: `${t.dir}/out-${task}`, format: 'jsonl' }), { name: 'files' })
        .run({ stateDir: `${state}/tasks/${task}`, checkpointInterval: 60_000 });
    }
    const io = capture();
    expect(await main(['checkpoints', state], io)).toBe(0);
    expect(io.text).toContain('scaled-out job: one checkpoint directory per task (0, 1)');
    const task = capture();
    expect(await main(['checkpoints', `${state}/tasks/1`], task)).toBe(0);
    expect(task.text).toMatch(/final/);
  });

  it('explains usage errors', async () => {
    const io = capture();
    expect(await main(['checkpoints'], io)).toBe(2);
    expect(io.errText).toContain('a state directory is required');
    const help = capture();
    expect(await main(['--help'], help)).toBe(0);
    expect(help.text).toContain('checkpoints');
  });
});
