import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ConfigError } from '../../src/runtime/errors.js';
import { countWindow } from '../../src/windows/count-window.js';
import { globalWindow } from '../../src/windows/global-window.js';
import { windows } from '../../src/windows/index.js';
import { session } from '../../src/windows/session.js';
import { slidingCount } from '../../src/windows/sliding-count.js';
import { sliding } from '../../src/windows/sliding.js';
import { tumbling } from '../../src/windows/tumbling.js';
import { isEventTimeAssigner, isWindowAssigner } from '../../src/windows/window-assigner.js';
import { windowsContaining } from './support.js';

// One contract, every time assigner: each window holds t, starts on the grid, has the size, and
// the list is exactly the brute-force one.
const timeAssigners = [
  { name: 'tumbling', make: (size: number, slide: number, offset: number) => ({ a: tumbling(size, offset), size, slide: size, offset }) },
  {
    name: 'sliding',
    make: (size: number, slide: number, offset: number) => {
      const s = Math.min(size, slide);
      return { a: sliding(size, s, offset), size, slide: s, offset };
    },
  },
];

describe.each(timeAssigners)('$name assigner contract', ({ make }) => {
  it('assigns exactly the grid windows that contain t (negative t and offsets too)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -1e6, max: 1e6 }),
        fc.integer({ min: 1, max: 500 }),
        fc.integer({ min: 1, max: 500 }),
        fc.integer({ min: -1000, max: 1000 }),
        (t, size, slide, offset) => {
          const { a, size: sz, slide: sl, offset: off } = make(size, slide, offset);
          const got = a.assign(t);
          for (const w of got) {
            expect(w.start <= t && t < w.end).toBe(true);
            expect(w.end - w.start).toBe(sz);
            expect((((w.start - off) % sl) + sl) % sl).toBe(0);
          }
          expect([...got].sort((x, y) => x.start - y.start)).toEqual(windowsContaining(t, sz, sl, off).sort((x, y) => x.start - y.start));
        },
      ),
    );
  });
});

describe('assigners', () => {
  it('tumbling floors negative times: start = t − ((t − offset) mod size)', () => {
    expect(tumbling(10).assign(-1)).toEqual([{ start: -10, end: 0 }]);
    expect(tumbling(10).assign(-10)).toEqual([{ start: -10, end: 0 }]);
    expect(tumbling(10, 3).assign(2)).toEqual([{ start: -7, end: 3 }]);
    expect(tumbling(10, -3).assign(7)).toEqual([{ start: 7, end: 17 }]);
  });

  it('sliding lists every window holding t, earliest first', () => {
    expect(sliding(10, 4).assign(9)).toEqual([
      { start: 0, end: 10 },
      { start: 4, end: 14 },
      { start: 8, end: 18 },
    ]);
  });

  it('validates arguments with messages naming the factory, the field and the value', () => {
    expect(() => tumbling(-5)).toThrow(new ConfigError('windows.tumbling: sizeMs must be a positive integer (ms), got -5'));
    expect(() => tumbling(10, 1.5)).toThrow(/windows.tumbling: offsetMs must be an integer/);
    expect(() => sliding(10, 20)).toThrow(/slideMs must not exceed sizeMs/);
    expect(() => sliding(10, 0)).toThrow(/slideMs must be a positive integer/);
    expect(() => session(0)).toThrow(/windows.session: gapMs must be a positive number/);
    expect(() => countWindow(0)).toThrow(/windows.count: n must be a positive integer/);
    expect(() => slidingCount(3, 4)).toThrow(/step must not exceed n/);
    expect(() => tumbling(Number.NaN)).toThrow(ConfigError);
  });

  it('the windows namespace exposes the six factories', () => {
    expect(Object.keys(windows).sort()).toEqual(['count', 'global', 'session', 'sliding', 'slidingCount', 'tumbling']);
    const all = [windows.tumbling(1), windows.sliding(2, 1), windows.session(1), windows.count(1), windows.slidingCount(2, 1), windows.global()];
    expect(all.every(isWindowAssigner)).toBe(true);
    expect(all.map(isEventTimeAssigner)).toEqual([true, true, true, false, false, false]);
    expect(isWindowAssigner({ kind: 'weekly' })).toBe(false);
    expect(globalWindow()).toEqual({ kind: 'global' });
  });
});
