/**
 * The largest `s <= t` with `s ≡ offsetMs (mod stepMs)`: `t - ((t - offsetMs) mod stepMs)` with a
 * floored modulo, so negative times align downwards too (`alignDown(-1, 10, 0)` is `-10`).
 *
 * @example
 * ```ts
 * alignDown(12_345, 1000, 0); // 12_000
 * alignDown(-1, 10, 3);       // -7
 * ```
 */
export function alignDown(t: number, stepMs: number, offsetMs: number): number {
  const r = (t - offsetMs) % stepMs;
  // `%` truncates towards zero; a negative remainder means t lies below the aligned point.
  return r < 0 ? t - r - stepMs : t - r;
}

/**
 * Greatest common divisor of two positive integers: the pane size of a sliding window.
 *
 * @example
 * ```ts
 * gcd(10_000, 4_000); // 2_000
 * ```
 */
export function gcd(a: number, b: number): number {
  while (b !== 0) {
    const r = a % b;
    a = b;
    b = r;
  }
  return a;
}
