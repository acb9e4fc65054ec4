import { watch, type FSWatcher } from 'node:fs';
import { AbortedError } from '../../runtime/errors.js';

/**
 * Waits for something to change in a directory: `fs.watch` events when the platform gives them,
 * and in any case a poll interval, since `fs.watch` misses events on network file systems and
 * some containers. A change seen between two waits makes the next wait return at once.
 *
 * The wait's timer keeps the process alive on purpose: a source waiting for data is work in
 * progress. The watcher itself does not (`persistent: false`).
 *
 * @example
 * ```ts
 * const changes = new FileWatcher('logs', 250);
 * await changes.wait(signal); // a file in logs/ changed, or 250 ms passed
 * changes.close();
 * ```
 */
export class FileWatcher {
  readonly #pollMs: number;
  #watcher: FSWatcher | undefined;
  #changed = false;
  #wake: (() => void) | undefined;
  #closed = false;

  constructor(dir: string, pollMs: number) {
    this.#pollMs = pollMs;
    try {
      this.#watcher = watch(dir, { persistent: false }, () => this.#onChange());
      this.#watcher.on('error', () => this.#stopWatching());
    } catch {
      // No fs.watch here (missing directory, inotify limits, unsupported file system): poll only.
      this.#watcher = undefined;
    }
  }

  /** Resolve after the next change or `pollMs`, whichever is first; reject with the abort reason when `signal` aborts. */
  wait(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(abortReason(signal));
    if (this.#changed || this.#closed) {
      this.#changed = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.#wake = undefined;
        this.#changed = false;
        resolve();
      };
      const onAbort = (): void => {
        clearTimeout(timer);
        this.#wake = undefined;
        reject(abortReason(signal));
      };
      const timer = setTimeout(done, this.#pollMs);
      signal.addEventListener('abort', onAbort, { once: true });
      this.#wake = done;
    });
  }

  /** Stop watching; a pending wait resolves. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#stopWatching();
    this.#wake?.();
  }

  #onChange(): void {
    this.#changed = true;
    this.#wake?.();
  }

  #stopWatching(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
  }
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new AbortedError();
}
