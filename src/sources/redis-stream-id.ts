/**
 * Redis stream entry ids (`<ms>-<seq>`, both 64-bit) compared and read without BigInt on the
 * common path: ids are compared by their ms part, then by their sequence, as numbers while they
 * fit in 2^53 and as digit strings beyond.
 *
 * @example
 * ```ts
 * streamId.compare('1700000000000-5', '1700000000000-12'); // < 0
 * streamId.ms('1700000000000-5');                         // 1700000000000
 * streamId.isValid('0-0');                                // true
 * ```
 */
export const streamId = Object.freeze({
  /** True for a complete id `<ms>-<seq>` (the form entries have; `*` or `$` are not ids). */
  isValid(id: unknown): id is string {
    return typeof id === 'string' && /^\d{1,20}-\d{1,20}$/.test(id);
  },

  /** Negative, zero or positive as `a` is before, equal to or after `b`. */
  compare(a: string, b: string): number {
    const da = a.indexOf('-');
    const db = b.indexOf('-');
    const byMs = compareDigits(a.slice(0, da), b.slice(0, db));
    return byMs !== 0 ? byMs : compareDigits(a.slice(da + 1), b.slice(db + 1));
  },

  /** The ms part of an id: the time Redis (or the producer) gave the entry, ms since the epoch. */
  ms(id: string): number {
    return Number(id.slice(0, id.indexOf('-')));
  },
});

/** Compare two unsigned decimal integers given as digit strings (no leading zeros assumed away). */
function compareDigits(a: string, b: string): number {
  if (a.length < 16 && b.length < 16) return Number(a) - Number(b);
  const x = a.replace(/^0+(?=\d)/, '');
  const y = b.replace(/^0+(?=\d)/, '');
  if (x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}
