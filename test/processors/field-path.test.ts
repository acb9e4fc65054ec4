import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePath, pathFromSegments, type PathSegment } from '../../src/processors/field-path.js';
import { ConfigError } from '../../src/runtime/errors.js';

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

function parseError(path: string): string {
  try {
    compilePath(path);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('WEIR_CONFIG');
    return (err as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(path)} to be rejected`);
}

describe('compilePath: syntax', () => {
  it.each<[string, PathSegment[]]>([
    ['a', ['a']],
    ['a.b[0].c', ['a', 'b', 0, 'c']],
    ['items[2]', ['items', 2]],
    ['["weird key"].x', ['weird key', 'x']],
    ["['a.b'][1]", ['a.b', 1]],
    ['[0][10]', [0, 10]],
    ['m[0].n["x y"][3]', ['m', 0, 'n', 'x y', 3]],
    ['$meta.@timestamp.user-id.ns:key', ['$meta', '@timestamp', 'user-id', 'ns:key']],
    ['["quote \\" and \\\\ backslash"]', ['quote " and \\ backslash']],
    ["['it\\'s']", ["it's"]],
    ['["\\u00e9\\n"]', ['é\n']],
    ['[""]', ['']],
    ['a[4294967294]', ['a', 4294967294]],
  ])('parses %s', (path, segments) => {
    const p = compilePath(path);
    expect(p.segments).toEqual(segments);
    expect(p.path).toBe(path);
  });

  it.each<[string, string]>([
    ['', 'invalid field path "": the path is empty'],
    ['a..b', 'invalid field path "a..b": expected a field name, got "." at position 2'],
    ['a.', 'invalid field path "a.": expected a field name at position 2'],
    ['.a', 'invalid field path ".a": expected a field name, got "." at position 0'],
    ['a[', 'invalid field path "a[": expected an array index or a quoted name at position 2'],
    ['a[1', 'invalid field path "a[1": expected "]" at position 3'],
    ['a[x]', 'invalid field path "a[x]": expected an array index or a quoted name, got "x" at position 2'],
    ['a[-1]', 'invalid field path "a[-1]": expected an array index or a quoted name, got "-" at position 2'],
    ['a[01]', 'invalid field path "a[01]": array index 01 has a leading zero at position 2'],
    ['a[4294967295]', 'invalid field path "a[4294967295]": array index 4294967295 is too large at position 2'],
    ['a["x', 'invalid field path "a[\\"x": unterminated quoted name at position 2'],
    ['a["x"', 'invalid field path "a[\\"x\\"": expected "]" at position 5'],
    ['a["\\q"]', 'invalid field path "a[\\"\\\\q\\"]": invalid escape \\q at position 3'],
    ['a]', 'invalid field path "a]": unexpected "]" at position 1'],
    ['a b', 'invalid field path "a b": unexpected " " at position 1'],
    ['a[1]b', 'invalid field path "a[1]b": unexpected "b" at position 4'],
  ])('rejects %j', (path, message) => {
    expect(parseError(path)).toBe(message);
  });

  it('rejects a non-string path', () => {
    expect(() => compilePath(5 as unknown as string)).toThrow('invalid field path 5: must be a string');
  });

  it('formats segments canonically and round-trips them', () => {
    const p = pathFromSegments(['a', 0, 'b c', 'd', 'e.f', "g'h"]);
    expect(p.path).toBe('a[0]["b c"].d["e.f"]["g\'h"]');
    expect(compilePath(p.path).segments).toEqual(p.segments);
    expect(pathFromSegments([0, 'x']).path).toBe('[0].x');
    expect(() => pathFromSegments([])).toThrow(ConfigError);
    expect(() => pathFromSegments(['a', -1])).toThrow('invalid field path segment -1');
  });
});

describe('FieldPath: get and has', () => {
  const rec = deepFreeze({ a: { b: [{ c: 1 }, { c: 2 }], u: undefined, n: null }, items: [10, 20, 30], 'weird key': { x: 'w' } });

  it('reads nested objects and arrays', () => {
    expect(compilePath('a.b[1].c').get(rec)).toBe(2);
    expect(compilePath('items[2]').get(rec)).toBe(30);
    expect(compilePath('["weird key"].x').get(rec)).toBe('w');
    expect(compilePath('a.b').get(rec)).toBe(rec.a.b);
    expect(compilePath('a.n').get(rec)).toBeNull();
  });

  it('gives undefined for anything missing or of the wrong kind', () => {
    expect(compilePath('a.b[5].c').get(rec)).toBeUndefined();
    expect(compilePath('a.zz.c').get(rec)).toBeUndefined();
    expect(compilePath('a.n.x').get(rec)).toBeUndefined();
    expect(compilePath('items.length').get(rec)).toBeUndefined(); // names never address arrays
    expect(compilePath('a[0]').get(rec)).toBeUndefined(); // indexes never address objects
    expect(compilePath('items[0].x').get(rec)).toBeUndefined();
    expect(compilePath('x').get('a string record')).toBeUndefined();
    expect(compilePath('x').get(null)).toBeUndefined();
    expect(compilePath('[0]').get(undefined)).toBeUndefined();
  });

  it('never reads inherited properties', () => {
    expect(compilePath('constructor').get({})).toBeUndefined();
    expect(compilePath('a.toString').get({ a: {} })).toBeUndefined();
    expect(compilePath('__proto__').get({})).toBeUndefined();
    expect(compilePath('hasOwnProperty').has({})).toBe(false);
    const parsed = JSON.parse('{"__proto__": {"x": 1}, "constructor": 5}') as unknown;
    expect(compilePath('__proto__.x').get(parsed)).toBe(1);
    expect(compilePath('constructor').get(parsed)).toBe(5);
  });

  it('has: own properties and in-range elements, even when undefined; not holes', () => {
    expect(compilePath('a.u').has(rec)).toBe(true);
    expect(compilePath('a.n').has(rec)).toBe(true);
    expect(compilePath('a.zz').has(rec)).toBe(false);
    expect(compilePath('items[2]').has(rec)).toBe(true);
    expect(compilePath('items[3]').has(rec)).toBe(false);
    expect(compilePath('[1]').has([1, , 3])).toBe(false);
    expect(compilePath('x').has(5)).toBe(false);
  });

  it('reads through class instances, not into built-ins', () => {
    class Row {
      constructor(readonly inner: { v: number }) {}
    }
    expect(compilePath('inner.v').get(new Row({ v: 3 }))).toBe(3);
    expect(compilePath('d.getTime').get({ d: new Date(0) })).toBeUndefined(); // inherited method
    expect(compilePath('d.x').has({ d: new Date(0) })).toBe(false);
  });
});

describe('FieldPath: set and remove in place', () => {
  it('creates intermediate objects and arrays', () => {
    const rec: Record<string, unknown> = {};
    expect(compilePath('a.b[1].c').set(rec, 'x')).toBe(true);
    expect(rec).toEqual({ a: { b: [, { c: 'x' }] } });
    expect(compilePath('a.b[0]').set(rec, 0)).toBe(true);
    expect(rec).toEqual({ a: { b: [0, { c: 'x' }] } });
  });

  it('replaces null or missing intermediates, refuses values of the wrong kind', () => {
    const rec: Record<string, unknown> = { n: null, s: 'text', arr: [], obj: {} };
    expect(compilePath('n.x').set(rec, 1)).toBe(true);
    expect(rec.n).toEqual({ x: 1 });
    expect(compilePath('s.x').set(rec, 1)).toBe(false);
    expect(compilePath('arr.x').set(rec, 1)).toBe(false);
    expect(compilePath('obj[0]').set(rec, 1)).toBe(false);
    expect(compilePath('x').set('record', 1)).toBe(false);
    expect(compilePath('[0]').set({}, 1)).toBe(false);
    expect(compilePath('d.x').set({ d: new Date(0) }, 1)).toBe(false);
    expect(rec).toEqual({ n: { x: 1 }, s: 'text', arr: [], obj: {} });
  });

  it('sets __proto__ as an own key without touching any prototype', () => {
    const rec: Record<string, unknown> = {};
    expect(compilePath('__proto__.polluted').set(rec, true)).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(rec)).toBe(Object.prototype);
    expect(compilePath('__proto__.polluted').get(rec)).toBe(true);
  });

  it('removes keys and splices array elements', () => {
    const rec = { a: { b: 1, c: 2 }, items: [1, 2, 3] };
    expect(compilePath('a.b').remove(rec)).toBe(true);
    expect(compilePath('items[0]').remove(rec)).toBe(true);
    expect(rec).toEqual({ a: { c: 2 }, items: [2, 3] });
    expect(compilePath('a.zz').remove(rec)).toBe(false);
    expect(compilePath('items[5]').remove(rec)).toBe(false);
    expect(compilePath('zz.y').remove(rec)).toBe(false);
  });

  it('describes what blocks a write', () => {
    expect(compilePath('a.b.c').describeBlock({ a: { b: 'text' } })).toBe('"a.b" is a string, not an object');
    expect(compilePath('a[0]').describeBlock({ a: {} })).toBe('"a" is an object, not an array');
    expect(compilePath('x').describeBlock(7)).toBe('the record is a number, not an object');
    expect(compilePath('d.x').describeBlock({ d: new Date(0) })).toBe('"d" is a Date, not an object');
    expect(compilePath('a.b').describeBlock({ a: null })).toBeUndefined();
  });
});

describe('FieldPath: copy on write', () => {
  it('copies only the containers on the path and never changes the input', () => {
    const rec = deepFreeze({ a: { b: { c: 1 }, other: { big: true } }, keep: [1, 2] });
    const owned = new Set<object>();
    const out = compilePath('a.b.c').setCopy(rec, 2, owned) as typeof rec;
    expect(out).toEqual({ a: { b: { c: 2 }, other: { big: true } }, keep: [1, 2] });
    expect(rec.a.b.c).toBe(1);
    expect(out).not.toBe(rec);
    expect(out.a).not.toBe(rec.a);
    expect(out.a.other).toBe(rec.a.other);
    expect(out.keep).toBe(rec.keep);
    expect(owned.size).toBe(3);
  });

  it('writes owned containers in place instead of copying them again', () => {
    const rec = deepFreeze({ a: { x: 1 } });
    const owned = new Set<object>();
    const first = compilePath('a.y').setCopy(rec, 2, owned) as Record<string, Record<string, number>>;
    const innerA = first.a;
    const second = compilePath('a.z').setCopy(first, 3, owned) as Record<string, Record<string, number>>;
    expect(second).toBe(first);
    expect(second.a).toBe(innerA);
    expect(second).toEqual({ a: { x: 1, y: 2, z: 3 } });
  });

  it('creates missing containers and reports a blocked write with undefined', () => {
    const rec = deepFreeze({ s: 'text', items: [] as unknown[] });
    const owned = new Set<object>();
    expect(compilePath('n.list[0].k').setCopy(rec, 'v', owned)).toEqual({ s: 'text', items: [], n: { list: [{ k: 'v' }] } });
    expect(compilePath('s.x').setCopy(rec, 1, new Set())).toBeUndefined();
    expect(compilePath('x').setCopy('text', 1, new Set())).toBeUndefined();
  });

  it('keeps the prototype of class instances it copies', () => {
    class Row {
      constructor(public id: number) {}
      label(): string {
        return `row ${this.id}`;
      }
    }
    const rec = Object.freeze(new Row(1));
    const out = compilePath('extra').setCopy(rec, true, new Set()) as Row & { extra: boolean };
    expect(out).toBeInstanceOf(Row);
    expect(out.label()).toBe('row 1');
    expect(out.extra).toBe(true);
    expect(rec).not.toHaveProperty('extra');
  });

  it('removes by copy: keys, array elements, nothing when missing', () => {
    const rec = deepFreeze({ a: { b: 1, c: 2 }, items: [{ k: 1 }, { k: 2 }], z: 0 });
    const owned = new Set<object>();
    const noop = compilePath('a.zz').removeCopy(rec, owned);
    expect(noop).toBe(rec);
    expect(owned.size).toBe(0);
    let out = compilePath('a.b').removeCopy(rec, owned) as typeof rec;
    out = compilePath('items[0]').removeCopy(out, owned) as typeof rec;
    out = compilePath('z').removeCopy(out, owned) as typeof rec;
    expect(out).toEqual({ a: { c: 2 }, items: [{ k: 2 }] });
    expect(out.items[0]).toBe(rec.items[1]);
    expect(rec).toEqual({ a: { b: 1, c: 2 }, items: [{ k: 1 }, { k: 2 }], z: 0 });
    expect(compilePath('d.x').removeCopy({ d: Object.assign(new Date(0), { x: 1 }) }, owned)).toBeUndefined();
  });
});

describe('FieldPath: properties', () => {
  const key = fc.oneof(
    fc.constantFrom('a', 'b', 'id', 'user-name', 'constructor', '__proto__', 'toString', 'x y', 'a.b', '["q"]', "it's", '', 'é'),
    fc.string({ maxLength: 4 }),
  );
  const segment: fc.Arbitrary<PathSegment> = fc.oneof(key, fc.integer({ min: 0, max: 4 }));
  const segments = fc.array(segment, { minLength: 1, maxLength: 5 });
  const value = fc.jsonValue({ maxDepth: 2 });
  const emptyRoot = (segs: readonly PathSegment[]): unknown => (typeof segs[0] === 'number' ? [] : {});

  it('prints paths that parse back to the same segments', () => {
    fc.assert(
      fc.property(segments, (segs) => {
        expect(compilePath(pathFromSegments(segs).path).segments).toEqual(segs);
      }),
    );
  });

  it('set then get returns the value, and has is true', () => {
    fc.assert(
      fc.property(segments, value, (segs, v) => {
        const p = compilePath(pathFromSegments(segs).path);
        const rec = emptyRoot(segs);
        expect(p.set(rec, v)).toBe(true);
        expect(p.get(rec)).toEqual(v);
        expect(p.has(rec)).toBe(true);
        expect(Object.prototype).not.toHaveProperty('polluted');
      }),
    );
  });

  it('remove then has is false for names; for indexes the array shrinks by one', () => {
    fc.assert(
      fc.property(segments, value, (segs, v) => {
        const p = pathFromSegments(segs);
        const rec = emptyRoot(segs);
        p.set(rec, v);
        const parent = segs.length === 1 ? rec : pathFromSegments(segs.slice(0, -1)).get(rec);
        const lengthBefore = Array.isArray(parent) ? parent.length : -1;
        expect(p.remove(rec)).toBe(true);
        if (typeof segs[segs.length - 1] === 'string') expect(p.has(rec)).toBe(false);
        else expect((parent as unknown[]).length).toBe(lengthBefore - 1);
        expect(p.remove(rec)).toBe(typeof segs[segs.length - 1] === 'number' && p.has(rec));
      }),
    );
  });

  it('setCopy and removeCopy agree with the in-place versions and never change the input', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), segments, value, (input, segs, v) => {
        const p = pathFromSegments(segs);
        const snapshot = JSON.stringify(input);
        const frozen = deepFreeze(structuredClone(input));
        const expected = structuredClone(input);
        const ok = p.set(expected, v);
        const out = p.setCopy(frozen, v, new Set());
        expect(JSON.stringify(frozen)).toBe(snapshot);
        if (!ok) {
          expect(out).toBeUndefined();
          return;
        }
        expect(out).toEqual(expected);
        expect(p.get(out)).toEqual(v);
        const removedExpected = structuredClone(expected);
        p.remove(removedExpected);
        const removed = p.removeCopy(deepFreeze(out), new Set());
        expect(removed).toEqual(removedExpected);
      }),
    );
  });
});
