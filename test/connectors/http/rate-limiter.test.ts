import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/runtime/errors.js';
import { RateLimiter } from '../../../src/connectors/http/rate-limiter.js';

describe('RateLimiter', () => {
  it('spaces operations evenly by default', () => {
    const limiter = new RateLimiter(10, 'test');
    expect(limiter.take(0)).toBe(0);
    expect(limiter.take(0)).toBe(100);
    expect(limiter.take(40)).toBe(60);
    expect(limiter.take(100)).toBe(0);
    expect(limiter.take(150)).toBe(50);
  });

  it('allows a burst, then the rate', () => {
    const limiter = new RateLimiter(1, 'test', 3);
    expect([limiter.take(0), limiter.take(0), limiter.take(0)]).toEqual([0, 0, 0]);
    expect(limiter.take(0)).toBe(1000);
    expect(limiter.take(1000)).toBe(0);
  });

  it('never lets more through than burst + rate × elapsed (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.5, max: 500, noNaN: true }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 200 }),
        (rate, burst, steps) => {
          const limiter = new RateLimiter(rate, 'test', burst);
          let now = 0;
          let granted = 0;
          for (const step of steps) {
            now += step;
            if (limiter.take(now) === 0) granted++;
          }
          expect(granted).toBeLessThanOrEqual(burst + (rate * now) / 1000 + 1e-9);
        },
      ),
    );
  });

  it('a wait it returns is enough', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.5, max: 500, noNaN: true }), fc.integer({ min: 0, max: 10_000 }), (rate, start) => {
        const limiter = new RateLimiter(rate, 'test');
        limiter.take(start);
        const wait = limiter.take(start);
        expect(wait).toBeGreaterThan(0);
        expect(limiter.take(start + wait)).toBe(0);
      }),
    );
  });

  it('does not mint tokens when the clock steps back', () => {
    const limiter = new RateLimiter(1, 'test');
    expect(limiter.take(5000)).toBe(0);
    expect(limiter.take(1000)).toBeGreaterThan(0);
    expect(limiter.take(5500)).toBe(500);
  });

  it('validates its options', () => {
    expect(() => new RateLimiter(0, 'sinks.http')).toThrow(ConfigError);
    expect(() => new RateLimiter(0, 'sinks.http')).toThrow('sinks.http: ratePerSec must be a positive number of requests per second, got 0');
    expect(() => new RateLimiter(Number.NaN, 'x')).toThrow('ratePerSec');
    expect(() => new RateLimiter(1, 'x', 0.5)).toThrow('x: burst must be a number ≥ 1, got 0.5');
  });
});
