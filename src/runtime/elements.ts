/**
 * What travels on every edge of a weir graph. Edges never carry single records: a {@link Batch}
 * holds many records with their event timestamps, and control elements (watermarks, barriers,
 * end of input) travel in band, in order, between batches.
 */

/** Records and their event timestamps (milliseconds), index for index. */
export interface Batch<T = unknown> {
  readonly kind: 'batch';
  readonly records: T[];
  /** Event time of `records[i]` in ms since the epoch; `NaN` when the stream has no event time. */
  readonly timestamps: number[];
  /** Name of the source the batch came from, for dead letters and lineage. */
  readonly source: string | undefined;
}

/** No record with event time ≤ `time` follows on this edge (late records aside). */
export interface Watermark {
  readonly kind: 'watermark';
  readonly time: number;
}

/** Chandy–Lamport marker: everything before it on the edge belongs to checkpoint `checkpointId`. */
export interface Barrier {
  readonly kind: 'barrier';
  readonly checkpointId: number;
  /** True for the final checkpoint taken on a graceful stop. */
  readonly savepoint: boolean;
}

/** The input is exhausted: acts as watermark +∞, after which the edge closes. */
export interface EndOfInput {
  readonly kind: 'end';
}

/** One element on an edge. */
export type StreamElement<T = unknown> = Batch<T> | Watermark | Barrier | EndOfInput;

/** Make a batch element. `timestamps.length` must equal `records.length`. */
export function batch<T>(records: T[], timestamps: number[], source?: string): Batch<T> {
  return { kind: 'batch', records, timestamps, source };
}

/** Make a watermark element. */
export function watermark(time: number): Watermark {
  return { kind: 'watermark', time };
}

/** Make a barrier element. */
export function barrier(checkpointId: number, savepoint = false): Barrier {
  return { kind: 'barrier', checkpointId, savepoint };
}

/** The end-of-input element (one shared instance: it carries no data). */
export const END: EndOfInput = Object.freeze({ kind: 'end' });

/** Watermark value meaning "all event time has passed". */
export const MAX_WATERMARK = Number.POSITIVE_INFINITY;

/** Watermark value before any record was seen. */
export const MIN_WATERMARK = Number.NEGATIVE_INFINITY;
