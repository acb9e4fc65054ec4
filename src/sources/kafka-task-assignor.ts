import type { PartitionAssigner } from 'kafkajs';
import { assignSticky, claimsAssigner, type AssignorKafkaJs, type MemberClaims, type TopicPartition } from './kafka-sticky-assignor.js';

/** The assignor's name in the group protocol (every process of a scaled-out job uses it). */
export const TASK_ASSIGNOR = 'WeirTasks';

/**
 * {@link assignSticky} over tasks instead of partitions: task n is partition n of every
 * subscribed topic, and a member gets all of a task's partitions or none. A scaled-out job needs
 * that because a task reads partition n of each of its topics (its source topics and its
 * repartition topics) in one copy of the dataflow. A task is clean when all its partitions are.
 *
 * @example
 * ```ts
 * assignTasks([{ id: 'a', owned: [], clean: [] }, { id: 'b', owned: [], clean: [] }], [['in', 0], ['in', 1], ['rep', 0], ['rep', 1]]);
 * // Map { 'a' => [['in', 0], ['rep', 0]], 'b' => [['in', 1], ['rep', 1]] }
 * ```
 */
export function assignTasks(members: readonly MemberClaims[], partitions: readonly TopicPartition[]): Map<string, TopicPartition[]> {
  const TASK = '';
  const byTask = new Map<number, TopicPartition[]>();
  for (const tp of partitions) {
    let list = byTask.get(tp[1]);
    if (list === undefined) byTask.set(tp[1], (list = []));
    list.push(tp);
  }
  const asTasks = members.map((m) => {
    const owned = [...new Set(m.owned.map((tp) => tp[1]))];
    const dirty = new Set(m.owned.filter((tp) => !m.clean.some((c) => c[0] === tp[0] && c[1] === tp[1])).map((tp) => tp[1]));
    return {
      id: m.id,
      owned: owned.map((n): TopicPartition => [TASK, n]),
      clean: owned.filter((n) => !dirty.has(n)).map((n): TopicPartition => [TASK, n]),
    };
  });
  const tasks = [...byTask.keys()].map((n): TopicPartition => [TASK, n]);
  const out = new Map<string, TopicPartition[]>();
  for (const [member, held] of assignSticky(asTasks, tasks)) out.set(member, held.flatMap((tp) => byTask.get(tp[1]) ?? []));
  return out;
}

/**
 * A kafkajs partition assigner running {@link assignTasks}, with the same member metadata as
 * `stickyAssigner` (owned and clean partitions as JSON user data).
 *
 * @example
 * ```ts
 * kafka.consumer({ groupId, partitionAssigners: [taskAssigner(kafkajs, () => ({ owned: [], clean: [] }))] });
 * ```
 */
export function taskAssigner(kafkajs: AssignorKafkaJs, claims: () => Omit<MemberClaims, 'id'>): PartitionAssigner {
  return claimsAssigner(kafkajs, TASK_ASSIGNOR, assignTasks, claims);
}
