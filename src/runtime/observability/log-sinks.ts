import type { LogEntry, LogSink } from './logger.js';

/** Something log lines are written to (stderr). */
export interface LogStream {
  write(text: string): unknown;
}

/**
 * A sink writing one JSON object per line, for log collectors (the default when stderr is not a
 * terminal). `time` is written as an ISO string; fields that are not JSON (errors, bigints)
 * become strings.
 *
 * @example
 * ```ts
 * const sink = jsonLinesSink(process.stderr);
 * ```
 */
export function jsonLinesSink(stream: LogStream): LogSink {
  return (entry) => {
    stream.write(`${JSON.stringify({ ...entry, time: new Date(entry.time).toISOString() }, jsonSafe)}\n`);
  };
}

/**
 * A sink writing readable lines for a terminal:
 * `12:00:01.123 INFO  clicks  checkpoint 3 completed  durationMs=12 bytes=2048`.
 * `beforeWrite` runs first (the progress line clears itself there).
 *
 * @example
 * ```ts
 * const sink = textSink(process.stderr);
 * ```
 */
export function textSink(stream: LogStream, beforeWrite?: () => void): LogSink {
  return (entry) => {
    beforeWrite?.();
    stream.write(`${formatText(entry)}\n`);
  };
}

const FIXED = new Set(['time', 'level', 'job', 'event', 'msg']);

/** One readable line for a log entry (no colour codes, so it also reads well in a file). */
export function formatText(entry: LogEntry): string {
  const d = new Date(entry.time);
  const clock = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
  const extras: string[] = [];
  for (const [key, value] of Object.entries(entry)) {
    if (FIXED.has(key) || value === undefined) continue;
    const text = typeof value === 'string' ? value : JSON.stringify(value, jsonSafe);
    extras.push(`${key}=${typeof value === 'string' && /\s/.test(text) ? JSON.stringify(text) : text}`);
  }
  const tail = extras.length > 0 ? `  ${extras.join(' ')}` : '';
  return `${clock} ${entry.level.toUpperCase().padEnd(5)} ${entry.job}  ${entry.msg}${tail}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return value.message;
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return value;
}
