import type { OperatorContext, Output } from '../runtime/operator.js';

/** Side-output tag of records later than a window's allowed lateness. *
 * @example
 * ```ts
 * graph.add({ type: 'sink', name: 'w.late', sink, input: { node: windowNode, tag: LATE_TAG } });
 * ```
 */
export const LATE_TAG = 'late';

/**
 * Late records of one batch, gathered so they leave in one side-output batch (or are counted
 * as dropped when no late output is attached).
 *
 * @example
 * ```ts
 * const late = new LateRecords();
 * late.add(record, 42);
 * late.flush(out, ctx, true); // one side-output batch on tag 'late'
 * ```
 */
export class LateRecords {
  records: unknown[] | undefined;
  timestamps: number[] | undefined;

  add(record: unknown, timestamp: number): void {
    if (this.records === undefined) {
      this.records = [];
      this.timestamps = [];
    }
    this.records.push(record);
    this.timestamps!.push(timestamp);
  }

  /** Send (or count) what was gathered, and start over. */
  flush(out: Output<unknown>, ctx: OperatorContext, toSide: boolean): void {
    const records = this.records;
    if (records === undefined) return;
    const timestamps = this.timestamps!;
    this.records = undefined;
    this.timestamps = undefined;
    if (toSide) out.side(LATE_TAG, records, timestamps);
    else ctx.countDropped(records.length, 'late');
  }
}
