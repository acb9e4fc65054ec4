import { gunzipSync } from 'node:zlib';
import { decompress } from 'zstd-napi';
import { describe, expect, it } from 'vitest';
import { Compressor } from '../../../src/sinks/file-formats/compressor.js';

describe('Compressor', () => {
  for (const kind of ['gzip', 'zstd'] as const) {
    it(`${kind}: gathers input into independent members/frames that decompress as one stream`, async () => {
      const compressor = await Compressor.create(kind, undefined);
      const pieces: Buffer[] = [];
      const input: Buffer[] = [];
      for (let i = 0; i < 200; i++) {
        const chunk = Buffer.from(`line ${i} ${'x'.repeat(i * 37)}\n`);
        input.push(chunk);
        pieces.push(...compressor.push([chunk]));
      }
      expect(pieces.length).toBeGreaterThan(1); // more than 256 KiB of input: several members
      pieces.push(...compressor.end());
      expect(compressor.end()).toEqual([]);
      const all = Buffer.concat(pieces);
      const plain = kind === 'gzip' ? gunzipSync(all) : decompress(all);
      expect(plain.equals(Buffer.concat(input))).toBe(true);
    });
  }

  it('gives nothing for no input', async () => {
    const compressor = await Compressor.create('gzip', 1);
    expect(compressor.push([])).toEqual([]);
    expect(compressor.end()).toEqual([]);
  });
});
