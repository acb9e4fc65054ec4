import { ConfigError, RecordError } from '../runtime/errors.js';

/**
 * The error for a record whose event time is not a finite number entering an event-time window.
 * `NaN` means the source has no `timestamp` option, so nothing says which window the record
 * belongs to: a configuration error. `±Infinity` is a bad timestamp value of that record.
 *
 * @example
 * ```ts
 * if (!Number.isFinite(t)) throw missingTimestamp('per-minute', t);
 * ```
 */
export function missingTimestamp(step: string, timestamp = Number.NaN): ConfigError | RecordError {
  if (Number.isNaN(timestamp)) {
    return new ConfigError(
      `window "${step}": a record has no event time (timestamp NaN). Event-time windows need timestamps: give the source a ` +
        "`timestamp` option, e.g. .source(src, { timestamp: 'ts' }), or use windows.count()/windows.global() on a stream without event time",
      { step },
    );
  }
  return new RecordError(step, `event time must be a finite number of ms, got ${String(timestamp)}`);
}
