import type { PostgresClientLike } from './postgres-connection.js';

/**
 * The one connection a PostgreSQL connector uses, made on first use and again after it broke. An
 * idle connection the server closes emits 'error': the slot notes it, so the next `get()` makes a
 * new connection instead of failing on the dead one.
 *
 * @example
 * ```ts
 * const slot = new PostgresClientSlot(() => new pg.Client(endpoint.config));
 * const client = await slot.get();
 * slot.drop();      // after a connection error: the next get() reconnects
 * await slot.end(); // on close
 * ```
 */
export class PostgresClientSlot {
  readonly #make: () => PostgresClientLike;
  #client: PostgresClientLike | undefined;
  #broken = false;

  constructor(make: () => PostgresClientLike) {
    this.#make = make;
  }

  /** A connected client: the current one, or a new one when there is none or it broke. */
  async get(): Promise<PostgresClientLike> {
    if (this.#client !== undefined && !this.#broken) return this.#client;
    this.drop();
    const client = this.#make();
    client.on('error', () => {
      if (this.#client === client) this.#broken = true;
    });
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    this.#client = client;
    this.#broken = false;
    return client;
  }

  /** Forget the current connection (closing it in the background). */
  drop(): void {
    const client = this.#client;
    this.#client = undefined;
    this.#broken = false;
    if (client !== undefined) client.end().catch(() => undefined);
  }

  /** Close the current connection and wait for it. Idempotent. */
  async end(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }
}
