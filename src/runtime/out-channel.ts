import { Readable } from 'node:stream';
import type { StreamElement } from './elements.js';

/**
 * An object-mode Readable the runtime pushes into from the side (fan-out branches, side outputs,
 * a union's output). Backpressure: after a push that reports a full buffer, the producer awaits
 * {@link OutChannel.ready} before sending more, so memory stays within `highWaterMark` batches.
 */
export class OutChannel extends Readable {
  #waiters: Array<() => void> = [];
  #closed = false;

  constructor(highWaterMark: number) {
    super({ objectMode: true, highWaterMark });
  }

  override _read(): void {
    const waiters = this.#waiters;
    if (waiters.length === 0) return;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** Push an element; false means "full: await ready() before the next one". */
  send(element: StreamElement): boolean {
    if (this.destroyed) return true;
    return this.push(element);
  }

  /** Resolves once the consumer asks for more (or the channel is gone). */
  ready(): Promise<void> {
    if (this.destroyed || this.readableLength < this.readableHighWaterMark) return Promise.resolve();
    return new Promise((resolve) => {
      this.#waiters.push(resolve);
    });
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // Producers waiting on a torn-down channel must not hang: the abort reaches them anyway.
    this._read();
    cb(err);
  }

  /** End the channel (no more elements). Idempotent. */
  close(): void {
    if (this.#closed || this.destroyed) return;
    this.#closed = true;
    this.push(null);
  }
}
