import { describe, expect, it } from 'vitest';
import { compressionFromMagic, compressionFromName, stripCompressionExtension } from '../../../src/sources/file-formats/compression.js';

describe('compression detection', () => {
  it('reads the compression from the extension', () => {
    expect(compressionFromName('a.jsonl.gz')).toBe('gzip');
    expect(compressionFromName('A.CSV.GZIP')).toBe('gzip');
    expect(compressionFromName('a.parquet.zst')).toBe('zstd');
    expect(compressionFromName('a.zstd')).toBe('zstd');
    expect(compressionFromName('a.jsonl')).toBeUndefined();
    expect(stripCompressionExtension('dir.gz/a.csv.zst')).toBe('dir.gz/a.csv');
    expect(stripCompressionExtension('a.csv')).toBe('a.csv');
  });

  it('reads the compression from the magic bytes', () => {
    expect(compressionFromMagic(Uint8Array.of(0x1f, 0x8b, 8, 0))).toBe('gzip');
    expect(compressionFromMagic(Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd))).toBe('zstd');
    expect(compressionFromMagic(Buffer.from('{"a"'))).toBe('none');
    expect(compressionFromMagic(Uint8Array.of(0x1f))).toBe('none');
  });
});
