import type { Batch } from '../runtime/elements.js';
import type { FusibleOperator } from '../runtime/chain-stage.js';
import type { OperatorContext, OperatorSpec, Output } from '../runtime/operator.js';

/**
 * Replace each record with `fn(record)`; event time is kept. Stateless: fused with its
 * neighbours (in a chain it runs record by record, see {@link FusibleOperator}). A throwing `fn`
 * follows the step's error policy for that record.
 *
 * @example
 * ```ts
 * const spec = mapOperator('to-eur', (e: { price: number }) => ({ ...e, eur: e.price * 0.9 }));
 * ```
 */
export function mapOperator<I, O>(name: string, fn: (record: I) => O): OperatorSpec<I, O> {
  return {
    name,
    stateless: true,
    create: (ctx): FusibleOperator<I, O> => ({
      processBatch: (batch, out) => mapBatch(batch, out, fn, ctx),
      recordStep: { kind: 'map', fn, ctx },
    }),
  };
}

function mapBatch<I, O>(batch: Batch<I>, out: Output<O>, fn: (record: I) => O, ctx: OperatorContext): void | Promise<void> {
  const records = batch.records;
  const n = records.length;
  const mapped = new Array<O>(n);
  let i = 0;
  try {
    for (; i < n; i++) mapped[i] = fn(records[i]);
    return out.emit(mapped, batch.timestamps);
  } catch (err) {
    if (i === n) throw err; // thrown downstream, not by fn
    return mapAfterFailure(batch, out, fn, ctx, mapped, i, err);
  }
}

/** Slow path once a record failed: keep what succeeded, apply the policy to each failure. */
function mapAfterFailure<I, O>(
  batch: Batch<I>,
  out: Output<O>,
  fn: (record: I) => O,
  ctx: OperatorContext,
  mapped: O[],
  failedAt: number,
  firstError: unknown,
): void | Promise<void> {
  const records = batch.records;
  const times = batch.timestamps;
  const keptRecords = mapped.slice(0, failedAt);
  const keptTimes = times.slice(0, failedAt);
  ctx.recordFailed(records[failedAt], times[failedAt], firstError, batch.source, out as Output<unknown>);
  for (let i = failedAt + 1; i < records.length; i++) {
    try {
      keptRecords.push(fn(records[i]));
      keptTimes.push(times[i]);
    } catch (err) {
      ctx.recordFailed(records[i], times[i], err, batch.source, out as Output<unknown>);
    }
  }
  return out.emit(keptRecords, keptTimes);
}
