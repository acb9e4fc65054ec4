/** Formats the file source reads. */
export type FileFormat = 'jsonl' | 'csv' | 'parquet' | 'avro' | 'arrow';

/** Where a JSON-lines or CSV reader stands in a file: the next unread byte of the decompressed stream. */
export interface TextPosition {
  readonly format: 'jsonl' | 'csv';
  /** Decompressed byte offset of the first unread line. */
  readonly offset: number;
  /** Lines (physical, `\n`-terminated) before `offset`, for error positions. */
  readonly line: number;
}

/** Where a Parquet reader stands: row `row` of row group `rowGroup` is the next to read. */
export interface ParquetPosition {
  readonly format: 'parquet';
  readonly rowGroup: number;
  readonly row: number;
}

/** Where an Avro reader stands: record `record` of block `block`, which starts at byte `offset`. */
export interface AvroPosition {
  readonly format: 'avro';
  readonly block: number;
  readonly record: number;
  /** Decompressed byte offset of the start of block `block`. */
  readonly offset: number;
}

/** Where an Arrow reader stands: row `row` of record batch `batch`. */
export interface ArrowPosition {
  readonly format: 'arrow';
  readonly batch: number;
  readonly row: number;
}

/** The position inside one file, per format. */
export type FormatPosition = TextPosition | ParquetPosition | AvroPosition | ArrowPosition;

/** Records read from one file in one call (bad records go to the reader's {@link BadRecordSink}). */
export interface FormatChunk<T> {
  readonly records: T[];
}

/**
 * Reads one file. Invariants: `read` is never called concurrently nor after `close()`;
 * `position()` describes the point right after the last record (or dead letter) returned, and a
 * reader opened at that position returns exactly what would have followed.
 */
export interface FormatReader<T> {
  /**
   * Up to `max` records (possibly none, when only bad records were found). `null`: nothing more in
   * the file as it is now. Returns a promise only when it has to read from disk.
   */
  read(max: number): FormatChunk<T> | null | Promise<FormatChunk<T> | null>;
  position(): FormatPosition;
  /**
   * True while the file may still grow (a followed log): the reader then holds back a last line
   * that has no line end yet. Set to false to read the file to its real end. Only text readers
   * follow; the others ignore it.
   */
  follow: boolean;
  /** Inode of the open file. */
  readonly ino: number;
  /** True when the file can grow and the reader can follow it (uncompressed text). */
  readonly growable: boolean;
  /** Bytes of the file read so far (growable readers), for growth and truncation checks. */
  readonly bytesRead: number;
  /** Size of the open file now (growable readers; others resolve to 0). */
  size(): Promise<number>;
  /** Release the file. Idempotent. */
  close(): Promise<void>;
}

/**
 * Collects the records a reader could not read, as {@link DeadLetter}s, or throws in strict mode.
 * One instance per source reader; the source attaches what was collected to the chunk it returns.
 */
export interface BadRecordSink {
  /**
   * Report a bad record at `position` (`{ file, line, byteOffset }` for text formats, the block
   * or row group for binary ones): `raw` is the record as found (the line, the bytes). Throws a
   * `RecordError` in strict mode.
   */
  add(raw: unknown, position: Record<string, unknown>, reason: string, cause?: unknown): void;
}

/** What every format reader gets besides its own options. */
export interface ReaderEnv {
  /** Path as listed (what positions and dead letters name). */
  readonly file: string;
  readonly bad: BadRecordSink;
  /** Block size for sequential reads. */
  readonly blockBytes: number;
}
