import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/runtime/errors.js';
import { CircuitBreaker, circuitBreakerOptions } from '../../../src/connectors/http/circuit-breaker.js';

function breaker(failureThreshold: number, resetMs: number): CircuitBreaker {
  return new CircuitBreaker(circuitBreakerOptions({ failureThreshold, resetMs }, 'test'));
}

describe('CircuitBreaker', () => {
  it('stays closed below the threshold; a success resets the count', () => {
    const b = breaker(3, 100);
    b.onFailure(0);
    b.onFailure(1);
    b.onSuccess();
    b.onFailure(2);
    b.onFailure(3);
    expect(b.state).toBe('closed');
    expect(b.waitMs(4)).toBe(0);
  });

  it('opens after N consecutive failures and makes callers wait (not drop) until resetMs passed', () => {
    const b = breaker(2, 100);
    b.onFailure(0);
    b.onFailure(10);
    expect(b.state).toBe('open');
    expect(b.waitMs(10)).toBe(100);
    expect(b.waitMs(60)).toBe(50);
    expect(b.waitMs(110)).toBe(0);
    expect(b.state).toBe('half-open');
  });

  it('lets exactly one probe through when half-open; its success closes the circuit', () => {
    const b = breaker(1, 100);
    b.onFailure(0);
    expect(b.waitMs(100)).toBe(0);
    expect(b.waitMs(100)).toBeGreaterThan(0); // the probe is still in flight
    b.onSuccess();
    expect(b.state).toBe('closed');
    expect(b.waitMs(101)).toBe(0);
    expect(b.waitMs(101)).toBe(0);
  });

  it('a failed probe opens it again for resetMs', () => {
    const b = breaker(3, 100);
    b.onFailure(0);
    b.onFailure(0);
    b.onFailure(0);
    expect(b.waitMs(100)).toBe(0);
    b.onFailure(120);
    expect(b.state).toBe('open');
    expect(b.waitMs(150)).toBe(70);
    expect(b.waitMs(220)).toBe(0);
  });

  it('validates its options', () => {
    expect(() => circuitBreakerOptions({ failureThreshold: 0, resetMs: 10 }, 'sinks.http')).toThrow(ConfigError);
    expect(() => circuitBreakerOptions({ failureThreshold: 0, resetMs: 10 }, 'sinks.http')).toThrow(
      'sinks.http: circuitBreaker.failureThreshold must be an integer ≥ 1, got 0',
    );
    expect(() => circuitBreakerOptions({ failureThreshold: 1, resetMs: -5 }, 'x')).toThrow('x: circuitBreaker.resetMs must be a positive number of ms, got -5');
    expect(() => circuitBreakerOptions(null, 'x')).toThrow('x: circuitBreaker must be { failureThreshold, resetMs }, got null');
  });
});
