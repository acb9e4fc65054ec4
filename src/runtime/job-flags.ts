import { ConfigError } from './errors.js';
import { LOG_LEVELS, parseLogLevel, type LogLevel } from './observability/logger.js';

/** Options a job takes from its command line (`node job.js --flag value`). */
export interface JobFlags {
  help?: boolean;
  batchSize?: number;
  logLevel?: LogLevel;
  stateDir?: string;
  checkpointInterval?: number;
  fresh?: boolean;
  from?: number;
  stateBackend?: string;
  metricsPort?: number;
  metricsHost?: string;
  scaleOut?: boolean;
}

interface FlagSpec {
  readonly name: string;
  readonly key: keyof JobFlags;
  readonly value: 'none' | 'integer' | 'string';
  readonly help: string;
}

/** The standard flags every job understands. */
export const JOB_FLAGS: readonly FlagSpec[] = [
  { name: '--help', key: 'help', value: 'none', help: 'print these flags and exit' },
  { name: '--state-dir', key: 'stateDir', value: 'string', help: 'where checkpoints are kept (default ./.weir/<job>)' },
  { name: '--checkpoint-interval', key: 'checkpointInterval', value: 'integer', help: 'take a checkpoint every <n> ms (turns checkpoints on)' },
  { name: '--fresh', key: 'fresh', value: 'none', help: 'ignore and delete existing checkpoints: start from the beginning' },
  { name: '--from', key: 'from', value: 'integer', help: 'resume from checkpoint <n> instead of the latest' },
  { name: '--scale-out', key: 'scaleOut', value: 'none', help: 'one task per Kafka partition, shared with the processes of the same group and state dir' },
  { name: '--state-backend', key: 'stateBackend', value: 'string', help: "default state backend of keyed steps: heap | leveldb (default heap)" },
  { name: '--batch-size', key: 'batchSize', value: 'integer', help: 'records per batch read from sources (default 1024)' },
  { name: '--log-level', key: 'logLevel', value: 'string', help: `${LOG_LEVELS.join(' | ')} (default info on a terminal, warn otherwise)` },
  { name: '--metrics-port', key: 'metricsPort', value: 'integer', help: 'serve /metrics, /healthz and /readyz on port <n>' },
  { name: '--metrics-host', key: 'metricsHost', value: 'string', help: 'address the metrics server binds to (default 127.0.0.1)' },
];

/**
 * Parse the standard job flags. Positional arguments are left to the job; an unknown `--flag` is a
 * configuration error (a misspelt `--fresh` must not silently resume from a checkpoint).
 */
export function parseJobFlags(args: readonly string[]): JobFlags {
  const flags: JobFlags = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('--')) continue;
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const spec = JOB_FLAGS.find((f) => f.name === name);
    if (spec === undefined) {
      throw new ConfigError(`unknown flag ${name}; run with --help to list the flags`);
    }
    if (spec.value === 'none') {
      (flags as Record<string, unknown>)[spec.key] = true;
      continue;
    }
    const raw = eq === -1 ? args[++i] : arg.slice(eq + 1);
    if (raw === undefined || raw.startsWith('--')) throw new ConfigError(`flag ${name}: expected a value`);
    if (spec.value === 'integer') {
      const n = Number(raw);
      if (!Number.isInteger(n) || n <= 0) throw new ConfigError(`flag ${name}: expected a positive integer, got ${JSON.stringify(raw)}`);
      (flags as Record<string, unknown>)[spec.key] = n;
    } else if (spec.key === 'logLevel') {
      flags.logLevel = parseLogLevel(raw, `flag ${name}`);
    } else {
      (flags as Record<string, unknown>)[spec.key] = raw;
    }
  }
  return flags;
}

/** The `--help` text. */
export function jobFlagsHelp(job: string): string {
  const label = (f: FlagSpec): string => (f.value === 'none' ? f.name : `${f.name} <${f.value === 'integer' ? 'n' : 'v'}>`);
  const width = Math.max(...JOB_FLAGS.map((f) => label(f).length));
  const lines = JOB_FLAGS.map((f) => `  ${label(f).padEnd(width + 2)}${f.help}`);
  return `weir job "${job}"\n\nflags:\n${lines.join('\n')}\n`;
}
