/**
 * How the file sink turns records into part files of one format. The sink calls
 * {@link PartFormat.prepare} once, with the first non-empty batch it gets (to fix columns or a
 * schema), then {@link PartFormat.part} for every part file it opens. Encoders are synchronous
 * unless the format's library is not.
 */
export interface PartFormat<T> {
  /** File name extension, without the dot (`'parquet'`). */
  readonly extension: string;
  /** Fix the columns or schema from the first batch (when not given). Throws a `TypeError` for records no schema fits. */
  prepare(records: readonly T[]): void;
  /** The encoder of a new part file. */
  part(): PartEncoder<T>;
}

/**
 * Encodes the records of one part file. Invariants: `start` is called first and once, `finish`
 * last and once; nothing after `finish`. Errors: a record the format cannot hold throws a
 * `TypeError` naming it (the sink wraps it in a `RecordError`).
 */
export interface PartEncoder<T> {
  /** The part's first bytes (a header, magic), possibly none. */
  start(): Uint8Array[];
  /**
   * Line formats (JSON lines, CSV): the text of one record, line end included. The sink then
   * builds the text itself and can cut parts exactly at `rollBytes`.
   */
  readonly line?: (record: T) => string;
  /** Block formats: the bytes of `records[start … end)` (possibly none while the library buffers, e.g. a Parquet row group). */
  encode(records: readonly T[], start: number, end: number): Uint8Array[] | Promise<Uint8Array[]>;
  /** The part's last bytes (footer, buffered rows); called when the part is sealed (roll, pre-commit, end). */
  finish(): Uint8Array[] | Promise<Uint8Array[]>;
}
