/** Which input of a two-input join a record came from: 0 = left (this stream), 1 = right (other). */
export type JoinSide = 0 | 1;

/**
 * A record of one input of a join, tagged with its side. Joins are built on the graph's union:
 * each input is mapped to envelopes, the two are merged (the union aligns checkpoint barriers and
 * takes the minimum watermark), and one keyed operator sees both sides in one stream.
 */
export interface JoinEnvelope {
  readonly side: JoinSide;
  readonly record: unknown;
}

/**
 * The map function that wraps records of one side into {@link JoinEnvelope}s.
 *
 * @example
 * ```ts
 * const wrapLeft = tagSide(0);
 * wrapLeft({ id: 1 }); // { side: 0, record: { id: 1 } }
 * ```
 */
export function tagSide(side: JoinSide): (record: unknown) => JoinEnvelope {
  return (record) => ({ side, record });
}
