import type { FusibleOperator } from '../runtime/chain-stage.js';
import type { OperatorSpec } from '../runtime/operator.js';
import { compileTransform, type TransformSpec } from './transform-spec.js';

/**
 * The declarative transform as an operator: the spec is validated and compiled once, then each
 * record is rewritten (copy on write) or dropped by a condition. Stateless: fused with neighbours.
 *
 * @example
 * ```ts
 * const spec = transformOperator('clean', [{ rename: 'usr', to: 'user' }, { remove: 'debug' }]);
 * ```
 */
export function transformOperator(name: string, spec: TransformSpec): OperatorSpec<unknown, unknown> {
  const apply = compileTransform(spec, name);
  return {
    name,
    stateless: true,
    create: (ctx): FusibleOperator<unknown, unknown> => ({
      recordStep: { kind: 'mapOrDrop', fn: apply, ctx },
      processBatch(batch, out) {
        const records = batch.records;
        const times = batch.timestamps;
        const kept: unknown[] = [];
        const keptTimes: number[] = [];
        for (let i = 0; i < records.length; i++) {
          let result: unknown;
          try {
            result = apply(records[i], times[i]);
          } catch (err) {
            ctx.recordFailed(records[i], times[i], err, batch.source, out);
            continue;
          }
          if (result !== undefined) {
            kept.push(result);
            keptTimes.push(times[i]);
          }
        }
        return out.emit(kept, keptTimes);
      },
    }),
  };
}
