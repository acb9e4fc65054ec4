import type { Rng } from './rng.js';

/** A synthetic web click: what {@link generatorSource} emits when it is given no `make`. */
export interface ClickEvent {
  /** The record's index in the generator's stream. */
  readonly id: number;
  /** One of 1000 users, `'u0'`…`'u999'`. */
  readonly user: string;
  /** One of {@link CLICK_PAGES}. */
  readonly page: string;
  /** A price in [0, 100) with two decimals. */
  readonly price: number;
  /** Event time in ms since the epoch: {@link CLICK_BASE_TIME_MS} + 10 ms per index. */
  readonly t: number;
}

/** Event time of click 0: fixed, so demos and benchmarks print the same windows on every run. */
export const CLICK_BASE_TIME_MS = Date.UTC(2026, 0, 1);

/** The pages a click can be on. */
export const CLICK_PAGES: readonly string[] = Object.freeze([
  '/',
  '/search',
  '/product',
  '/cart',
  '/checkout',
  '/account',
  '/help',
  '/about',
]);

/**
 * Make click number `index` from an {@link Rng} already positioned for it: event times advance
 * by 10 ms per index (100 clicks per second of event time), in order.
 *
 * @example
 * ```ts
 * const rng = new Rng();
 * rng.reset(1, 7);
 * const click = makeClickEvent(7, rng); // { id: 7, user: 'u…', page: '…', price: …, t: CLICK_BASE_TIME_MS + 70 }
 * ```
 */
export function makeClickEvent(index: number, rng: Rng): ClickEvent {
  return {
    id: index,
    user: 'u' + rng.int(1000),
    page: rng.pick(CLICK_PAGES),
    price: rng.int(10000) / 100,
    t: CLICK_BASE_TIME_MS + index * 10,
  };
}
