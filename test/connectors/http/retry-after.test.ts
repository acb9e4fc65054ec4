import { describe, expect, it } from 'vitest';
import { retryAfterMs } from '../../../src/connectors/http/retry-after.js';

describe('retryAfterMs', () => {
  it('reads delta-seconds', () => {
    expect(retryAfterMs('1', 123)).toBe(1000);
    expect(retryAfterMs(' 0 ', 0)).toBe(0);
    expect(retryAfterMs(['3', '9'], 0)).toBe(3000);
  });

  it('reads an HTTP date relative to now, never negative', () => {
    const at = Date.UTC(2024, 0, 1, 0, 0, 10);
    expect(retryAfterMs(new Date(at).toUTCString(), at - 4000)).toBe(4000);
    expect(retryAfterMs(new Date(at).toUTCString(), at + 4000)).toBe(0);
  });

  it('ignores what it cannot read', () => {
    expect(retryAfterMs(undefined, 0)).toBeUndefined();
    expect(retryAfterMs('soon', 0)).toBeUndefined();
    expect(retryAfterMs('1.5', 0)).toBeUndefined();
    expect(retryAfterMs('-3', 0)).toBeUndefined();
  });
});
