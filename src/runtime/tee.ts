import { Writable } from 'node:stream';
import type { StreamElement } from './elements.js';
import { OutChannel } from './out-channel.js';

/**
 * Fan-out: every element written goes to each branch. The writer is held until every branch has
 * room again, so the slowest consumer paces the producer and no branch buffers without bound.
 */
export class Tee extends Writable {
  readonly branches: OutChannel[];

  constructor(count: number, highWaterMark: number) {
    super({ objectMode: true, highWaterMark });
    this.branches = Array.from({ length: count }, () => new OutChannel(highWaterMark));
  }

  override _write(element: StreamElement, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    let waits: Promise<void>[] | undefined;
    for (const branch of this.branches) {
      if (!branch.send(element)) (waits ??= []).push(branch.ready());
    }
    if (waits === undefined) cb();
    else Promise.all(waits).then(() => cb(), cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    for (const branch of this.branches) branch.close();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    for (const branch of this.branches) if (err) branch.destroy(err);
    cb(err);
  }
}
