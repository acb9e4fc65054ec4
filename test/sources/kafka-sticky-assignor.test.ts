import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assignSticky, type MemberClaims, type TopicPartition } from '../../src/sources/kafka-sticky-assignor.js';

const parts = (n: number, topic = 't'): TopicPartition[] => Array.from({ length: n }, (_, i) => [topic, i] as const);
const member = (id: string, owned: TopicPartition[] = [], clean: TopicPartition[] = []): MemberClaims => ({ id, owned, clean });

describe('assignSticky', () => {
  it('splits evenly among new members', () => {
    const out = assignSticky([member('b'), member('a')], parts(4));
    expect(out.get('a')).toEqual(parts(2));
    expect(out.get('b')).toEqual([['t', 2], ['t', 3]]);
  });

  it('a survivor keeps its partitions and takes the dead member’s', () => {
    expect(assignSticky([member('b', [['t', 1], ['t', 3]])], parts(4)).get('b')).toEqual(parts(4));
  });

  it('a member that rejoins under a new id keeps what it owned, next to a stale member', () => {
    const out = assignSticky([member('z-new', [['t', 0], ['t', 2]]), member('a-stale', [['t', 1], ['t', 3]])], parts(4));
    expect(out.get('z-new')).toEqual([['t', 0], ['t', 2]]);
    expect(out.get('a-stale')).toEqual([['t', 1], ['t', 3]]);
  });

  it('a new member gets clean partitions first when others must give some up', () => {
    const out = assignSticky([member('a', parts(4), [['t', 1]]), member('b')], parts(4));
    expect(out.get('b')).toContainEqual(['t', 1]);
    expect(out.get('a')).toHaveLength(2);
    expect(out.get('b')).toHaveLength(2);
  });

  it('ignores claims on partitions that do not exist, and double claims go to the first member by id', () => {
    const out = assignSticky([member('b', [['t', 0]]), member('a', [['t', 0], ['x', 9]])], parts(2));
    expect(out.get('a')).toEqual([['t', 0]]);
    expect(out.get('b')).toEqual([['t', 1]]);
  });

  it('always assigns every partition exactly once, balanced within one, keeping owned partitions when balance allows', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 24 }), fc.array(fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 10 }), { minLength: 1, maxLength: 6 }), (n, claims) => {
        const members = claims.map((owned, i) => member(`m${i}`, owned.map((p) => ['t', p] as const)));
        const out = assignSticky(members, parts(n));
        const all = [...out.values()].flat().map(([, p]) => p).sort((a, b) => a - b);
        expect(all).toEqual(Array.from({ length: n }, (_, i) => i));
        const sizes = [...out.values()].map((l) => l.length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        // A member never loses an owned partition while it holds no more than its share.
        const share = Math.floor(n / members.length);
        const seen = new Set<number>();
        for (const m of members) {
          const valid = [...new Set(m.owned.map(([, p]) => p).filter((p) => p < n && !seen.has(p)))];
          valid.forEach((p) => seen.add(p));
          if (valid.length <= share) for (const p of valid) expect(out.get(m.id)).toContainEqual(['t', p]);
        }
      }),
    );
  });
});
