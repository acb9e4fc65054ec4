import { deserialize, serialize } from 'node:v8';
import { crc32 } from 'node:zlib';
import type { StateKv, StateOp } from '../runtime/checkpoint-storage.js';
import type { HeapTable } from './heap-table.js';
import type { KeyedTable } from './keyed-state.js';

/**
 * Incremental checkpoints of heap-backed keyed state, as chunks in the checkpoint database.
 *
 * Every checkpoint writes, per step whose heap state is checkpointed incrementally, one chunk: a
 * *full* chunk (every entry of the table) or a *delta* chunk (the entries changed since the
 * previous chunk, deletions included) that names its predecessor (`prev`). The state of a
 * checkpoint is its own chunk applied over its predecessors, back to the nearest full chunk.
 * Chunks are keyed by the id of the checkpoint that wrote them and never overwritten, so every
 * kept checkpoint (not only the latest) stays restorable, also after a restore from an older one
 * started a new line of chunks (its first delta names the restored chunk, skipping the newer ones).
 *
 * Layout (keys of the checkpoint database, written in the checkpoint's atomic batch):
 * - `heapi/<step>\0<id>`: the chunk's index, JSON {@link ChunkIndex} (small: pruning reads them all);
 * - `heapp/<step>\0<id>\0<part>`: the payload, cut in parts of at most {@link PART_BYTES} (LevelDB
 *   copes badly with values much larger than its write buffer). Each part's length and CRC-32 are
 *   in the index, so a corrupt or missing part is found before the state is used.
 *
 * Payload: per namespace its puts (a key column and a value column) and its deletions (a key
 * column). A column of 32-bit integers is a raw little-endian int32 array, of other numbers a
 * float64 array (both 8-byte aligned in the payload, read in place), anything else one
 * v8-serialized array: the per-call setup of the v8 serializer is paid once per column, not per
 * value.
 */

export const CHUNK_INDEX_PREFIX = 'heapi/';
export const CHUNK_PART_PREFIX = 'heapp/';
/** Largest part of a chunk's payload, in bytes. */
export const PART_BYTES = 1 << 20;

/** What the index record of a chunk holds. */
export interface ChunkIndex {
  readonly v: 1;
  /** A full chunk holds the whole table; a delta only changes, over chunk `prev`. */
  readonly full: boolean;
  /** The chunk this delta applies over (`null` for a full chunk). */
  readonly prev: number | null;
  /** Puts and deletions in the chunk. */
  readonly entries: number;
  /** Per part: its byte length and CRC-32. */
  readonly parts: ReadonlyArray<readonly [number, number]>;
}

/** Fixed-width id so LevelDB's byte order is numeric order. */
function pad(id: number): string {
  return String(id).padStart(12, '0');
}

export function chunkIndexKey(step: string, id: number): string {
  return `${CHUNK_INDEX_PREFIX}${step}\u0000${pad(id)}`;
}

export function chunkPartKey(step: string, id: number, part: number): string {
  return `${CHUNK_PART_PREFIX}${step}\u0000${pad(id)}\u0000${String(part).padStart(6, '0')}`;
}

/** Step and id of an index key (`undefined` when it is not one). */
export function parseChunkIndexKey(key: string): { step: string; id: number } | undefined {
  if (!key.startsWith(CHUNK_INDEX_PREFIX)) return undefined;
  const sep = key.lastIndexOf('\u0000');
  if (sep < CHUNK_INDEX_PREFIX.length) return undefined;
  const id = Number(key.slice(sep + 1));
  return Number.isInteger(id) ? { step: key.slice(CHUNK_INDEX_PREFIX.length, sep), id } : undefined;
}

export function decodeChunkIndex(bytes: Uint8Array): ChunkIndex | undefined {
  try {
    const index = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as ChunkIndex;
    return index !== null && typeof index === 'object' && index.v === 1 && Array.isArray(index.parts) ? index : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The store ops writing chunk `id` of `step`, whose payload is the concatenation of `pieces` (as
 * returned by {@link encodeChunk}). Parts are cut at multiples of {@link PART_BYTES}; a part inside
 * one piece (most of a float64 column) is a view of it, not a copy.
 */
export function chunkOps(step: string, id: number, full: boolean, prev: number | null, entries: number, pieces: readonly Buffer[]): StateOp[] {
  const ops: StateOp[] = [];
  const parts: Array<[number, number]> = [];
  const push = (bytes: Buffer): void => {
    parts.push([bytes.length, crc32(bytes)]);
    ops.push({ type: 'put', key: chunkPartKey(step, id, parts.length - 1), value: bytes });
  };
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for (const piece of pieces) {
    for (let at = 0; at < piece.length; ) {
      const take = Math.min(PART_BYTES - pendingBytes, piece.length - at);
      const slice = piece.subarray(at, at + take);
      at += take;
      if (pendingBytes === 0 && take === PART_BYTES) {
        push(slice);
        continue;
      }
      pending.push(slice);
      pendingBytes += take;
      if (pendingBytes === PART_BYTES) {
        push(Buffer.concat(pending, pendingBytes));
        pending = [];
        pendingBytes = 0;
      }
    }
  }
  if (pendingBytes > 0 || parts.length === 0) push(Buffer.concat(pending, pendingBytes));
  const index: ChunkIndex = { v: 1, full, prev, entries, parts };
  ops.push({ type: 'put', key: chunkIndexKey(step, id), value: Buffer.from(JSON.stringify(index)) });
  return ops;
}

/** A chunk of a chain, read and checked. */
export interface ReadChunk {
  readonly id: number;
  readonly index: ChunkIndex;
  readonly payload: Buffer;
}

/**
 * Read the chain of chunk `id` of `step`, oldest (the full chunk) first, checking every part's
 * length and CRC. Rejects with a message naming the chunk when one is missing or corrupt.
 * `withPayload: false` checks the parts but keeps no payload (returns empty buffers).
 */
export async function readChunkChain(kv: Pick<StateKv, 'getMany'>, step: string, id: number, withPayload = true): Promise<ReadChunk[]> {
  const chain: ReadChunk[] = [];
  const seen = new Set<number>();
  for (let at: number | null = id; at !== null; ) {
    if (seen.has(at)) throw new Error(`state chunk ${at} of step "${step}" is part of a cycle`);
    seen.add(at);
    const [indexBytes] = await kv.getMany([chunkIndexKey(step, at)]);
    const index = indexBytes === undefined ? undefined : decodeChunkIndex(indexBytes);
    if (index === undefined) throw new Error(`state chunk ${at} of step "${step}" is ${indexBytes === undefined ? 'missing' : 'corrupt'}`);
    const keys = index.parts.map((_, part) => chunkPartKey(step, at!, part));
    const parts = await kv.getMany(keys);
    for (let i = 0; i < parts.length; i++) {
      const bytes = parts[i];
      if (bytes === undefined) throw new Error(`state chunk ${at} of step "${step}": part ${i} is missing`);
      if (bytes.byteLength !== index.parts[i][0] || crc32(bytes) !== index.parts[i][1]) {
        throw new Error(`state chunk ${at} of step "${step}": part ${i} is corrupt (size or CRC differs)`);
      }
    }
    const payload = !withPayload ? Buffer.alloc(0) : parts.length === 1 ? asBuffer(parts[0]!) : Buffer.concat(parts as Uint8Array[]);
    chain.push({ id: at, index, payload });
    if (index.full) break;
    at = index.prev;
    if (at === null) throw new Error(`state chunk ${chain.at(-1)!.id} of step "${step}" is a delta without a predecessor`);
  }
  return chain.reverse();
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const V8 = 0;
const F64 = 1;
const I32 = 2;

/**
 * A column being filled: an int32 array while every value is a 32-bit integer (counters, ids:
 * half the bytes to write and check), a float64 array while every value is a number, a plain array
 * from the first value that is not.
 */
export class ChunkColumn {
  #i32: Int32Array | undefined;
  #f64: Float64Array | undefined;
  #any: unknown[] | undefined;
  #n = 0;

  constructor(capacity: number) {
    this.#i32 = new Int32Array(Math.max(1, capacity));
  }

  get length(): number {
    return this.#n;
  }

  push(x: unknown): void {
    const i32 = this.#i32;
    if (i32 !== undefined) {
      // -0 is kept as a float: an int32 would read back as 0.
      if (typeof x === 'number' && (x | 0) === x && (x !== 0 || 1 / x > 0) && this.#n < i32.length) {
        i32[this.#n++] = x;
        return;
      }
      this.#f64 = new Float64Array(i32.length);
      for (let i = 0; i < this.#n; i++) this.#f64[i] = i32[i];
      this.#i32 = undefined;
    }
    const f64 = this.#f64;
    if (f64 !== undefined) {
      if (typeof x === 'number' && this.#n < f64.length) {
        f64[this.#n++] = x;
        return;
      }
      this.#any = Array.from(f64.subarray(0, this.#n));
      this.#f64 = undefined;
    }
    this.#any!.push(x);
    this.#n++;
  }

  /** Encoding byte and bytes of the column (serialized now: later changes of values do not leak in). */
  encode(): [number, Buffer] {
    if (this.#i32 !== undefined) return [I32, Buffer.from(this.#i32.buffer, 0, this.#n * 4)];
    if (this.#f64 !== undefined) return [F64, Buffer.from(this.#f64.buffer, 0, this.#n * 8)];
    return [V8, serialize(this.#any)];
  }
}

/** One namespace of a chunk: puts (keys and values, index for index) and deleted keys. */
export interface ChunkNamespace {
  readonly ns: unknown;
  readonly keys: ChunkColumn;
  readonly values: ChunkColumn;
  readonly deleted: ChunkColumn;
}

/** Builds a chunk's payload from its pieces, 8-byte aligning float64 columns. */
class PayloadWriter {
  readonly #pieces: Buffer[] = [];
  #length = 0;

  u32(n: number): void {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32LE(n, 0);
    this.bytes(b);
  }

  bytes(b: Buffer): void {
    this.#pieces.push(b);
    this.#length += b.length;
  }

  column(column: ChunkColumn): void {
    const [enc, bytes] = column.encode();
    const head = Buffer.alloc(8);
    head[0] = enc;
    head.writeUInt32LE(bytes.length, 4);
    this.bytes(head);
    const misaligned = this.#length % 8;
    if (enc !== V8 && misaligned !== 0) this.bytes(Buffer.alloc(8 - misaligned));
    this.bytes(bytes);
  }

  finish(): Buffer[] {
    return this.#pieces;
  }
}

/**
 * The columns of a chunk of `table`: every entry (`'all'`, a full chunk), or the current values of
 * the `changes` keys still present and the deletion of the others (a delta, see
 * {@link HeapTable.takeChanges}). Numbers are copied into the columns now; other values are
 * serialized by {@link encodeChunk}, which must follow before the table changes again.
 */
export function tableColumns<K, N>(table: HeapTable<K, N, unknown>, changes: Map<N, Set<K>> | 'all'): ChunkNamespace[] {
  return changes === 'all' ? allColumns(table) : changedColumns(table, changes);
}

/** Every entry of `table`, as chunk columns. */
function allColumns<K, N>(table: HeapTable<K, N, unknown>): ChunkNamespace[] {
  const out: ChunkNamespace[] = [];
  for (const ns of table.namespaces()) {
    const n = table.countIn(ns);
    const keys = new ChunkColumn(n);
    const values = new ChunkColumn(n);
    table.forEachIn(ns, (value, key) => {
      keys.push(key);
      values.push(value);
    });
    out.push({ ns, keys, values, deleted: new ChunkColumn(0) });
  }
  return out;
}

/** The entries of `changes` as chunk columns: current values of keys still present, deletions of the rest. */
function changedColumns<K, N>(table: HeapTable<K, N, unknown>, changes: Map<N, Set<K>>): ChunkNamespace[] {
  const out: ChunkNamespace[] = [];
  for (const [ns, changed] of changes) {
    const keys = new ChunkColumn(changed.size);
    const values = new ChunkColumn(changed.size);
    const deleted = new ChunkColumn(changed.size);
    for (const key of changed) {
      const value = table.get(key, ns);
      if (value === undefined) deleted.push(key);
      else {
        keys.push(key);
        values.push(value);
      }
    }
    out.push({ ns, keys, values, deleted });
  }
  return out;
}

/** The payload of a chunk holding `namespaces`, as pieces to concatenate (see {@link chunkOps}). */
export function encodeChunk(namespaces: readonly ChunkNamespace[]): Buffer[] {
  const w = new PayloadWriter();
  w.u32(namespaces.length);
  for (const { ns, keys, values, deleted } of namespaces) {
    const nsBytes = serialize(ns);
    w.u32(nsBytes.length);
    w.bytes(nsBytes);
    w.u32(keys.length);
    w.column(keys);
    w.column(values);
    w.u32(deleted.length);
    w.column(deleted);
  }
  return w.finish();
}

/**
 * Apply a chunk's payload to `table`: its puts with `set`, its deletions with `delete`. Returns the
 * number of puts and deletions.
 */
export function applyChunk<K, N, V>(payload: Buffer, table: KeyedTable<K, N, V>): number {
  // Number columns are read in place, which needs the payload 8-byte aligned in its buffer.
  const buf = payload.byteOffset % 8 === 0 ? payload : Buffer.from(new Uint8Array(payload).buffer);
  let at = 0;
  const u32 = (): number => {
    const n = buf.readUInt32LE(at);
    at += 4;
    return n;
  };
  const column = (n: number): ArrayLike<unknown> => {
    const enc = buf[at];
    const len = buf.readUInt32LE(at + 4);
    at += 8;
    if (enc === F64 || enc === I32) {
      if (at % 8 !== 0) at += 8 - (at % 8);
      const out = enc === F64 ? new Float64Array(buf.buffer, buf.byteOffset + at, len / 8) : new Int32Array(buf.buffer, buf.byteOffset + at, len / 4);
      at += len;
      if (out.length !== n) throw new Error(`state chunk: a column holds ${out.length} values, expected ${n}`);
      return out;
    }
    const out = deserialize(buf.subarray(at, at + len)) as unknown[];
    at += len;
    if (!Array.isArray(out) || out.length !== n) throw new Error(`state chunk: a column is malformed`);
    return out;
  };
  let applied = 0;
  const nsCount = u32();
  for (let s = 0; s < nsCount; s++) {
    const nsLen = u32();
    const ns = deserialize(buf.subarray(at, at + nsLen)) as N;
    at += nsLen;
    const n = u32();
    const keys = column(n);
    const values = column(n);
    for (let i = 0; i < n; i++) table.set(keys[i] as K, ns, values[i] as V);
    const d = u32();
    const deleted = column(d);
    for (let i = 0; i < d; i++) table.delete(deleted[i] as K, ns);
    applied += n + d;
  }
  if (at !== buf.length) throw new Error(`state chunk: ${buf.length - at} trailing bytes`);
  return applied;
}
