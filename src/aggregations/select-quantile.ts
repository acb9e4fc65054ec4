/**
 * The exact `q`-quantile of `values`, interpolated linearly between the two closest ranks: the value
 * at fractional rank `q * (n - 1)` of the sorted values (numpy's default `"linear"` method, R's
 * type 7). `undefined` when `values` is empty.
 *
 * Runs in expected O(n) with quickselect (median-of-three pivots), without sorting and without
 * allocating: it reorders `values` in place, which is harmless for a multiset accumulator.
 *
 * @param values - finite numbers or infinities, no `NaN`; reordered in place.
 * @param q - in [0, 1], validated by the caller.
 *
 * @example
 * ```ts
 * selectQuantile([4, 1, 3, 2], 0.25); // 1.75
 * ```
 */
export function selectQuantile(values: number[], q: number): number | undefined {
  const n = values.length;
  if (n === 0) return undefined;
  const rank = q * (n - 1);
  const k = Math.floor(rank);
  const fraction = rank - k;
  selectInPlace(values, k);
  const low = values[k];
  if (fraction === 0 || k + 1 >= n) return low;
  // After selection every value right of k is >= values[k]: the next rank is their minimum.
  let high = values[k + 1];
  for (let i = k + 2; i < n; i++) if (values[i] < high) high = values[i];
  // Equal neighbours (including two equal infinities) must not go through `high - low`.
  return high === low ? low : low + fraction * (high - low);
}

/** Reorder `a` so that a[k] is its k-th smallest value, smaller ones before it, larger after. */
function selectInPlace(a: number[], k: number): void {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    // Median of three: sorted or reversed input (repeated early firings leave the array partly
    // ordered) stays linear instead of degrading to quadratic.
    const mid = (lo + hi) >>> 1;
    if (a[mid] < a[lo]) swap(a, lo, mid);
    if (a[hi] < a[lo]) swap(a, lo, hi);
    if (a[hi] < a[mid]) swap(a, mid, hi);
    const pivot = a[mid];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        swap(a, i, j);
        i++;
        j--;
      }
    }
    // Now a[lo..j] <= pivot <= a[i..hi], and everything strictly between j and i equals pivot.
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

function swap(a: number[], i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}
