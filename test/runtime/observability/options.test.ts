import { describe, expect, it } from 'vitest';
import { pipeline } from '../../../src/builder/pipeline.js';
import { jobFlagsHelp, parseJobFlags } from '../../../src/runtime/job-flags.js';
import { resolveRunOptions } from '../../../src/runtime/run-options.js';

const tty = { stderrIsTTY: true, bounded: true };
const piped = { stderrIsTTY: false, bounded: true };

describe('observability options', () => {
  it('log level defaults: info on a terminal, warn when piped, silent when embedded, info with a logger', () => {
    expect(resolveRunOptions({}, true, 'j', tty).logLevel).toBe('info');
    expect(resolveRunOptions({}, true, 'j', piped).logLevel).toBe('warn');
    expect(resolveRunOptions({}, false, 'j', tty).logLevel).toBe('silent');
    expect(resolveRunOptions({ logger: () => undefined }, false, 'j', piped).logLevel).toBe('info');
    expect(resolveRunOptions({ logLevel: 'debug' }, false, 'j', piped).logLevel).toBe('debug');
  });

  it('progress defaults to on only for a bounded script on a terminal', () => {
    expect(resolveRunOptions({}, true, 'j', tty).progress).toBe(true);
    expect(resolveRunOptions({}, true, 'j', piped).progress).toBe(false);
    expect(resolveRunOptions({}, true, 'j', { stderrIsTTY: true, bounded: false }).progress).toBe(false);
    expect(resolveRunOptions({}, false, 'j', tty).progress).toBe(false);
    expect(resolveRunOptions({ progress: false }, true, 'j', tty).progress).toBe(false);
  });

  it('metrics bind to 127.0.0.1 unless told otherwise', () => {
    expect(resolveRunOptions({}, false, 'j').metrics).toBeUndefined();
    expect(resolveRunOptions({ metrics: { port: 9464 } }, false, 'j').metrics).toEqual({ port: 9464, host: '127.0.0.1' });
    expect(resolveRunOptions({ metrics: { port: 0, host: '0.0.0.0' } }, false, 'j').metrics).toEqual({ port: 0, host: '0.0.0.0' });
  });

  it('bad values fail with the field named', () => {
    expect(() => resolveRunOptions({ logLevel: 'loud' as never }, false, 'j')).toThrow(/logLevel must be one of debug, info, warn, error, silent, got "loud"/);
    expect(() => resolveRunOptions({ metrics: { port: 70_000 } }, false, 'j')).toThrow(/metrics\.port/);
    expect(() => resolveRunOptions({ traceBatches: -1 }, false, 'j')).toThrow(/traceBatches/);
    expect(() => resolveRunOptions({ logger: 'stderr' as never }, false, 'j')).toThrow(/logger must be a function/);
  });

  it('flags: --metrics-port, --metrics-host, --log-level', () => {
    expect(parseJobFlags(['--metrics-port', '9464', '--metrics-host=0.0.0.0', '--log-level', 'debug'])).toEqual({
      metricsPort: 9464,
      metricsHost: '0.0.0.0',
      logLevel: 'debug',
    });
    expect(() => parseJobFlags(['--log-level', 'chatty'])).toThrow(/flag --log-level must be one of/);
    expect(jobFlagsHelp('j')).toContain('--metrics-port <n>');
  });

  it('--metrics-host alone is an error; flags override the run option', async () => {
    const job = () => pipeline('flags').source({ name: 's', bounded: true, replayable: true, open: () => ({ read: () => null, position: () => 0 }) }).sink({ name: 'o', open: () => ({ write() {} }) });
    expect(() => job().start({ args: ['--metrics-host', '0.0.0.0'] })).toThrow(/--metrics-host: give --metrics-port too/);
    const handle = job().start({ args: ['--log-level', 'error'], metrics: { port: 0 }, logger: () => undefined });
    expect((await handle.metricsAddress())!.host).toBe('127.0.0.1');
    await handle.done;
    expect(await job().start({}).metricsAddress()).toBeUndefined();
  });
});
