/**
 * The delay a `Retry-After` response header asks for, in ms from `nowMs`: the header is either
 * delta-seconds (`"120"`) or an HTTP date (`"Wed, 21 Oct 2015 07:28:00 GMT"`, compared with
 * `nowMs`). `undefined` when the header is absent or unparseable; never negative (a date in the
 * past means "now").
 *
 * @example
 * ```ts
 * retryAfterMs('2', 0);                                     // 2000
 * retryAfterMs('Thu, 01 Jan 1970 00:00:05 GMT', 1_000);     // 4000
 * retryAfterMs(undefined, 0);                               // undefined
 * ```
 */
export function retryAfterMs(header: string | string[] | undefined, nowMs: number): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Only dates with a weekday or month name: Date.parse would read a bare "1.5" as a year.
  if (!/[A-Za-z]/.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return at > nowMs ? at - nowMs : 0;
}
