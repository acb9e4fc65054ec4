import type { Batch } from '../runtime/elements.js';
import type { FusibleOperator } from '../runtime/chain-stage.js';
import type { OperatorContext, OperatorSpec, Output } from '../runtime/operator.js';

/**
 * Replace each record with zero or more records (any iterable); each output keeps the event time
 * of its input. Stateless: fused with its neighbours (in a chain it runs record by record, see
 * {@link FusibleOperator}). A throwing `fn` (or iterator) follows the step's error policy for
 * that input record; outputs it yielded before failing are discarded.
 *
 * @example
 * ```ts
 * const spec = flatMapOperator('items', (order: { items: string[] }) => order.items);
 * ```
 */
export function flatMapOperator<I, O>(name: string, fn: (record: I) => Iterable<O>): OperatorSpec<I, O> {
  return {
    name,
    stateless: true,
    create: (ctx): FusibleOperator<I, O> => ({
      processBatch: (batch, out) => flatMapBatch(batch, out, fn, ctx),
      recordStep: { kind: 'flatMap', fn, ctx },
    }),
  };
}

function flatMapBatch<I, O>(batch: Batch<I>, out: Output<O>, fn: (record: I) => Iterable<O>, ctx: OperatorContext): void | Promise<void> {
  const records = batch.records;
  const times = batch.timestamps;
  const produced: O[] = [];
  const producedTimes: number[] = [];
  for (let i = 0; i < records.length; i++) {
    const mark = produced.length;
    try {
      const result = fn(records[i]);
      if (Array.isArray(result)) {
        for (let j = 0; j < result.length; j++) produced.push(result[j] as O);
      } else {
        for (const item of result) produced.push(item);
      }
    } catch (err) {
      produced.length = mark;
      ctx.recordFailed(records[i], times[i], err, batch.source, out as Output<unknown>);
      continue;
    }
    const t = times[i];
    for (let j = mark; j < produced.length; j++) producedTimes.push(t);
  }
  return out.emit(produced, producedTimes);
}
