import type { Batch } from '../runtime/elements.js';
import type { DeadLetter } from '../runtime/error-policy.js';
import { isTransactional, type Sink, type SinkContext, type SinkWriter } from '../runtime/sink.js';

/**
 * The dead-letter sink a connector sink opens itself (`deadLetters` option of `sinks.http`,
 * `sinks.redis`…), with its transactions carried inside the outer sink's: `preCommit` gives the
 * inner transaction to store, `commit`/`abort` pass it on. A plain (non-transactional) dead-letter
 * sink simply has no transaction.
 *
 * @example
 * ```ts
 * const dead = await DeadLetterOutput.open(options.deadLetters, ctx, restoredTxns.map((t) => t.deadLetters));
 * const txn = { checkpointId, deadLetters: await dead.preCommit(checkpointId) };
 * ```
 */
export class DeadLetterOutput {
  readonly #writer: SinkWriter<DeadLetter>;

  private constructor(writer: SinkWriter<DeadLetter>) {
    this.#writer = writer;
  }

  /**
   * Open `sink` with the dead-letter transactions found in the outer sink's restored ones
   * (`undefined` entries are skipped): one is handed over as it is, several as a list.
   */
  static async open(sink: Sink<DeadLetter>, ctx: SinkContext, restored: readonly unknown[]): Promise<DeadLetterOutput> {
    const inner = restored.filter((t) => t !== undefined);
    const writer = await sink.open({ ...ctx, restored: inner.length === 0 ? undefined : inner.length === 1 ? inner[0] : inner });
    return new DeadLetterOutput(writer);
  }

  write(records: DeadLetter[], timestamps: number[], source: string | undefined): void | Promise<void> {
    const batch: Batch<DeadLetter> = { kind: 'batch', records, timestamps, source };
    return this.#writer.write(batch);
  }

  /** The inner transaction to store in the outer one, or undefined. */
  async preCommit(checkpointId: number): Promise<unknown> {
    const w = this.#writer;
    return isTransactional(w) ? await w.preCommit(checkpointId) : undefined;
  }

  async commit(txn: unknown): Promise<void> {
    const w = this.#writer;
    if (txn !== undefined && isTransactional(w)) await w.commit(txn);
  }

  async abort(txn: unknown): Promise<void> {
    const w = this.#writer;
    if (txn !== undefined && isTransactional(w)) await w.abort(txn);
  }

  async flush(): Promise<void> {
    await this.#writer.flush?.();
  }

  async close(): Promise<void> {
    await this.#writer.close?.();
  }
}
