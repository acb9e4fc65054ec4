import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { idempotencyKey } from '../../../src/connectors/http/idempotency-key.js';

describe('idempotencyKey', () => {
  it('is a function of job, step, sequence and JSON text only', () => {
    const a = idempotencyKey('job', 'out', 3, '{"a":1}');
    expect(a).toBe(idempotencyKey('job', 'out', 3, '{"a":1}'));
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(idempotencyKey('job', 'out', 4, '{"a":1}'));
    expect(a).not.toBe(idempotencyKey('job', 'out', 3, '{"a":2}'));
    expect(a).not.toBe(idempotencyKey('job', 'out2', 3, '{"a":1}'));
    expect(a).not.toBe(idempotencyKey('job2', 'out', 3, '{"a":1}'));
  });

  it('does not confuse where names end', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), fc.string(), (j1, s1, j2, s2) => {
        fc.pre(j1 !== j2 || s1 !== s2);
        expect(idempotencyKey(j1, s1, 0, 'x')).not.toBe(idempotencyKey(j2, s2, 0, 'x'));
      }),
    );
    expect(idempotencyKey('a|1:b', 'c', 0, '')).not.toBe(idempotencyKey('a', 'b|1:c', 0, ''));
  });
});
