import { createHash } from 'node:crypto';

/**
 * The default idempotency key of a record sent by an HTTP sink: the SHA-256 (base64url, 43
 * characters) of the job name, the sink's step name, the record's sequence number in the sink's
 * input, and the record's JSON text — exactly the bytes sent for it.
 *
 * What makes it deterministic: none of the inputs depends on when or how often the record is
 * sent. Job and step names are stable across restarts (state is keyed by them); the JSON text is
 * the same for the same record; and the sequence number is counted by the sink and saved in
 * every checkpoint, so after a restore the replayed records get the sequence numbers they had
 * before the crash. A retry, or a replay from a checkpoint of a replayable source through a
 * deterministic pipeline, therefore sends the same key, and a server that deduplicates on it
 * keeps each record once. The sequence number makes two equal records at different places of
 * the stream different; two equal records at the same sequence number of two runs with the same
 * job and step names collide (give such records an id, or pass your own `idempotencyKey`).
 *
 * @param sequence the record's index in the sink's input (0-based, across batches and restarts).
 * @param json the record's JSON text.
 *
 * @example
 * ```ts
 * const key = idempotencyKey('orders', 'to-api', 41, '{"id":7}');
 * key === idempotencyKey('orders', 'to-api', 41, '{"id":7}'); // true, on every run
 * ```
 */
export function idempotencyKey(job: string, step: string, sequence: number, json: string): string {
  // Length-prefixed names: ("a:b", "c") and ("a", "b:c") never hash the same input.
  return createHash('sha256')
    .update(`${job.length}:${job}|${step.length}:${step}|${sequence}|`)
    .update(json)
    .digest('base64url');
}
