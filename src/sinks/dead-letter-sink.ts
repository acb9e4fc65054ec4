import type { Batch } from '../runtime/elements.js';
import type { DeadLetter } from '../runtime/error-policy.js';
import { ConfigError, describe, show } from '../runtime/errors.js';
import type { Sink, SinkContext, SinkWriter, TransactionalWriter } from '../runtime/sink.js';
import { isTransactional } from '../runtime/sink.js';
import { fileSink } from './file-sink.js';

/** Options of {@link deadLetterSink}. */
export interface DeadLetterSinkOptions {
  /** Directory of the dead-letter files; created when missing. */
  dir: string;
  /** Start a new file after this many dead letters. Default: one file per checkpoint. */
  rollRecords?: number;
  /** Step name. Default `'dead-letters'`. */
  name?: string;
}

/** First part of every dead-letter file name: `dead-<step>-<checkpoint>-<n>.jsonl`. */
export const DEAD_LETTER_PREFIX = 'dead';

const WHAT = 'sinks.deadLetters';

/**
 * A sink for {@link DeadLetter}s: one JSON object per line,
 * `{"record":…,"error":{"code","message","step"},"source":{"name","position"?}}`, in files
 * `dead-<step>-<checkpoint>-<n>.jsonl` of `dir` — the layout `weir dead-letters list|show|replay`
 * reads.
 *
 * It is the exactly-once {@link fileSink} (JSON lines, prefix `dead`), so the same guarantees hold:
 * files appear at checkpoint commits and at end of input, a replay after a crash writes the same
 * names, and hidden files are work in progress. One addition: a dead letter whose `record` (or
 * `source.position`) cannot be serialized as JSON (a BigInt, a cycle) is still written, with that value replaced by
 * `{ "unserializable": "<String(record)>", "reason": "<why>" }` — a dead-letter sink must not
 * fail on the very records it exists to keep.
 *
 * @example
 * ```ts
 * const dead = deadLetterSink({ dir: 'out/dead' });
 * stream.map(parse, { onError: deadLetter(dead) });
 * stream.sink(httpSink({ url, deadLetters: deadLetterSink({ dir: 'out/http-dead' }) }));
 * ```
 */
export function deadLetterSink(options: DeadLetterSinkOptions): Sink<DeadLetter> {
  if (options === null || typeof options !== 'object') throw new ConfigError(`${WHAT}: options must be an object, got ${show(options)}`);
  const { dir, rollRecords } = options;
  if (typeof dir !== 'string' || dir.length === 0) throw new ConfigError(`${WHAT}: dir must be a non-empty path, got ${show(dir)}`);
  const name = options.name ?? 'dead-letters';
  if (typeof name !== 'string' || name.length === 0) throw new ConfigError(`${WHAT}: name must be a non-empty string, got ${show(name)}`);
  let files: Sink<DeadLetter>;
  try {
    files = fileSink<DeadLetter>({ dir, format: 'jsonl', prefix: DEAD_LETTER_PREFIX, rollRecords, name });
  } catch (err) {
    // Same checks, but the message names this factory.
    throw new ConfigError(`${WHAT}: ${describe(err).replace(/^sinks\.file: /, '')}`, { cause: err });
  }
  return {
    name,
    async open(ctx: SinkContext): Promise<SinkWriter<DeadLetter>> {
      const writer = await files.open(ctx);
      if (!isTransactional(writer)) return new SafeWriter(writer);
      return new SafeTransactionalWriter(writer);
    },
  };
}

/** Replaces unserializable records before the file sink sees them. */
class SafeWriter implements SinkWriter<DeadLetter> {
  protected readonly inner: SinkWriter<DeadLetter>;

  constructor(inner: SinkWriter<DeadLetter>) {
    this.inner = inner;
  }

  write(b: Batch<DeadLetter>): void | Promise<void> {
    return this.inner.write(serializable(b));
  }

  flush(): void | Promise<void> {
    return this.inner.flush?.();
  }

  close(): void | Promise<void> {
    return this.inner.close?.();
  }
}

class SafeTransactionalWriter extends SafeWriter implements TransactionalWriter<DeadLetter> {
  readonly #tx: TransactionalWriter<DeadLetter>;

  constructor(inner: TransactionalWriter<DeadLetter>) {
    super(inner);
    this.#tx = inner;
  }

  preCommit(checkpointId: number): unknown {
    return this.#tx.preCommit(checkpointId);
  }

  commit(txn: unknown): void | Promise<void> {
    return this.#tx.commit(txn);
  }

  abort(txn: unknown): void | Promise<void> {
    return this.#tx.abort(txn);
  }
}

/**
 * `b` itself when every dead letter serializes, else a copy with the bad records replaced.
 * Dead letters are rare, so checking each one (a second stringify) costs nothing that matters.
 */
function serializable(b: Batch<DeadLetter>): Batch<DeadLetter> {
  const records = b.records;
  let copy: DeadLetter[] | undefined;
  for (let i = 0; i < records.length; i++) {
    const letter = records[i];
    try {
      JSON.stringify(letter);
      continue;
    } catch {
      copy ??= records.slice();
      const source = letter?.source;
      copy[i] = {
        record: jsonSafe(letter?.record),
        error: letter?.error,
        source:
          source?.position === undefined ? { name: source?.name ?? null } : { name: source.name ?? null, position: jsonSafe(source.position) },
      };
    }
  }
  return copy === undefined ? b : { ...b, records: copy };
}

/** `value` when JSON can hold it, else a description of it. */
function jsonSafe(value: unknown): unknown {
  try {
    JSON.stringify(value);
    return value;
  } catch (err) {
    return { unserializable: safeString(value), reason: describe(err) };
  }
}

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
