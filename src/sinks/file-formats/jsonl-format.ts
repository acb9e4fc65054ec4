import { describe } from '../../runtime/errors.js';
import type { PartEncoder, PartFormat } from './part-format.js';

/**
 * JSON lines: one `JSON.stringify`d record per `\n`-terminated line (`undefined` becomes `null`).
 *
 * @example
 * ```ts
 * const enc = jsonlFormat().part();
 * enc.line!({ a: 1 }); // '{"a":1}\n'
 * ```
 */
export function jsonlFormat<T>(): PartFormat<T> {
  const encoder: PartEncoder<T> = {
    start: () => [],
    line(record) {
      let json: string | undefined;
      try {
        json = JSON.stringify(record);
      } catch (err) {
        throw new TypeError(`record is not JSON-serializable: ${describe(err)}`, { cause: err });
      }
      return (json === undefined ? 'null' : json) + '\n';
    },
    encode: (records, start, end) => {
      let text = '';
      for (let i = start; i < end; i++) text += encoder.line!(records[i]);
      return [Buffer.from(text)];
    },
    finish: () => [],
  };
  return { extension: 'jsonl', prepare: () => undefined, part: () => encoder };
}
