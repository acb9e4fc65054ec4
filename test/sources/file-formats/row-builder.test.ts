import { describe, expect, it } from 'vitest';
import { makeColumnRowBuilder, makeRowBuilder } from '../../../src/sources/file-formats/row-builder.js';

describe('row builders', () => {
  it('build objects with the columns in order, converting fields', () => {
    const build = makeRowBuilder(['id', 'price', 'odd "name"'], [undefined, Number, undefined]);
    expect(build.width).toBe(3);
    const row = build.make(['a', '2.5', 'x']);
    expect(row).toEqual({ id: 'a', price: 2.5, 'odd "name"': 'x' });
    expect(Object.keys(row)).toEqual(['id', 'price', 'odd "name"']);
  });

  it('surface what a converter throws', () => {
    const build = makeRowBuilder(['n'], [() => { throw new TypeError('bad n'); }]);
    expect(() => build.make(['1'])).toThrow('bad n');
  });

  it('keep __proto__ as an own property, never as the prototype', () => {
    for (const row of [makeRowBuilder(['__proto__', 'b'], [undefined, undefined]).make([{ polluted: true }, 1]), makeColumnRowBuilder(['__proto__', 'b'])([[{ polluted: true }], [1]], 0)]) {
      expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
      expect(Object.getOwnPropertyNames(row)).toEqual(['__proto__', 'b']);
      expect((row as { polluted?: boolean }).polluted).toBeUndefined();
    }
  });

  it('build rows from columns, typed arrays included', () => {
    const build = makeColumnRowBuilder(['s', 'n']);
    expect(build([['x', 'y'], Float64Array.of(1, 2)], 1)).toEqual({ s: 'y', n: 2 });
  });
});
