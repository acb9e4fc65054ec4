import type { PartitionAssigner } from 'kafkajs';

/** A partition as `[topic, partition]`. */
export type TopicPartition = readonly [string, number];

/** What a member of the group reports when it (re)joins. */
export interface MemberClaims {
  readonly id: string;
  /** Partitions the member holds now. */
  readonly owned: readonly TopicPartition[];
  /** Of those, the ones it can give up without repeating output (nothing read since its last committed checkpoint). */
  readonly clean: readonly TopicPartition[];
}

/** The assignor's name in the group protocol. */
export const STICKY_ASSIGNOR = 'WeirSticky';

/**
 * A balanced, sticky assignment: every member gets ⌊P/N⌋ or ⌈P/N⌉ partitions, and keeps as many
 * of the partitions it owns as that allows. When a member must give partitions up, clean ones go
 * first. A partition claimed by two members (one of them a stale member the group has not expired
 * yet) stays with the first by id.
 *
 * Why: kafkajs' round-robin assignor reshuffles partitions whenever membership changes, so a
 * process that merely rejoins can lose partitions it has records in flight for — which the Kafka
 * source must then treat as a failure (the new owner would repeat those records). Keeping
 * partitions where they are limits moves to what balance needs.
 *
 * @example
 * ```ts
 * assignSticky([{ id: 'a', owned: [['t', 0], ['t', 1]], clean: [] }, { id: 'b', owned: [], clean: [] }], [['t', 0], ['t', 1]]);
 * // Map { 'a' => [['t', 0]], 'b' => [['t', 1]] }
 * ```
 */
export function assignSticky(members: readonly MemberClaims[], partitions: readonly TopicPartition[]): Map<string, TopicPartition[]> {
  const key = (tp: TopicPartition): string => `${tp[0]}\u0000${tp[1]}`;
  const all = [...partitions].sort((a, b) => (a[0] === b[0] ? a[1] - b[1] : a[0] < b[0] ? -1 : 1));
  const byKey = new Map(all.map((tp) => [key(tp), tp]));
  const sorted = [...members].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const out = new Map<string, TopicPartition[]>(sorted.map((m) => [m.id, []]));
  if (sorted.length === 0) return out;

  const taken = new Set<string>();
  const kept = new Map<string, TopicPartition[]>();
  for (const m of sorted) {
    const mine: TopicPartition[] = [];
    for (const tp of m.owned) {
      const k = key(tp);
      if (!byKey.has(k) || taken.has(k)) continue;
      taken.add(k);
      mine.push(byKey.get(k)!);
    }
    kept.set(m.id, mine);
  }

  // Who gets the extra partitions of an uneven split: those already holding the most.
  const base = Math.floor(all.length / sorted.length);
  let extra = all.length % sorted.length;
  const quota = new Map<string, number>();
  for (const m of [...sorted].sort((a, b) => kept.get(b.id)!.length - kept.get(a.id)!.length)) {
    quota.set(m.id, base + (extra > 0 ? 1 : 0));
    if (extra > 0) extra--;
  }

  const free: TopicPartition[] = all.filter((tp) => !taken.has(key(tp)));
  for (const m of sorted) {
    const mine = kept.get(m.id)!;
    const limit = quota.get(m.id)!;
    if (mine.length <= limit) continue;
    const clean = new Set(m.clean.map(key));
    // Give up clean partitions first, then the highest-numbered ones.
    const ranked = [...mine].sort((a, b) => Number(clean.has(key(b))) - Number(clean.has(key(a))) || (a[0] === b[0] ? b[1] - a[1] : a[0] < b[0] ? 1 : -1));
    const release = new Set(ranked.slice(0, mine.length - limit).map(key));
    kept.set(
      m.id,
      mine.filter((tp) => !release.has(key(tp))),
    );
    for (const tp of mine) if (release.has(key(tp))) free.push(tp);
  }
  free.sort((a, b) => (a[0] === b[0] ? a[1] - b[1] : a[0] < b[0] ? -1 : 1));
  for (const m of sorted) {
    const mine = kept.get(m.id)!;
    const limit = quota.get(m.id)!;
    while (mine.length < limit && free.length > 0) mine.push(free.shift()!);
    out.set(
      m.id,
      [...mine].sort((a, b) => (a[0] === b[0] ? a[1] - b[1] : a[0] < b[0] ? -1 : 1)),
    );
  }
  return out;
}

/** The kafkajs pieces the assignor needs (passed in: kafkajs is loaded only when a source opens). */
export interface AssignorKafkaJs {
  readonly AssignerProtocol: typeof import('kafkajs').AssignerProtocol;
}

/**
 * A kafkajs partition assigner running {@link assignSticky}. Each member sends what
 * `claims()` returns (its owned and clean partitions) as the user data of its group metadata.
 *
 * @example
 * ```ts
 * kafka.consumer({ groupId, partitionAssigners: [stickyAssigner(kafkajs, () => ({ owned: [], clean: [] }))] });
 * ```
 */
export function stickyAssigner(kafkajs: AssignorKafkaJs, claims: () => Omit<MemberClaims, 'id'>): PartitionAssigner {
  return claimsAssigner(kafkajs, STICKY_ASSIGNOR, assignSticky, claims);
}

/**
 * A kafkajs partition assigner named `name` whose members exchange their claims (owned and clean
 * partitions, as JSON user data of the group metadata) and whose leader assigns with `assign`.
 */
export function claimsAssigner(
  kafkajs: AssignorKafkaJs,
  name: string,
  assign: (members: readonly MemberClaims[], partitions: readonly TopicPartition[]) => Map<string, TopicPartition[]>,
  claims: () => Omit<MemberClaims, 'id'>,
): PartitionAssigner {
  const { MemberMetadata, MemberAssignment } = kafkajs.AssignerProtocol;
  return ({ cluster }) => ({
    name,
    version: 1,
    async assign({ members, topics }) {
      const partitions: TopicPartition[] = [];
      for (const topic of topics) for (const p of cluster.findTopicPartitionMetadata(topic)) partitions.push([topic, p.partitionId]);
      const decoded = members.map(({ memberId, memberMetadata }) => {
        let owned: TopicPartition[] = [];
        let clean: TopicPartition[] = [];
        try {
          const data = MemberMetadata.decode(memberMetadata)?.userData;
          if (data !== undefined && data.length > 0) ({ owned = [], clean = [] } = JSON.parse(data.toString('utf8')) as { owned?: TopicPartition[]; clean?: TopicPartition[] });
        } catch {
          // A member of another kind (or version): it claims nothing.
        }
        return { id: memberId, owned, clean };
      });
      return [...assign(decoded, partitions)].map(([memberId, tps]) => {
        const byTopic: Record<string, number[]> = {};
        for (const [topic, partition] of tps) (byTopic[topic] ??= []).push(partition);
        return { memberId, memberAssignment: MemberAssignment.encode({ version: 1, assignment: byTopic, userData: Buffer.alloc(0) }) };
      });
    },
    protocol({ topics }) {
      const { owned, clean } = claims();
      return { name, metadata: MemberMetadata.encode({ version: 1, topics, userData: Buffer.from(JSON.stringify({ owned, clean })) }) };
    },
  });
}
