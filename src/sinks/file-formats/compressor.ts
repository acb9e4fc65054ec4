import { gzipSync } from 'node:zlib';

/** Whole-file compression of the file sink's parts. */
export type SinkCompression = 'gzip' | 'zstd';

/** Input gathered before it is compressed as one gzip member / zstd frame. */
const CHUNK_BYTES = 256 * 1024;

/**
 * Compresses a part file's bytes synchronously, as a sequence of gzip members or zstd frames of
 * about 256 KiB of input each. Concatenated members/frames are valid gzip/zstd files (every
 * decompressor reads them through, weir's file source included), and compressing in independent
 * pieces keeps `write` synchronous per batch with bounded memory, at a negligible cost in ratio.
 *
 * @example
 * ```ts
 * const gz = await Compressor.create('gzip');
 * const out = [...gz.push([Buffer.from('a\n')]), ...gz.end()];
 * ```
 */
export class Compressor {
  readonly #compress: (data: Buffer) => Buffer;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;

  private constructor(compress: (data: Buffer) => Buffer) {
    this.#compress = compress;
  }

  /** A compressor for `kind` at `level` (library default when undefined). zstd-napi is loaded here, on first use. */
  static async create(kind: SinkCompression, level: number | undefined): Promise<Compressor> {
    if (kind === 'gzip') return new Compressor((data) => gzipSync(data, level === undefined ? undefined : { level }));
    const zstd = await import('zstd-napi');
    const parameters = level === undefined ? undefined : { compressionLevel: level };
    return new Compressor((data) => zstd.compress(data, parameters));
  }

  /** Add bytes; returns compressed output once enough input has gathered (often nothing). */
  push(chunks: readonly Uint8Array[]): Buffer[] {
    for (const chunk of chunks) {
      if (chunk.length === 0) continue;
      this.#pending.push(chunk);
      this.#pendingBytes += chunk.length;
    }
    return this.#pendingBytes >= CHUNK_BYTES ? this.#flush() : [];
  }

  /** Compress what is left; the compressor is empty (and reusable) after. */
  end(): Buffer[] {
    return this.#pendingBytes > 0 ? this.#flush() : [];
  }

  #flush(): Buffer[] {
    const input = this.#pending.length === 1 ? Buffer.from(this.#pending[0].buffer, this.#pending[0].byteOffset, this.#pending[0].length) : Buffer.concat(this.#pending);
    this.#pending = [];
    this.#pendingBytes = 0;
    return [this.#compress(input)];
  }
}
