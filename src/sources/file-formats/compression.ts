import { createGunzip } from 'node:zlib';
import type { Transform } from 'node:stream';

/** How a file's bytes are compressed as a whole. */
export type Compression = 'none' | 'gzip' | 'zstd';

/** Size of the chunks decompressors hand out: large, so per-chunk overhead stays small. */
const CHUNK_BYTES = 256 * 1024;

/**
 * The compression a file name announces: `.gz`/`.gzip` → gzip, `.zst`/`.zstd` → zstd, else
 * `undefined` (unknown: look at the magic bytes).
 *
 * @example
 * ```ts
 * compressionFromName('logs/app.jsonl.gz'); // 'gzip'
 * ```
 */
export function compressionFromName(path: string): Compression | undefined {
  const lower = path.toLowerCase();
  if (lower.endsWith('.gz') || lower.endsWith('.gzip')) return 'gzip';
  if (lower.endsWith('.zst') || lower.endsWith('.zstd')) return 'zstd';
  return undefined;
}

/**
 * The compression the first bytes of a file show: gzip (`1f 8b`), zstd frame (`28 b5 2f fd`),
 * else `'none'`.
 *
 * @example
 * ```ts
 * compressionFromMagic(Buffer.from([0x1f, 0x8b, 8, 0])); // 'gzip'
 * ```
 */
export function compressionFromMagic(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

/**
 * `path` without its compression extension (to find the format from what is left).
 *
 * @example
 * ```ts
 * stripCompressionExtension('a/b.csv.zst'); // 'a/b.csv'
 * ```
 */
export function stripCompressionExtension(path: string): string {
  return compressionFromName(path) === undefined ? path : path.slice(0, path.lastIndexOf('.'));
}

/**
 * A streaming decompressor for `compression` (not `'none'`). zstd-napi, a native addon, is loaded
 * only here, on first use, so jobs that never read zstd do not pay for it.
 *
 * Both decompressors accept concatenated members/frames, which is what weir's file sink writes.
 *
 * @example
 * ```ts
 * const gunzip = await decompressor('gzip');
 * ```
 */
export async function decompressor(compression: Exclude<Compression, 'none'>): Promise<Transform> {
  if (compression === 'gzip') return createGunzip({ chunkSize: CHUNK_BYTES });
  const zstd = await import('zstd-napi');
  return new zstd.DecompressStream();
}
