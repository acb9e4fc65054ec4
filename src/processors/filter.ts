import type { Batch } from '../runtime/elements.js';
import type { FusibleOperator } from '../runtime/chain-stage.js';
import type { OperatorContext, OperatorSpec, Output } from '../runtime/operator.js';

/**
 * Keep the records for which `predicate` returns true. Stateless: fused with its neighbours
 * (in a chain it runs record by record, see {@link FusibleOperator}).
 * A throwing predicate follows the step's error policy for that record.
 *
 * @example
 * ```ts
 * const spec = filterOperator('expensive', (e: { price: number }) => e.price > 10);
 * ```
 */
export function filterOperator<T>(name: string, predicate: (record: T) => boolean): OperatorSpec<T, T> {
  return {
    name,
    stateless: true,
    create: (ctx): FusibleOperator<T, T> => ({
      processBatch: (batch, out) => filterBatch(batch, out, predicate, ctx),
      recordStep: { kind: 'filter', fn: predicate, ctx },
    }),
  };
}

function filterBatch<T>(batch: Batch<T>, out: Output<T>, predicate: (record: T) => boolean, ctx: OperatorContext): void | Promise<void> {
  const records = batch.records;
  const times = batch.timestamps;
  const keptRecords: T[] = [];
  const keptTimes: number[] = [];
  const n = records.length;
  for (let i = 0; i < n; i++) {
    const record = records[i];
    let keep: boolean;
    try {
      keep = predicate(record);
    } catch (err) {
      ctx.recordFailed(record, times[i], err, batch.source, out);
      continue;
    }
    if (keep) {
      keptRecords.push(record);
      keptTimes.push(times[i]);
    }
  }
  if (keptRecords.length === n) return out.emit(records, times);
  return out.emit(keptRecords, keptTimes);
}
