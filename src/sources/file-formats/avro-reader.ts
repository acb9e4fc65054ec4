import { createRequire } from 'node:module';
import { inflateRawSync } from 'node:zlib';
import type * as Avsc from 'avsc';
import { describe } from '../../runtime/errors.js';
import { BlockBuffer } from './block-buffer.js';
import { ByteReader, isCorruptData } from './byte-reader.js';
import type { AvroPosition, FormatChunk, FormatReader, ReaderEnv } from './format-reader.js';

type AvscModule = typeof Avsc;

/** Options of {@link openAvroReader}. */
export interface AvroReaderOptions {
  /** Reader schema: records are resolved from each file's writer schema to it (Avro schema evolution). */
  readonly schema: object | undefined;
}

const MAGIC = Buffer.from('Obj\x01', 'latin1');
const SYNC_BYTES = 16;

let avsc: AvscModule | undefined;
let zstd: typeof import('zstd-napi') | undefined;

/** avsc, loaded on first use so jobs without Avro never load it. */
function avro(): AvscModule {
  avsc ??= createRequire(import.meta.url)('avsc') as AvscModule;
  return avsc;
}

/**
 * Open an Avro object-container-file reader (avsc) on `env.file` at `position` (or the start).
 *
 * The container is parsed here (header, then blocks of `count`, `size`, data, sync marker) and
 * records are decoded with avsc one block at a time, so the position is exact:
 * `{ block, record, offset }` where `offset` is the byte offset of the block, which a restored
 * reader seeks to (after reading the header again) before skipping `record` records. Block codecs
 * `null`, `deflate` and `zstandard` are supported. Long values are numbers (avsc's default), and
 * `timestamp-millis` values are `Date`s. With `schema`, records are resolved to that reader schema.
 *
 * Bad input goes to `env.bad`: a file without the Avro magic or with an unknown codec or an
 * incompatible schema (one dead letter `{ file }`); a record that does not decode with the schema
 * (`{ file, block, record, byteOffset }`, raw bytes from that record to the block's end: the rest
 * of its block cannot be framed and is skipped); a block whose sync marker does not match (the
 * reader skips to the next sync marker).
 *
 * @example
 * ```ts
 * const reader = await openAvroReader(env, undefined, { schema: undefined });
 * ```
 */
export async function openAvroReader(env: ReaderEnv, position: AvroPosition | undefined, options: AvroReaderOptions): Promise<FormatReader<unknown>> {
  const bytes = await ByteReader.open(env.file, 0);
  const reader = new AvroFileReader(env, bytes, options);
  try {
    await reader.start(position);
  } catch (err) {
    await reader.close();
    throw err;
  }
  return reader;
}

/** One decoded-on-demand block. */
interface Block {
  readonly index: number;
  /** Byte offset of the block's start (its count). */
  readonly offset: number;
  readonly data: Buffer;
  readonly count: number;
  /** Next record to decode, and where it starts in `data`. */
  record: number;
  pos: number;
}

class AvroFileReader implements FormatReader<unknown> {
  follow = false;
  readonly growable = false;
  readonly bytesRead = 0;
  readonly #env: ReaderEnv;
  readonly #window: BlockBuffer;
  readonly #options: AvroReaderOptions;
  #type: Avsc.Type | undefined;
  #resolver: unknown;
  #codec = 'null';
  #longType: Avsc.Type | undefined;
  #sync: Buffer = Buffer.alloc(0);
  #block: Block | undefined;
  /** Index of the next block to read from the window. */
  #nextBlock = 0;
  #finished = false;

  constructor(env: ReaderEnv, bytes: ByteReader, options: AvroReaderOptions) {
    this.#env = env;
    this.#window = new BlockBuffer(bytes, env.blockBytes);
    this.#options = options;
  }

  get ino(): number {
    return this.#window.bytes.ino;
  }

  /** Read the header; then go to `position`. */
  async start(position: AvroPosition | undefined): Promise<void> {
    if (!(await this.#header())) return;
    if (position === undefined) return;
    this.#nextBlock = position.block;
    const window = this.#window;
    if (position.offset > window.offsetOf(window.start)) await this.#seek(position.offset);
    if (position.record > 0) {
      const block = await this.#readBlock();
      if (block === undefined) return;
      const avsc = this.#type!;
      for (let i = 0; i < position.record && block.record < block.count; i++) {
        // Decoding is the only way to find where a record ends; the values are dropped.
        const { offset } = avsc.decode(block.data, block.pos, this.#resolver as Avsc.Resolver);
        if (offset < 0) break;
        block.pos = offset;
        block.record++;
      }
    }
  }

  read(max: number): FormatChunk<unknown> | null | Promise<FormatChunk<unknown> | null> {
    const block = this.#block;
    if (block !== undefined && block.record < block.count) return { records: this.#decode(block, max) };
    if (this.#finished) return null;
    return this.#next(max);
  }

  position(): AvroPosition {
    const block = this.#block;
    if (block !== undefined && block.record < block.count) return { format: 'avro', block: block.index, record: block.record, offset: block.offset };
    const window = this.#window;
    return { format: 'avro', block: this.#nextBlock, record: 0, offset: window.offsetOf(window.start) };
  }

  size(): Promise<number> {
    return Promise.resolve(0);
  }

  async close(): Promise<void> {
    await this.#window.bytes.close();
  }

  async #next(max: number): Promise<FormatChunk<unknown> | null> {
    for (;;) {
      const block = await this.#readBlock();
      if (block === undefined) return this.#finished ? null : { records: [] };
      if (block.count > 0) return { records: this.#decode(block, max) };
    }
  }

  #decode(block: Block, max: number): unknown[] {
    const type = this.#type!;
    const resolver = this.#resolver as Avsc.Resolver | undefined;
    const data = block.data;
    const n = Math.min(max, block.count - block.record);
    const records = new Array<unknown>(n);
    let k = 0;
    let pos = block.pos;
    try {
      for (; k < n; k++) {
        const { value, offset } = type.decode(data, pos, resolver);
        if (offset < 0) throw new Error('record runs past the end of its block');
        records[k] = value;
        pos = offset;
      }
    } catch (err) {
      const record = block.record + k;
      const skipped = block.count - record;
      // Consume the rest of the block first: its records cannot be framed without this one.
      block.record = block.count;
      block.pos = data.length;
      records.length = k;
      this.#env.bad.add(
        data.subarray(pos),
        { file: this.#env.file, block: block.index, record, byteOffset: block.offset },
        `record ${record} of block ${block.index} does not match the schema (${describe(err)}); ${skipped} record(s) of the block skipped`,
        err,
      );
      return records;
    }
    block.record += n;
    block.pos = pos;
    return records;
  }

  /** Read and decompress the next block; `undefined` at the end (or after dead-lettering a bad one). */
  async #readBlock(): Promise<Block | undefined> {
    const window = this.#window;
    const longType = (this.#longType ??= avro().Type.forSchema('long'));
    for (;;) {
      if (window.pending === 0 && !(await this.#fill())) {
        this.#finished = true;
        return undefined;
      }
      const buf = window.buf.subarray(0, window.end);
      const start = window.start;
      const count = longType.decode(buf, start);
      const size = count.offset < 0 ? count : longType.decode(buf, count.offset);
      if (count.offset < 0 || size.offset < 0 || size.offset + size.value + SYNC_BYTES > window.end) {
        if (await this.#fill()) continue;
        if (window.pending > 0) this.#truncated();
        this.#finished = true;
        return undefined;
      }
      const dataStart = size.offset;
      const dataEnd = dataStart + (size.value as number);
      const offset = window.offsetOf(start);
      const index = this.#nextBlock++;
      if (!buf.subarray(dataEnd, dataEnd + SYNC_BYTES).equals(this.#sync)) {
        window.start = start + 1;
        await this.#resync();
        this.#env.bad.add(null, { file: this.#env.file, block: index, byteOffset: offset }, `block ${index} is corrupt (sync marker does not match); skipped to byte ${window.offsetOf(window.start)}`);
        return undefined;
      }
      window.start = dataEnd + SYNC_BYTES;
      let data: Buffer;
      try {
        data = this.#decompress(Buffer.from(buf.subarray(dataStart, dataEnd)));
      } catch (err) {
        this.#env.bad.add(null, { file: this.#env.file, block: index, byteOffset: offset }, `block ${index} cannot be decompressed (${this.#codec}): ${describe(err)}`, err);
        return undefined;
      }
      const block: Block = { index, offset, data, count: count.value as number, record: 0, pos: 0 };
      this.#block = block;
      return block;
    }
  }

  #decompress(data: Buffer): Buffer {
    switch (this.#codec) {
      case 'null':
        return data;
      case 'deflate':
        return inflateRawSync(data);
      default: // zstandard, checked in #header
        return zstd!.decompress(data);
    }
  }

  /** Read and check the header; false (after a dead letter) when the file is not usable. */
  async #header(): Promise<boolean> {
    const window = this.#window;
    const avsc = avro();
    const headerType = avsc.Type.forSchema({
      type: 'record',
      name: 'org.apache.avro.file.Header',
      fields: [
        { name: 'magic', type: { type: 'fixed', name: 'Magic', size: 4 } },
        { name: 'meta', type: { type: 'map', values: 'bytes' } },
        { name: 'sync', type: { type: 'fixed', name: 'Sync', size: SYNC_BYTES } },
      ],
    });
    for (;;) {
      const buf = window.buf.subarray(0, window.end);
      if (window.end >= 4 && !buf.subarray(0, 4).equals(MAGIC)) return this.#badFile('not an Avro object container file (no "Obj\\x01" magic)');
      let decoded: { value: { meta: Record<string, Buffer>; sync: Buffer }; offset: number } | undefined;
      try {
        decoded = window.end >= 4 ? headerType.decode(buf, 0) : undefined;
      } catch (err) {
        return this.#badFile(`header unreadable: ${describe(err)}`, err);
      }
      if (decoded !== undefined && decoded.offset >= 0) {
        window.start = decoded.offset;
        return this.#useHeader(decoded.value.meta, decoded.value.sync);
      }
      if (!(await this.#fill())) return this.#badFile('file ends inside the Avro header');
    }
  }

  async #useHeader(meta: Record<string, Buffer>, sync: Buffer): Promise<boolean> {
    const avsc = avro();
    this.#sync = Buffer.from(sync);
    this.#codec = meta['avro.codec']?.toString() || 'null';
    if (this.#codec === 'zstandard') zstd ??= await import('zstd-napi');
    else if (this.#codec !== 'null' && this.#codec !== 'deflate') return this.#badFile(`unsupported Avro codec ${JSON.stringify(this.#codec)} (supported: null, deflate, zstandard)`);
    try {
      const logicalTypes = { 'timestamp-millis': dateType(avsc) };
      const writer = avsc.Type.forSchema(JSON.parse(meta['avro.schema'].toString()) as Avsc.Schema, { logicalTypes });
      if (this.#options.schema === undefined) {
        this.#type = writer;
      } else {
        const reader = avsc.Type.forSchema(this.#options.schema as Avsc.Schema, { logicalTypes });
        this.#resolver = reader.createResolver(writer);
        this.#type = reader;
      }
    } catch (err) {
      return this.#badFile(`schema unusable: ${describe(err)}`, err);
    }
    return true;
  }

  #badFile(reason: string, cause?: unknown): false {
    this.#finished = true;
    const window = this.#window;
    window.start = window.end;
    this.#env.bad.add(null, { file: this.#env.file }, reason, cause);
    return false;
  }

  /** The file ends inside a block: dead-letter the partial block. */
  #truncated(): void {
    const window = this.#window;
    const offset = window.offsetOf(window.start);
    const raw = Buffer.from(window.buf.subarray(window.start, window.end));
    window.start = window.end;
    this.#env.bad.add(raw, { file: this.#env.file, block: this.#nextBlock, byteOffset: offset }, `file ends inside block ${this.#nextBlock} (truncated)`);
  }

  /** Skip to just after the next sync marker (or the end). */
  async #resync(): Promise<void> {
    const window = this.#window;
    for (;;) {
      const at = window.buf.subarray(0, window.end).indexOf(this.#sync, window.start);
      if (at !== -1) {
        window.start = at + SYNC_BYTES;
        return;
      }
      // Keep the last bytes: a marker may straddle the refill.
      window.start = Math.max(window.start, window.end - SYNC_BYTES + 1);
      if (!(await this.#fill())) {
        window.start = window.end;
        return;
      }
    }
  }

  async #seek(offset: number): Promise<void> {
    const window = this.#window;
    while (window.offsetOf(window.end) < offset) {
      window.start = window.end;
      if (!(await this.#fill())) return;
    }
    window.start = offset - window.base;
  }

  /** Refill the window; a decompression error dead-letters the rest of the file. */
  async #fill(): Promise<boolean> {
    try {
      return await this.#window.fill();
    } catch (err) {
      if (!isCorruptData(err)) throw err;
      const window = this.#window;
      this.#env.bad.add(null, { file: this.#env.file, byteOffset: window.offsetOf(window.start) }, `rest of file unreadable: ${describe(err)}`, err);
      window.start = window.end;
      this.#finished = true;
      return false;
    }
  }
}

/** avsc logical type reading `timestamp-millis` longs as Dates (and writing Dates as millis). */
function dateType(avsc: AvscModule): new (schema: Avsc.Schema, opts?: unknown) => Avsc.types.LogicalType {
  return class DateType extends avsc.types.LogicalType {
    protected override _fromValue(value: number): Date {
      return new Date(value);
    }
    protected override _toValue(value: unknown): unknown {
      return value instanceof Date ? value.getTime() : value;
    }
    protected override _resolve(type: Avsc.Type): unknown {
      if (avsc.Type.isType(type, 'long', 'logical:timestamp-millis')) return this._fromValue;
      return undefined;
    }
  };
}
