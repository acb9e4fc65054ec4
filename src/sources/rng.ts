/** 2^32, to split numbers into 32-bit halves and scale 32-bit outputs into [0, 1). */
const TWO_POW_32 = 4294967296;
/** The golden-ratio increment of splitmix: consecutive states are far apart. */
const GOLDEN = 0x9e3779b9;

/** murmur3's 32-bit finalizer: a bijection with full avalanche (every input bit flips ~half the output bits). */
function mix32(z: number): number {
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * A small, fast, seeded pseudo-random generator (splitmix32) whose stream can be positioned by
 * `(seed, index)` in O(1) without allocating: `reset(seed, i)` puts it at the start of the
 * stream that belongs to record `i`, so what record `i` draws depends only on the seed and `i`,
 * never on which batch it was read in or on what earlier records drew. That is what makes a
 * generator source deterministic and seekable.
 *
 * Not cryptographic. Outputs have 32 bits of resolution.
 *
 * @example
 * ```ts
 * const rng = new Rng(42);
 * rng.reset(42, 1000);           // the stream of record 1000
 * const user = 'u' + rng.int(1000);
 * const page = rng.pick(['/', '/cart', '/checkout']);
 * const coin = rng.next() < 0.5;
 * ```
 */
export class Rng {
  #state = 0;

  /** A generator positioned at the stream of `(seed, index)`; both are safe integers (negative allowed). */
  constructor(seed = 1, index = 0) {
    this.reset(seed, index);
  }

  /**
   * Position the generator at the start of the stream of `(seed, index)`. Any safe integers are
   * accepted; both are hashed in full (all 53 bits), so nearby seeds and indices give unrelated
   * streams. Allocates nothing: call it once per record on the hot path.
   */
  reset(seed: number, index: number): void {
    const seedHash = mix32((seed >>> 0) ^ mix32((Math.floor(seed / TWO_POW_32) >>> 0) ^ 0x243f6a88));
    const indexHash = mix32(((index >>> 0) + GOLDEN) ^ mix32((Math.floor(index / TWO_POW_32) >>> 0) ^ 0x85a308d3));
    this.#state = mix32(seedHash ^ Math.imul(indexHash, 0x27d4eb2f) ^ 0x13198a2e);
  }

  /** The next 32-bit unsigned integer. */
  nextUint32(): number {
    this.#state = (this.#state + GOLDEN) >>> 0;
    return mix32(this.#state);
  }

  /** The next number, uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** The next integer, uniform in [0, n), for a positive integer `n` ≤ 2^32. */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A uniformly chosen element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
}
