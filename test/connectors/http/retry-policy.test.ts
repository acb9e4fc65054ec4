import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/runtime/errors.js';
import { retryPolicy } from '../../../src/connectors/http/retry-policy.js';

describe('retryPolicy', () => {
  it('doubles from baseDelayMs up to maxDelayMs, without jitter', () => {
    const p = retryPolicy({ attempts: 6, baseDelayMs: 10, maxDelayMs: 50, jitter: 0 }, 'test');
    expect([1, 2, 3, 4, 5].map((n) => p.delayMs(n))).toEqual([10, 20, 40, 50, 50]);
  });

  it('stops after the last attempt', () => {
    const p = retryPolicy({ attempts: 3, baseDelayMs: 1, jitter: 0 }, 'test');
    expect(p.attempts).toBe(3);
    expect(p.delayMs(2)).toBe(2);
    expect(p.delayMs(3)).toBeUndefined();
    expect(retryPolicy({ attempts: 1 }, 'test').delayMs(1)).toBeUndefined();
  });

  it('never waits less than a Retry-After, even above maxDelayMs', () => {
    const p = retryPolicy({ attempts: 5, baseDelayMs: 10, maxDelayMs: 100, jitter: 0 }, 'test');
    expect(p.delayMs(1, 1000)).toBe(1000);
    expect(p.delayMs(3, 5)).toBe(40);
  });

  it('draws the jittered share uniformly below the exponential delay', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        (attempt, jitter, r) => {
          const p = retryPolicy({ attempts: 100, baseDelayMs: 7, maxDelayMs: 5000, jitter, random: () => r }, 'test');
          const d = p.delayMs(attempt)!;
          const full = Math.min(5000, 7 * 2 ** (attempt - 1));
          expect(d).toBeLessThanOrEqual(full);
          expect(d).toBeGreaterThanOrEqual(full * (1 - jitter) - 1e-9);
        },
      ),
    );
  });

  it('uses full jitter by default', () => {
    const p = retryPolicy({ baseDelayMs: 100, random: () => 0.75 }, 'test');
    expect(p.delayMs(1)).toBeCloseTo(25);
  });

  it('validates options, naming the connector, the option and the value', () => {
    expect(() => retryPolicy({ attempts: 0 }, 'sinks.http')).toThrow(ConfigError);
    expect(() => retryPolicy({ attempts: 0 }, 'sinks.http')).toThrow('sinks.http: retry.attempts must be an integer ≥ 1 (attempts in total), got 0');
    expect(() => retryPolicy({ baseDelayMs: -1 }, 'x')).toThrow('retry.baseDelayMs');
    expect(() => retryPolicy({ baseDelayMs: 100, maxDelayMs: 50 }, 'x')).toThrow('retry.maxDelayMs must be a number of ms ≥ baseDelayMs (100), got 50');
    expect(() => retryPolicy({ jitter: 2 }, 'x')).toThrow('retry.jitter must be a number in [0, 1], got 2');
    expect(() => retryPolicy(5 as never, 'x')).toThrow('x: retry must be an object, got 5');
  });
});
