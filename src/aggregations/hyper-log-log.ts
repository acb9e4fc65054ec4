import { hashValue } from './hash-value.js';

/** Smallest and largest supported precision (2^4 = 16 to 2^18 = 262,144 registers). */
const MIN_PRECISION = 4;
const MAX_PRECISION = 18;
/** Bits of hash HyperLogLog consumes: `p` choose the register, `64 - p` give the rank. */
const HASH_BITS = 64;
/** 1 / (2 ln 2): the limit of the bias-correction constant alpha_m for large m. */
const ALPHA_INF = 1 / (2 * Math.LN2);

const scratch = new Uint32Array(2);
const histogram = new Float64Array(HASH_BITS + 2);

/**
 * HyperLogLog sketches as plain `Uint8Array`s of `2^p` registers (no class: the sketch is a
 * checkpointed accumulator and must survive `v8.serialize`). The precision is the log2 of the array
 * length. A sketch counts distinct values with a relative standard error of about `1.04 / sqrt(2^p)`
 * (0.81 % at the usual p = 14, 16 KiB), whatever the cardinality; merging is a register-wise maximum,
 * so it is exact: merged sketches equal the sketch of the concatenated input.
 *
 * Values are hashed to 64 bits with {@link hashValue}. The estimate uses Ertl's improved raw
 * estimator ("New cardinality estimation algorithms for HyperLogLog sketches", 2017), which stays
 * unbiased from tiny to huge cardinalities without HLL++'s empirical bias tables.
 *
 * @example
 * ```ts
 * const sketch = hyperLogLog.create(12);
 * for (let i = 0; i < 1000; i++) hyperLogLog.add(sketch, `user-${i % 100}`);
 * hyperLogLog.estimate(sketch); // about 100
 * ```
 */
export const hyperLogLog = {
  /** Smallest supported precision. */
  minPrecision: MIN_PRECISION,
  /** Largest supported precision. */
  maxPrecision: MAX_PRECISION,

  /** An empty sketch of `2^precision` registers; `precision` must be an integer in [4, 18] (not checked here). */
  create(precision: number): Uint8Array {
    return new Uint8Array(1 << precision);
  },

  /** The precision of a sketch, from its length. */
  precision(registers: Uint8Array): number {
    return 31 - Math.clz32(registers.length);
  },

  /** Add a value (mutates `registers`, allocates nothing). */
  add(registers: Uint8Array, value: string | number | bigint | boolean): void {
    hashValue(value, scratch);
    const high = scratch[0];
    const p = 31 - Math.clz32(registers.length);
    const index = high >>> (32 - p);
    // The rank is 1 + the number of leading zeros in the 64 - p hash bits after the index. The high
    // word's bits after the index are shifted to the top; when they are all zero, the low word goes on.
    const rest = (high << p) >>> 0;
    const rank = rest !== 0 ? Math.clz32(rest) + 1 : 32 - p + Math.clz32(scratch[1]) + 1;
    if (rank > registers[index]) registers[index] = rank;
  },

  /**
   * Fold `from` into `into` (register-wise maximum); `from` is not changed.
   * @throws RangeError when the two sketches have different precisions.
   */
  merge(into: Uint8Array, from: Uint8Array): void {
    if (into.length !== from.length) {
      throw new RangeError(
        `HyperLogLog: cannot merge sketches of precision ${hyperLogLog.precision(into)} and ${hyperLogLog.precision(from)}`,
      );
    }
    for (let i = 0; i < into.length; i++) if (from[i] > into[i]) into[i] = from[i];
  },

  /** Estimated number of distinct values added, rounded to an integer; 0 for an empty sketch. */
  estimate(registers: Uint8Array): number {
    const m = registers.length;
    const q = HASH_BITS - (31 - Math.clz32(m));
    histogram.fill(0);
    for (let i = 0; i < m; i++) histogram[registers[i]]++;
    let z = m * tau(1 - histogram[q + 1] / m);
    for (let k = q; k >= 1; k--) z = 0.5 * (z + histogram[k]);
    z += m * sigma(histogram[0] / m);
    return Math.round((ALPHA_INF * m * m) / z);
  },
};

/** Ertl's sigma(x) = x + sum_k x^(2^k) 2^(k-1): corrects for registers still at zero. */
function sigma(x: number): number {
  if (x === 1) return Infinity;
  let y = 1;
  let z = x;
  for (;;) {
    x *= x;
    const previous = z;
    z += x * y;
    y += y;
    if (z === previous) return z;
  }
}

/** Ertl's tau(x): corrects for registers that reached the largest possible rank. */
function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  for (;;) {
    x = Math.sqrt(x);
    const previous = z;
    y *= 0.5;
    z -= (1 - x) * (1 - x) * y;
    if (z === previous) return z / 3;
  }
}
