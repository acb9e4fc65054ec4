import { describe, expect, it } from 'vitest';
import { compileTransform, type Condition, type TransformSpec } from '../../src/processors/transform-spec.js';
import { ConfigError, RecordError } from '../../src/runtime/errors.js';

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

const T0 = Date.UTC(2024, 0, 2, 3, 4, 5, 6); // 2024-01-02T03:04:05.006Z

/** Apply `spec` to a deep-frozen copy of `record` (so any mutation throws) and check the input is unchanged. */
function run(spec: TransformSpec, record: unknown, timestamp = T0): unknown {
  const input = deepFreeze(structuredClone(record));
  const out = compileTransform(spec, 'clean')(input, timestamp);
  expect(input).toEqual(record);
  return out;
}

function configError(spec: unknown): string {
  try {
    compileTransform(spec as TransformSpec, 'clean');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('WEIR_CONFIG');
    expect((err as ConfigError).step).toBe('clean');
    return (err as Error).message;
  }
  throw new Error(`expected the spec to be rejected: ${JSON.stringify(spec)}`);
}

function recordError(spec: TransformSpec, record: unknown, timestamp = T0): RecordError {
  const apply = compileTransform(spec, 'clean');
  try {
    apply(deepFreeze(record), timestamp);
  } catch (err) {
    expect(err).toBeInstanceOf(RecordError);
    expect((err as RecordError).code).toBe('WEIR_BAD_RECORD');
    expect((err as RecordError).step).toBe('clean');
    return err as RecordError;
  }
  throw new Error('expected a record error');
}

describe('transform: set', () => {
  it('sets constants at nested paths, creating objects and arrays', () => {
    expect(run([{ set: 'a.b[1].c', value: 5 }, { set: 'flag', value: true }, { set: 'none', value: null }], { x: 1 })).toEqual({
      x: 1,
      a: { b: [, { c: 5 }] },
      flag: true,
      none: null,
    });
  });

  it('gives every record its own copy of an object constant', () => {
    const apply = compileTransform([{ set: 'meta', value: { tags: ['a'] } }], 'clean');
    const one = apply({}, 0) as { meta: { tags: string[] } };
    const two = apply({}, 0) as { meta: { tags: string[] } };
    expect(one.meta).toEqual({ tags: ['a'] });
    expect(one.meta).not.toBe(two.meta);
    expect(one.meta.tags).not.toBe(two.meta.tags);
  });

  it('renders templates with fields and the event time', () => {
    const spec: TransformSpec = [
      { set: 'key', value: '${user}-${timestamp}' },
      { set: 'at', value: '${timestamp:iso}' },
      { set: 'deep', value: 'item ${order.items[1].sku} of ${order.id}' },
      { set: 'spaced', value: '${ user }!' },
    ];
    expect(run(spec, { user: 'bo', order: { id: 7, items: [{ sku: 'A' }, { sku: 'B' }] } })).toMatchObject({
      key: `bo-${T0}`,
      at: '2024-01-02T03:04:05.006Z',
      deep: 'item B of 7',
      spaced: 'bo!',
    });
  });

  it('renders missing and null as empty, objects as JSON, dates as ISO', () => {
    const out = run([{ set: 's', value: '[${missing}|${nil}|${obj}|${list}|${yes}]' }], {
      nil: null,
      obj: { a: 1 },
      list: [1, 'x'],
      yes: true,
    });
    expect(out).toMatchObject({ s: '[||{"a":1}|[1,"x"]|true]' });
    const apply = compileTransform([{ set: 's', value: 'at ${d}' }], 'clean');
    expect(apply({ d: new Date(0) }, 0)).toMatchObject({ s: 'at 1970-01-01T00:00:00.000Z' });
  });

  it('yields the raw value for a template that is exactly one placeholder', () => {
    const out = run(
      [
        { set: 'n', value: '${count}' },
        { set: 'o', value: '${obj}' },
        { set: 't', value: '${timestamp}' },
        { set: 'm', value: '${missing}' },
      ],
      { count: 3, obj: { a: [1] } },
    ) as Record<string, unknown>;
    expect(out.n).toBe(3);
    expect(out.o).toEqual({ a: [1] });
    expect(out.t).toBe(T0);
    expect('m' in out && out.m === undefined).toBe(true);
  });

  it('treats $${ as a literal ${', () => {
    expect(run([{ set: 'a', value: 'cost: $${price} = ${price}' }], { price: 4 })).toMatchObject({ a: 'cost: ${price} = 4' });
    expect(run([{ set: 'a', value: '$${price}' }], { price: 4 })).toMatchObject({ a: '${price}' });
    expect(run([{ set: 'a', value: '$5 and $ {x} and {x}' }], {})).toMatchObject({ a: '$5 and $ {x} and {x}' });
  });

  it('reads a field named timestamp with a quoted path, and quoted keys with braces', () => {
    expect(run([{ set: 'a', value: '${["timestamp"]}/${timestamp}' }], { timestamp: 'field' }, 5)).toMatchObject({ a: 'field/5' });
    expect(run([{ set: 'a', value: '<${["x}y"]}>' }], { 'x}y': 1 })).toMatchObject({ a: '<1>' });
  });

  it('expands templates nested in object and array values', () => {
    const out = run([{ set: 'ev', value: { who: '${user}', when: ['${timestamp}', 'at ${timestamp}'], fixed: 'a $${b}', n: 1 } }], {
      user: 'bo',
    });
    expect(out).toMatchObject({ ev: { who: 'bo', when: [T0, `at ${T0}`], fixed: 'a ${b}', n: 1 } });
  });

  it('reads the record as it is at that step', () => {
    const spec: TransformSpec = [
      { set: 'name', value: 'first' },
      { set: 'greeting', value: 'hi ${name}' },
      { rename: 'name', to: 'old' },
      { set: 'after', value: '[${name}] [${old}]' },
    ];
    expect(run(spec, {})).toEqual({ greeting: 'hi first', old: 'first', after: '[] [first]' });
  });

  it('fails the record when a write is blocked by a value of the wrong kind', () => {
    const err = recordError([{ set: 'user', value: 'x' }, { set: 'a.b', value: 1 }], { a: 'text' });
    expect(err.message).toBe('step "clean": step 2 (set): cannot write "a.b": "a" is a string, not an object');
    expect(recordError([{ set: 'a', value: 1 }], 'just text').message).toBe(
      'step "clean": step 1 (set): cannot write "a": the record is a string, not an object',
    );
    expect(recordError([{ set: 'a', value: '${timestamp:iso}' }], {}, Number.NaN).message).toBe(
      'step "clean": step 1 (set): value: event time NaN is not a valid date',
    );
  });
});

describe('transform: rename, remove, copy', () => {
  it('renames nested fields and array elements, overwriting the target', () => {
    const out = run(
      [
        { rename: 'usr.name', to: 'user.name' },
        { rename: 'items[0]', to: 'first' },
        { rename: 'x', to: 'y' },
      ],
      { usr: { name: 'bo', age: 3 }, items: ['a', 'b'], x: 1, y: 2 },
    );
    expect(out).toEqual({ usr: { age: 3 }, items: ['b'], user: { name: 'bo' }, first: 'a', y: 1 });
  });

  it('renames a missing field as a no-op and returns the record itself', () => {
    const rec = deepFreeze({ a: 1 });
    expect(compileTransform([{ rename: 'zz', to: 'b' }, { remove: 'q.r' }, { copy: 'nope', to: 'c' }], 'clean')(rec, 0)).toBe(rec);
  });

  it('moves a value under its own old path', () => {
    expect(run([{ rename: 'a', to: 'a.inner' }], { a: 1 })).toEqual({ a: { inner: 1 } });
    expect(run([{ rename: 'a.inner', to: 'a' }], { a: { inner: 1 } })).toEqual({ a: 1 });
    expect(run([{ rename: 'a', to: '["a"]' }], { a: 1, b: 2 })).toEqual({ a: 1, b: 2 });
  });

  it('removes one path or several, with array indexes as first named', () => {
    expect(run([{ remove: 'a.b' }], { a: { b: 1, c: 2 } })).toEqual({ a: { c: 2 } });
    const out = run([{ remove: ['items[0]', 'items[2]', 'debug', 'items[0]', 'missing.x'] }], { items: ['a', 'b', 'c', 'd'], debug: true, keep: 1 });
    expect(out).toEqual({ items: ['b', 'd'], keep: 1 });
  });

  it('copies a deep copy of the value', () => {
    const out = run(
      [
        { copy: 'src', to: 'dst.copy' },
        { set: 'dst.copy.inner.x', value: 2 },
        { copy: 'n', to: 'm' },
      ],
      { src: { inner: { x: 1 } }, n: 5 },
    ) as Record<string, { inner: { x: number } } & Record<string, unknown>>;
    expect(out.src).toEqual({ inner: { x: 1 } });
    expect(out.dst).toEqual({ copy: { inner: { x: 2 } } });
    expect(out.m).toBe(5);
  });
});

describe('transform: extract and match', () => {
  const url = '^https?://([^/]+)(/.*)?$';

  it('extracts groups into a list of paths', () => {
    expect(run([{ extract: 'req.url', pattern: url, into: ['req.host', 'req.path'] }], { req: { url: 'https://a.io/x/y' } })).toEqual({
      req: { url: 'https://a.io/x/y', host: 'a.io', path: '/x/y' },
    });
  });

  it('extracts groups by number or name into an object of paths; null skips a group', () => {
    expect(run([{ extract: 'url', pattern: url, into: { host: 1, 'parts.path': 2 } }], { url: 'http://b.io/z' })).toEqual({
      url: 'http://b.io/z',
      host: 'b.io',
      parts: { path: '/z' },
    });
    expect(run([{ extract: 'url', pattern: url, into: [null, 'path'] }], { url: 'http://b.io/z' })).toEqual({ url: 'http://b.io/z', path: '/z' });
    expect(run([{ extract: 'v', pattern: '(?<major>\\d+)\\.(\\d+)', into: { maj: 'major', min: 2 } }], { v: '3.14' })).toEqual({
      v: '3.14',
      maj: '3',
      min: '14',
    });
  });

  it('turns named groups into fields at the top level or under a prefix', () => {
    const named = '^https?://(?<host>[^/]+)(?<path>/.*)?$';
    expect(run([{ extract: 'url', pattern: named }], { url: 'https://a.io/p' })).toEqual({ url: 'https://a.io/p', host: 'a.io', path: '/p' });
    expect(run([{ extract: 'url', pattern: named, prefix: 'parsed.url' }], { url: 'https://a.io' })).toEqual({
      url: 'https://a.io',
      parsed: { url: { host: 'a.io' } }, // the optional group did not take part: left unset
    });
  });

  it('leaves fields unset when nothing matches, unless required', () => {
    const rec = deepFreeze({ url: 'ftp://x', n: 5 });
    const apply = compileTransform([{ extract: 'url', pattern: url, into: ['host'] }, { extract: 'missing', pattern: url, into: ['h'] }], 'clean');
    expect(apply(rec, 0)).toBe(rec);
    const required = (field: string): string =>
      recordError([{ set: 'x', value: 1 }, { extract: field, pattern: url, into: ['host'], required: true }], rec).message;
    expect(required('url')).toBe('step "clean": step 2 (extract): "url" does not match the pattern');
    expect(required('missing')).toBe('step "clean": step 2 (extract): "missing" is missing');
    expect(recordError([{ extract: 'o', pattern: '(x)', into: ['y'], required: true }], { o: {} }).message).toBe(
      'step "clean": step 1 (extract): "o" is an object, not text',
    );
  });

  it('matches numbers as their text', () => {
    expect(run([{ extract: 'code', pattern: '^(\\d)(\\d\\d)$', into: ['class', 'detail'] }], { code: 404 })).toEqual({
      code: 404,
      class: '4',
      detail: '04',
    });
  });

  it('match writes a boolean', () => {
    const spec: TransformSpec = [{ match: 'email', pattern: '@example\\.com$', flags: 'i', into: 'flags.isInternal' }];
    expect(run(spec, { email: 'Bo@EXAMPLE.com' })).toEqual({ email: 'Bo@EXAMPLE.com', flags: { isInternal: true } });
    expect(run(spec, { email: 'bo@other.org' })).toEqual({ email: 'bo@other.org', flags: { isInternal: false } });
    expect(run(spec, {})).toEqual({ flags: { isInternal: false } });
  });
});

describe('transform: filter, when and conditions', () => {
  const check = (condition: Condition, record: unknown): boolean => run([{ filter: condition }], record) !== undefined;

  it('filter drops a record when the condition is false', () => {
    const apply = compileTransform([{ filter: { field: 'ok', eq: true } }, { set: 'seen', value: true }], 'clean');
    expect(apply({ ok: true }, 0)).toEqual({ ok: true, seen: true });
    expect(apply({ ok: false }, 0)).toBeUndefined();
    expect(apply({}, 0)).toBeUndefined();
  });

  it('eq and ne compare deeply, without coercion', () => {
    expect(check({ field: 'a', eq: 1 }, { a: 1 })).toBe(true);
    expect(check({ field: 'a', eq: 1 }, { a: '1' })).toBe(false);
    expect(check({ field: 'a', eq: null }, {})).toBe(false);
    expect(check({ field: 'a', eq: null }, { a: null })).toBe(true);
    expect(check({ field: 'a', eq: { b: [1, 2] } }, { a: { b: [1, 2] } })).toBe(true);
    expect(check({ field: 'a', eq: { b: [1, 2] } }, { a: { b: [1, 2], c: 0 } })).toBe(false);
    expect(check({ field: 'a', eq: [1] }, { a: { 0: 1 } })).toBe(false);
    expect(check({ field: 'a', eq: {} }, { a: new Date(0) })).toBe(false);
    expect(check({ field: 'a.b[0]', ne: 'x' }, { a: { b: ['y'] } })).toBe(true);
    expect(check({ field: 'a', ne: 'x' }, {})).toBe(true);
  });

  it('gt, gte, lt, lte compare numbers with numbers and strings with strings', () => {
    expect(check({ field: 'n', gt: 1 }, { n: 2 })).toBe(true);
    expect(check({ field: 'n', gt: 2 }, { n: 2 })).toBe(false);
    expect(check({ field: 'n', gte: 2 }, { n: 2 })).toBe(true);
    expect(check({ field: 'n', lt: 2 }, { n: 1 })).toBe(true);
    expect(check({ field: 'n', lte: 1 }, { n: 2 })).toBe(false);
    expect(check({ field: 'n', gt: 1 }, { n: '2' })).toBe(false);
    expect(check({ field: 'n', lt: 1 }, {})).toBe(false);
    expect(check({ field: 'd', gte: '2024-01-01' }, { d: '2024-03-01' })).toBe(true);
    expect(check({ field: 'n', gte: 1, lt: 10 }, { n: 10 })).toBe(false); // several operators: all must hold
    expect(check({ field: 'n', gte: 1, lt: 10 }, { n: 9 })).toBe(true);
  });

  it('in, exists, matches', () => {
    expect(check({ field: 's', in: ['a', 'b', 3] }, { s: 'b' })).toBe(true);
    expect(check({ field: 's', in: ['a', 'b', 3] }, { s: '3' })).toBe(false);
    expect(check({ field: 's', in: [{ k: 1 }, null] }, { s: { k: 1 } })).toBe(true);
    expect(check({ field: 's', in: [{ k: 1 }, null] }, { s: null })).toBe(true);
    expect(check({ field: 'a.b', exists: true }, { a: { b: 0 } })).toBe(true);
    expect(check({ field: 'a.b', exists: true }, { a: {} })).toBe(false);
    expect(check({ field: 'a.b', exists: false }, { a: 'x' })).toBe(true);
    expect(check({ field: 'a', exists: true }, { a: null })).toBe(true);
    expect(check({ field: 'e', matches: '^bo@' }, { e: 'bo@x' })).toBe(true);
    expect(check({ field: 'e', matches: '^BO@', flags: 'i' }, { e: 'bo@x' })).toBe(true);
    expect(check({ field: 'e', matches: '^BO@' }, { e: 'bo@x' })).toBe(false);
    expect(check({ field: 'e', matches: '^4\\d\\d$' }, { e: 404 })).toBe(true);
    expect(check({ field: 'e', matches: '.*' }, {})).toBe(false);
  });

  it('and, or, not', () => {
    const c: Condition = {
      or: [{ and: [{ field: 'a', eq: 1 }, { not: { field: 'b', exists: true } }] }, { field: 'force', eq: true }],
    };
    expect(check(c, { a: 1 })).toBe(true);
    expect(check(c, { a: 1, b: 0 })).toBe(false);
    expect(check(c, { a: 2, force: true })).toBe(true);
    expect(check(c, { a: 2 })).toBe(false);
    expect(check({ and: [{ field: 'a', eq: 1 }] }, { a: 1 })).toBe(true);
    expect(check({ not: { not: { field: 'a', eq: 1 } } }, { a: 1 })).toBe(true);
  });

  it('when runs then or else, and a filter inside drops the record', () => {
    const spec: TransformSpec = [
      {
        when: { field: 'kind', eq: 'click' },
        then: [{ set: 'weight', value: 1 }, { filter: { field: 'bot', ne: true } }],
        else: [{ when: { field: 'kind', eq: 'view' }, then: [{ set: 'weight', value: 0.1 }] }],
      },
      { set: 'done', value: true },
    ];
    expect(run(spec, { kind: 'click' })).toEqual({ kind: 'click', weight: 1, done: true });
    expect(run(spec, { kind: 'click', bot: true })).toBeUndefined();
    expect(run(spec, { kind: 'view' })).toEqual({ kind: 'view', weight: 0.1, done: true });
    expect(run(spec, { kind: 'other' })).toEqual({ kind: 'other', done: true });
  });

  it('names nested steps in record errors', () => {
    const spec: TransformSpec = [{ when: { field: 'a', exists: true }, then: [{ set: 'a.b', value: 1 }] }];
    expect(recordError(spec, { a: 5 }).message).toBe('step "clean": step 1 (when) > then step 1 (set): cannot write "a.b": "a" is a number, not an object');
  });
});

describe('transform: copy on write', () => {
  it('never changes the input and shares what it did not touch', () => {
    const input = deepFreeze({ user: { name: 'bo', tags: ['x'] }, big: { nested: { deep: [1, 2, 3] } }, url: 'https://a.io/x' });
    const spec: TransformSpec = [
      { set: 'user.id', value: '${user.name}-1' },
      { set: 'user.tags[1]', value: 'y' },
      { rename: 'url', to: 'link.href' },
      { remove: 'user.name' },
      { extract: 'link.href', pattern: '^https://(?<host>[^/]+)', prefix: 'link' },
    ];
    const out = compileTransform(spec, 'clean')(input, 0) as Record<string, Record<string, unknown>>;
    expect(out).toEqual({ user: { id: 'bo-1', tags: ['x', 'y'] }, big: input.big, link: { href: 'https://a.io/x', host: 'a.io' } });
    expect(out.big).toBe(input.big);
    expect(input).toEqual({ user: { name: 'bo', tags: ['x'] }, big: { nested: { deep: [1, 2, 3] } }, url: 'https://a.io/x' });
  });

  it('returns the input itself when no step changes it', () => {
    const input = deepFreeze({ a: 1 });
    const apply = compileTransform([{ filter: { field: 'a', eq: 1 } }, { when: { field: 'a', eq: 2 }, then: [{ set: 'b', value: 1 }] }], 'clean');
    expect(apply(input, 0)).toBe(input);
  });

  it('keeps copies apart when a raw placeholder aliases a copied object', () => {
    const input = deepFreeze({ a: { x: 1 } });
    const out = compileTransform(
      [
        { set: 'a.y', value: 2 }, // a is now a private copy
        { set: 'b', value: '${a}' }, // b and a are the same object
        { set: 'b.z', value: 3 }, // must not show through a
      ],
      'clean',
    )(input, 0);
    expect(out).toEqual({ a: { x: 1, y: 2 }, b: { x: 1, y: 2, z: 3 } });
  });

  it('does not leak copies from one record into the next', () => {
    const apply = compileTransform([{ set: 'a.n', value: '${i}' }], 'clean');
    const first = apply(deepFreeze({ i: 1, a: {} }), 0) as { a: { n: number } };
    const second = apply(deepFreeze({ i: 2, a: {} }), 0) as { a: { n: number } };
    expect(first.a.n).toBe(1);
    expect(second.a.n).toBe(2);
    expect(first.a).not.toBe(second.a);
  });

  it('handles a batch of records with a long spec (smoke)', () => {
    const apply = compileTransform(
      [
        { filter: { field: 'n', gte: 0 } },
        { set: 'k', value: 'k-${n}' },
        { when: { field: 'n', lt: 50 }, then: [{ set: 'low', value: true }], else: [{ remove: 'n' }] },
      ],
      'clean',
    );
    const records = deepFreeze(Array.from({ length: 100 }, (_, n) => ({ n: n - 1 })));
    const out = records.map((r) => apply(r, 0));
    expect(out[0]).toBeUndefined();
    expect(out[1]).toEqual({ n: 0, k: 'k-0', low: true });
    expect(out[99]).toEqual({ k: 'k-98' });
  });
});

describe('transform: spec validation', () => {
  it.each<[string, unknown, string]>([
    ['not an array', 5, 'spec must be an array of steps, got 5'],
    ['a step that is not an object', [5], 'step 1: must be an object with one of "set", "rename", "remove", "copy", "extract", "match", "filter", "when", got 5'],
    [
      'an unknown step kind',
      [{ set: 'a', value: 1 }, { sett: 'a', value: 1 }],
      'step 2: unknown step kind: expected one of "set", "rename", "remove", "copy", "extract", "match", "filter", "when", got keys "sett", "value"',
    ],
    ['two kinds in one step', [{ set: 'a', rename: 'b' }], 'step 1: a step has exactly one kind, got "set", "rename"'],
    ['an unknown option', [{ set: 'a', vlaue: 1 }], 'step 1 (set): unknown option "vlaue" (allowed: "set", "value")'],
    ['a set without value', [{ set: 'a' }], 'step 1 (set): value is required (use null for an empty value)'],
    ['a bad path', [{ set: 'a..b', value: 1 }], 'step 1 (set): set: invalid field path "a..b": expected a field name, got "." at position 2'],
    ['a value that is not JSON', [{ set: 'a', value: { x: [1, Number.NaN] } }], 'step 1 (set): value.x[1] must be a JSON value, got NaN'],
    ['a Date value', [{ set: 'a', value: new Date(0) }], 'step 1 (set): value must be a JSON value, got a Date'],
    ['an unterminated placeholder', [{ set: 'a', value: 'ab${x' }], 'step 1 (set): value has an unterminated placeholder at position 2: "ab${x"'],
    ['an empty placeholder', [{ set: 'a', value: 'ab${ }' }], 'step 1 (set): value has an empty placeholder at position 2'],
    [
      'an unknown timestamp format',
      [{ set: 'a', value: '${timestamp:date}' }],
      'step 1 (set): value: unknown placeholder ${timestamp:date} at position 0 (expected ${timestamp} or ${timestamp:iso})',
    ],
    [
      'a bad path in a placeholder',
      [{ set: 'a', value: { b: 'x ${a..b}' } }],
      'step 1 (set): value.b: placeholder at position 2: invalid field path "a..b": expected a field name, got "." at position 2',
    ],
    ['a rename without to', [{ rename: 'a' }], 'step 1 (rename): to is required'],
    ['a non-string path', [{ copy: 'a', to: 5 }], 'step 1 (copy): to must be a field path string, got 5'],
    ['an empty remove list', [{ remove: [] }], 'step 1 (remove): remove must name at least one field path, got []'],
    ['a non-string path in a remove list', [{ remove: ['a', 3] }], 'step 1 (remove): remove[1] must be a field path string, got 3'],
    [
      'a bad regular expression',
      [{ set: 'a', value: 1 }, { set: 'b', value: 2 }, { extract: 'url', pattern: '(', into: ['x'] }],
      'step 3 (extract): pattern is not a valid regular expression: Invalid regular expression: /(/: Unterminated group',
    ],
    [
      'stateful flags',
      [{ extract: 'u', pattern: 'a', flags: 'gi', into: ['x'] }],
      'step 1 (extract): flags must not include "g" or "y" (a pattern is applied once per record), got "gi"',
    ],
    ['unknown flags', [{ match: 'u', pattern: 'a', flags: 'q', into: 'x' }], 'step 1 (match): flags is not a valid set of regular expression flags, got "q"'],
    ['more targets than groups', [{ extract: 'u', pattern: '(a)', into: ['x', 'y'] }], 'step 1 (extract): into has 2 entries but pattern has 1 capture group'],
    ['a group number out of range', [{ extract: 'u', pattern: '(a)', into: { x: 2 } }], 'step 1 (extract): into["x"] must be a capture group number from 1 to 1, got 2'],
    ['an unknown group name', [{ extract: 'u', pattern: '(?<a>a)', into: { x: 'b' } }], 'step 1 (extract): into["x"] names no group of the pattern, got "b"'],
    ['a pattern without groups', [{ extract: 'u', pattern: 'a', into: ['x'] }], 'step 1 (extract): into has 1 entry but pattern has 0 capture groups'],
    ['no into and no named groups', [{ extract: 'u', pattern: '(a)' }], 'step 1 (extract): pattern has no named groups (?<name>...), so into is required'],
    ['into of the wrong type', [{ extract: 'u', pattern: '(a)', into: 'x' }], 'step 1 (extract): into must be an array of field paths or an object of field path to group, got "x"'],
    ['required not a boolean', [{ extract: 'u', pattern: '(?<a>a)', required: 'yes' }], 'step 1 (extract): required must be a boolean, got "yes"'],
    ['a match without into', [{ match: 'e', pattern: 'x' }], 'step 1 (match): into is required'],
    ['a filter that is not a condition', [{ filter: 'x' }], 'step 1 (filter): filter must be a condition object, got "x"'],
    [
      'a condition without operator',
      [{ filter: { field: 'a' } }],
      'step 1 (filter): filter has no operator (expected one of "eq", "ne", "gt", "gte", "lt", "lte", "in", "exists", "matches")',
    ],
    [
      'an unknown condition key',
      [{ filter: { field: 'a', eqq: 1 } }],
      'step 1 (filter): filter: unknown key "eqq" (allowed: "field", "eq", "ne", "gt", "gte", "lt", "lte", "in", "exists", "matches", "flags", or one of "and", "or", "not")',
    ],
    ['an empty and', [{ filter: { and: [] } }], 'step 1 (filter): filter.and must be a non-empty array of conditions, got []'],
    ['a mixed combinator', [{ filter: { and: [{ field: 'a', eq: 1 }], or: [] } }], 'step 1 (filter): filter: "and" cannot be combined with other keys, got "and", "or"'],
    [
      'a bad comparison operand',
      [{ filter: { and: [{ field: 'a', eq: 1 }, { field: 'b', gt: true }] } }],
      'step 1 (filter): filter.and[1].gt must be a finite number or a string, got true',
    ],
    ['in not an array', [{ filter: { field: 'a', in: 3 } }], 'step 1 (filter): filter.in must be an array of values, got 3'],
    ['exists not a boolean', [{ filter: { field: 'a', exists: 'yes' } }], 'step 1 (filter): filter.exists must be a boolean, got "yes"'],
    ['eq not JSON', [{ filter: { field: 'a', eq: () => 1 } }], 'step 1 (filter): filter.eq must be a JSON value, got a function'],
    ['flags without matches', [{ filter: { field: 'a', eq: 1, flags: 'i' } }], 'step 1 (filter): filter.flags is only allowed with matches'],
    [
      'a bad regex in a nested condition',
      [{ filter: { not: { field: 'a', matches: '[' } } }],
      'step 1 (filter): filter.not.matches is not a valid regular expression: Invalid regular expression: /[/: Unterminated character class',
    ],
    ['a bad condition path', [{ when: { field: 'a..', eq: 1 }, then: [] }], 'step 1 (when): when.field: invalid field path "a..": expected a field name, got "." at position 2'],
    ['a when without then', [{ when: { field: 'a', eq: 1 } }], 'step 1 (when): then is required'],
    ['an else that is not a list', [{ when: { field: 'a', eq: 1 }, then: [], else: 3 }], 'step 1 (when): else must be an array of steps, got 3'],
    [
      'an error in a nested step',
      [{ set: 'x', value: 1 }, { when: { field: 'a', eq: 1 }, then: [], else: [{ set: 'x', value: 1 }, { extract: 'u', pattern: ')', into: ['a'] }] }],
      "step 2 (when) > else step 2 (extract): pattern is not a valid regular expression: Invalid regular expression: /)/: Unmatched ')'",
    ],
  ])('rejects %s', (_name, spec, message) => {
    expect(configError(spec)).toBe(`transform "clean": ${message}`);
  });

  it('rejects a missing step name', () => {
    expect(() => compileTransform([], '')).toThrow('transform: the step name must be a non-empty string, got ""');
  });

  it('accepts an empty spec as the identity, and options set to undefined as absent', () => {
    const rec = deepFreeze({ a: 1 });
    expect(compileTransform([], 'clean')(rec, 0)).toBe(rec);
    expect(run([{ match: 'a', pattern: '1', flags: undefined, into: 'm' }], { a: 1 })).toEqual({ a: 1, m: true });
  });
});
