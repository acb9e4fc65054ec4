import type { DeadLetter } from '../../runtime/error-policy.js';
import { RecordError } from '../../runtime/errors.js';
import type { BadRecordSink } from './format-reader.js';

/** Longest raw record kept in a dead letter (text is cut, with a note, beyond it). */
const MAX_RAW_CHARS = 64 * 1024;

/**
 * The file source's {@link BadRecordSink}: turns each bad record into a {@link DeadLetter}
 * (`error.code` `'WEIR_BAD_RECORD'`, `source: { name: step, position }`), or in strict mode throws
 * a {@link RecordError} whose message names the position.
 *
 * @example
 * ```ts
 * const bad = new BadRecords('logs', false);
 * bad.add('{oops', { file: 'a.jsonl', line: 3, byteOffset: 120 }, 'Unexpected token o');
 * bad.take(); // [{ record: '{oops', error: { code: 'WEIR_BAD_RECORD', ... }, source: { name: 'logs', position: ... } }]
 * ```
 */
export class BadRecords implements BadRecordSink {
  readonly #step: string;
  readonly #strict: boolean;
  #letters: DeadLetter[] | undefined;

  constructor(step: string, strict: boolean) {
    this.#step = step;
    this.#strict = strict;
  }

  add(raw: unknown, position: Record<string, unknown>, reason: string, cause?: unknown): void {
    if (this.#strict) throw new RecordError(this.#step, `bad record at ${describePosition(position)}: ${reason}`, cause);
    const record = typeof raw === 'string' && raw.length > MAX_RAW_CHARS ? `${raw.slice(0, MAX_RAW_CHARS)}… (${raw.length} chars)` : raw;
    const letter: DeadLetter = {
      record,
      error: { code: 'WEIR_BAD_RECORD', message: reason, step: this.#step },
      source: { name: this.#step, position },
    };
    (this.#letters ??= []).push(letter);
  }

  /** The dead letters collected since the last call, or `undefined` when there are none. */
  take(): DeadLetter[] | undefined {
    const letters = this.#letters;
    this.#letters = undefined;
    return letters;
  }
}

function describePosition(position: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(position)) {
    if (key === 'file') continue;
    parts.push(`${key} ${String(value)}`);
  }
  const file = typeof position.file === 'string' ? JSON.stringify(position.file) : 'file';
  return parts.length === 0 ? file : `${file} ${parts.join(', ')}`;
}
