/** Scratch view to read a double's bits without allocating; little-endian on every platform. */
const bits = new DataView(new ArrayBuffer(8));

// Distinct start states per kind, so that `1`, `'1'`, `1n` and `true` hash apart.
const STRING_SEED = 0x2545f491;
const NUMBER_SEED = 0x9e3779b9;
const BIGINT_SEED = 0x7f4a7c15;
const BOOLEAN_SEED = 0x3c6ef372;

/**
 * A 64-bit hash of a primitive, written as two 32-bit words into `out[0]` (high, the most thoroughly
 * mixed) and `out[1]` (low). Values equal under SameValueZero hash equally (`-0` and `0`, every `NaN`).
 * Strings are hashed by UTF-16 code units in two independent multiplicative lanes (64 bits of state,
 * so collisions stay negligible far beyond 2^32 distinct values), numbers by their IEEE-754 bits
 * through MurmurHash3 rounds, and both are finished with MurmurHash3's avalanche. Not cryptographic.
 *
 * Allocation-free: used per record by HyperLogLog. The hash is part of checkpointed sketches, so it
 * must never change between releases.
 *
 * @param value - a string, number, bigint or boolean.
 * @param out - receives the two words; length at least 2.
 *
 * @example
 * ```ts
 * const out = new Uint32Array(2);
 * hashValue('user-42', out); // out[0], out[1] now hold the hash
 * ```
 */
export function hashValue(value: string | number | bigint | boolean, out: Uint32Array): void {
  switch (typeof value) {
    case 'string':
      hashString(value, STRING_SEED, out);
      return;
    case 'number':
      // SameValueZero: -0 is 0 and every NaN is the same value, whatever its payload bits.
      bits.setFloat64(0, value === 0 ? 0 : value === value ? value : NaN, true);
      hashWords(bits.getUint32(0, true), bits.getUint32(4, true), NUMBER_SEED, out);
      return;
    case 'bigint':
      hashString(value.toString(16), BIGINT_SEED, out);
      return;
    default:
      hashWords(value ? 1 : 0, 0, BOOLEAN_SEED, out);
  }
}

function hashString(s: string, seed: number, out: Uint32Array): void {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // Multiply spreads each unit upwards; the rotation feeds the high bits back down, so every
    // output bit depends on every input unit before the final avalanche.
    h1 = Math.imul(h1 ^ c, 0x9e3779b1);
    h1 = (h1 << 15) | (h1 >>> 17);
    h2 = Math.imul(h2 ^ c, 0x5f356495);
    h2 = (h2 << 13) | (h2 >>> 19);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 0x85ebca6b) ^ Math.imul(h2 ^ (h2 >>> 13), 0xc2b2ae35);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 0x85ebca6b) ^ Math.imul(h1 ^ (h1 >>> 13), 0xc2b2ae35);
  h1 ^= s.length;
  out[0] = fmix32(h1 ^ Math.imul(h2, 0x27d4eb2f));
  out[1] = fmix32(h2 + h1);
}

function hashWords(lo: number, hi: number, seed: number, out: Uint32Array): void {
  const a = mixWords(lo, hi, seed);
  out[0] = a;
  out[1] = mixWords(lo, hi, seed ^ a);
}

/** MurmurHash3 x86_32 of two 32-bit words. */
function mixWords(lo: number, hi: number, seed: number): number {
  let h = seed;
  h = murmurRound(h, lo);
  h = murmurRound(h, hi);
  return fmix32(h ^ 8);
}

function murmurRound(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** MurmurHash3's finalizer: every input bit flips each output bit with probability ~1/2. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
