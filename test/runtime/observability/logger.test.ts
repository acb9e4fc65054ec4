import { afterAll, describe, expect, it } from 'vitest';
import { pipeline } from '../../../src/builder/pipeline.js';
import { formatText, jsonLinesSink, textSink } from '../../../src/runtime/observability/log-sinks.js';
import { Logger, type LogEntry } from '../../../src/runtime/observability/logger.js';
import type { Sink, TransactionalWriter } from '../../../src/runtime/sink.js';
import { tempDir } from '../../support/files.js';
import { listSource } from '../../support/inline.js';

const tmp = tempDir('weir-logs-');
afterAll(() => tmp.cleanup());

/** A transactional sink that keeps nothing (enough for checkpoints to commit). */
function nullTxnSink(): Sink<unknown> {
  return {
    name: 'null',
    open: (): TransactionalWriter<unknown, number> => ({ write() {}, preCommit: (id) => id, commit() {}, abort() {} }),
  };
}

describe('job logs', () => {
  it('logs start, checkpoints, the end, and a resume from a checkpoint', async () => {
    const stateDir = `${tmp.dir}/resume`;
    const job = () =>
      pipeline('logged')
        .source(listSource([1, 2, 3], { name: 'nums' }), { name: 'nums' })
        .map((n) => n + 1, { name: 'inc' })
        .sink(nullTxnSink(), { name: 'out' });
    const first: LogEntry[] = [];
    await job().run({ stateDir, checkpointInterval: 60_000, logger: (e) => first.push(e) });
    expect(first.map((e) => e.event)).toEqual(['job.started', 'checkpoint.completed', 'job.finished']);
    for (const e of first) expect(e).toMatchObject({ job: 'logged', level: 'info' });
    expect(first[0]).toMatchObject({ sources: ['nums'], sinks: ['out'], checkpoints: { stateDir, intervalMs: 60_000 } });
    expect(first[1]).toMatchObject({ msg: 'checkpoint 1 completed', checkpoint: 1, kind: 'final' });
    expect(first[1].bytes).toBeGreaterThan(0);
    expect(first[2]).toMatchObject({ msg: 'job finished', recordsIn: 3, recordsOut: 3, checkpoints: 1, stopped: false });

    const second: LogEntry[] = [];
    await job().run({ stateDir, checkpointInterval: 60_000, logger: (e) => second.push(e) });
    expect(second[0]).toMatchObject({ event: 'job.restored', msg: 'resuming from checkpoint 1', checkpoint: 1, final: true });
  });

  it('a failure is logged at error level with its code and step', async () => {
    const entries: LogEntry[] = [];
    const run = pipeline('failing')
      .source(listSource([1, 2, 3]))
      .map(
        (n) => {
          if (n === 2) throw new Error('two is right out');
          return n;
        },
        { name: 'picky' },
      )
      .sink({ name: 'out', open: () => ({ write() {} }) })
      .run({ logger: (e) => entries.push(e) });
    await expect(run).rejects.toMatchObject({ code: 'WEIR_USER_FUNCTION' });
    const failed = entries.find((e) => e.event === 'job.failed')!;
    expect(failed).toMatchObject({ level: 'error', code: 'WEIR_USER_FUNCTION', step: 'picky', domain: 'user' });
    expect(failed.msg).toContain('two is right out');
  });

  it('the level filters entries; debug adds checkpoint triggers', async () => {
    const warnOnly: LogEntry[] = [];
    const job = () => pipeline('levels').source(listSource([1])).sink(nullTxnSink(), { name: 'out' });
    await job().run({ logger: (e) => warnOnly.push(e), logLevel: 'warn' });
    expect(warnOnly).toEqual([]);
    const debug: LogEntry[] = [];
    await job().run({ logger: (e) => debug.push(e), logLevel: 'debug', stateDir: `${tmp.dir}/levels`, checkpointInterval: 60_000 });
    expect(debug.map((e) => e.event)).toEqual(['job.fresh', 'job.started', 'checkpoint.triggered', 'checkpoint.completed', 'job.finished']);
  });

  it('a graceful stop is logged', async () => {
    const entries: LogEntry[] = [];
    const handle = pipeline('stopping')
      .source({ name: 'endless', bounded: false, replayable: true, open: () => ({ read: () => ({ records: [1] }), position: () => 0 }) })
      .sink({ name: 'out', open: () => ({ write() {} }) })
      .start({ logger: (e) => entries.push(e) });
    await new Promise((r) => setImmediate(r));
    await handle.stop();
    expect(entries.map((e) => e.event)).toEqual(['job.started', 'job.stopping', 'job.finished']);
    expect(entries[2].msg).toBe('job stopped');
  });
});

describe('log sinks', () => {
  const entry: LogEntry = { time: Date.UTC(2024, 0, 2, 3, 4, 5, 6), level: 'info', job: 'clicks', event: 'checkpoint.completed', msg: 'checkpoint 3 completed', checkpoint: 3, kind: 'periodic' };

  it('JSON lines: one object per line, ISO time', () => {
    const out: string[] = [];
    jsonLinesSink({ write: (t) => out.push(t) })({ ...entry, error: new Error('boom') as unknown as string, big: 10n as unknown as number });
    expect(out).toHaveLength(1);
    expect(out[0].endsWith('\n')).toBe(true);
    expect(JSON.parse(out[0])).toEqual({
      time: '2024-01-02T03:04:05.006Z',
      level: 'info',
      job: 'clicks',
      event: 'checkpoint.completed',
      msg: 'checkpoint 3 completed',
      checkpoint: 3,
      kind: 'periodic',
      error: 'boom',
      big: '10',
    });
  });

  it('text: time, level, job, message, then fields', () => {
    const line = formatText({ ...entry, note: 'two words' });
    expect(line).toMatch(/^\d\d:\d\d:\d\d\.006 INFO  clicks {2}checkpoint 3 completed {2}checkpoint=3 kind=periodic note="two words"$/);
    const out: string[] = [];
    let cleared = 0;
    textSink({ write: (t) => out.push(t) }, () => cleared++)(entry);
    expect(cleared).toBe(1);
    expect(out[0].endsWith('\n')).toBe(true);
  });

  it('a throwing sink never breaks the caller', () => {
    const log = new Logger('j', 'debug', () => {
      throw new Error('disk full');
    });
    expect(() => log.error('job.failed', 'x')).not.toThrow();
    expect(log.enabled('debug')).toBe(true);
    expect(new Logger('j', 'silent', () => undefined).enabled('error')).toBe(false);
  });
});
