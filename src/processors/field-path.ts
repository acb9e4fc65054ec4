import { ConfigError, show } from '../runtime/errors.js';

/**
 * One step of a field path: a property name (`.name`, `["name"]`) or an array index (`[0]`).
 *
 * @example
 * ```ts
 * const segments: PathSegment[] = ['items', 0, 'sku']; // items[0].sku
 * ```
 */
export type PathSegment = string | number;

/**
 * A nested field path such as `a.b[0].c`, parsed once into segments, with accessors that never
 * parse again.
 *
 * Addressing is strict, so that reading and writing agree: a number segment (`[2]`) addresses an
 * element of an array, a name segment (`.x`, `["x"]`) an own property of a non-array object.
 * Anything else on the way (a string, a number, an array where a name is expected…) means "not
 * there" for reads and "blocked" for writes. Writes only go through plain objects (prototype
 * `Object.prototype` or `null`) and arrays; `null` or missing intermediates are replaced by a new
 * object or array (chosen by the next segment). Removing an array element splices it out, so later
 * elements shift down; setting past the end of an array leaves holes, as in plain JavaScript.
 *
 * Invariants: reads never return an `Object.prototype` member (`constructor`, `__proto__`…) or an
 * inherited method, writes never call a `__proto__` setter (such a key becomes an own property),
 * and the `*Copy` methods never change any object that is not in `owned`. `has` looks at own
 * properties only.
 *
 * @example
 * ```ts
 * const p = compilePath('order.items[0].sku');
 * const rec: Record<string, unknown> = {};
 * p.set(rec, 'A-1'); // rec is now { order: { items: [{ sku: 'A-1' }] } }
 * p.get(rec); // 'A-1'
 * ```
 */
export interface FieldPath {
  /** The path as written, e.g. `a.b[0].c` (canonical form when built from segments). */
  readonly path: string;
  /** The parsed segments: `a.b[0].c` is `['a', 'b', 0, 'c']`. Never empty. */
  readonly segments: readonly PathSegment[];
  /** The value at the path, or `undefined` when any part of it is missing. */
  get(record: unknown): unknown;
  /** True when the last segment exists as an own property / in-range array element (even if `undefined`). */
  has(record: unknown): boolean;
  /**
   * Set the value in place, creating missing (or `null`) intermediate objects and arrays.
   * Returns false, changing nothing, when a value of the wrong kind is in the way (the record
   * itself is not an object, `a` is a string in `a.b`…).
   */
  set(record: unknown, value: unknown): boolean;
  /**
   * Remove the value in place (array elements are spliced out). Returns false when it was not there
   * or sits inside something that cannot be written.
   */
  remove(record: unknown): boolean;
  /**
   * Copy-on-write {@link FieldPath.set}: returns the new root, or `undefined` when blocked. Every
   * container on the path that is not in `owned` is shallow-copied (and the copy added to `owned`);
   * containers in `owned` are changed in place. `record` itself is never changed unless owned.
   */
  setCopy(record: unknown, value: unknown, owned: Set<object>): unknown;
  /**
   * Copy-on-write {@link FieldPath.remove}: returns the new root, `record` itself (nothing copied)
   * when the value was not there, or `undefined` when it is there but inside something that cannot
   * be written (a Date, a Map…).
   */
  removeCopy(record: unknown, owned: Set<object>): unknown;
  /**
   * Why a write at this path is blocked in `record`, for error messages, e.g.
   * `"a.b" is a string, not an object`; `undefined` when nothing blocks it.
   */
  describeBlock(record: unknown): string | undefined;
}

/**
 * Parse a field path once. Syntax: names separated by dots (`a.b`), array indexes in brackets
 * (`items[2]`), and quoted names in brackets for keys with other characters
 * (`["weird key"].x`, `['a.b']`; JSON escapes such as `\"`, `\\`, `\u00e9` are understood).
 * A bare name may contain any character except whitespace, quotes, `.`, `[` and `]`.
 *
 * Throws a {@link ConfigError} naming the path and the (0-based) position of the first error.
 *
 * @example
 * ```ts
 * compilePath('a.b[0]["c d"]').segments; // ['a', 'b', 0, 'c d']
 * compilePath('a..b'); // throws ConfigError: invalid field path "a..b": expected a field name at position 2
 * ```
 */
export function compilePath(path: string): FieldPath {
  if (typeof path !== 'string') throw new ConfigError(`invalid field path ${show(path)}: must be a string`);
  return new CompiledPath(path, parseSegments(path));
}

/**
 * Build a field path from segments already known (a group name under a prefix…), without parsing.
 * Its `path` is the canonical spelling, e.g. `['a', 0, 'b c']` gives `a[0]["b c"]`.
 *
 * @example
 * ```ts
 * pathFromSegments([...compilePath('parts').segments, 'host']).path; // 'parts.host'
 * ```
 */
export function pathFromSegments(segments: readonly PathSegment[]): FieldPath {
  if (segments.length === 0) throw new ConfigError('invalid field path: no segments');
  for (const s of segments) {
    if (typeof s === 'number' ? !(Number.isInteger(s) && s >= 0 && s <= MAX_INDEX) : typeof s !== 'string') {
      throw new ConfigError(`invalid field path segment ${show(s)}: expected a name or an array index`);
    }
  }
  return new CompiledPath(formatSegments(segments), segments.slice());
}

/** Largest valid array index (2^32 - 2). */
const MAX_INDEX = 4294967294;

const BARE = /^[^\s.[\]"']+$/;

/** Canonical text of a segments list. */
function formatSegments(segments: readonly PathSegment[]): string {
  let text = '';
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i];
    if (typeof s === 'number') text += `[${s}]`;
    else if (BARE.test(s)) text += i === 0 ? s : `.${s}`;
    else text += `[${JSON.stringify(s)}]`;
  }
  return text;
}

function isBareChar(c: string): boolean {
  return !(c === '.' || c === '[' || c === ']' || c === '"' || c === "'" || /\s/.test(c));
}

function parseSegments(path: string): PathSegment[] {
  const fail = (what: string, pos: number): never => {
    throw new ConfigError(`invalid field path ${show(path)}: ${what} at position ${pos}`);
  };
  if (path.length === 0) throw new ConfigError('invalid field path "": the path is empty');
  const segments: PathSegment[] = [];
  const n = path.length;
  let i = 0;
  // A path starts with a bare name or a bracket; after that, each segment is `.name` or `[...]`.
  let expectName = path[0] !== '[';
  while (i < n || expectName) {
    if (expectName) {
      const start = i;
      while (i < n && isBareChar(path[i])) i++;
      if (i === start) fail(i < n ? `expected a field name, got ${show(path[i])}` : 'expected a field name', i);
      segments.push(path.slice(start, i));
      expectName = false;
      continue;
    }
    const c = path[i];
    if (c === '.') {
      i++;
      expectName = true;
    } else if (c === '[') {
      i = parseBracket(path, i + 1, segments, fail);
    } else {
      fail(`unexpected ${show(c)}`, i);
    }
  }
  return segments;
}

/** Parse the inside of `[...]` starting after the `[`; returns the position after the `]`. */
function parseBracket(path: string, start: number, segments: PathSegment[], fail: (what: string, pos: number) => never): number {
  const n = path.length;
  let i = start;
  const c = path[i];
  if (c >= '0' && c <= '9') {
    while (i < n && path[i] >= '0' && path[i] <= '9') i++;
    const digits = path.slice(start, i);
    if (digits.length > 1 && digits[0] === '0') fail(`array index ${digits} has a leading zero`, start);
    const index = Number(digits);
    if (index > MAX_INDEX) fail(`array index ${digits} is too large`, start);
    segments.push(index);
  } else if (c === '"' || c === "'") {
    const quote = c;
    let key = '';
    i++;
    for (;;) {
      if (i >= n) fail('unterminated quoted name', start);
      const ch = path[i];
      if (ch === quote) {
        i++;
        break;
      }
      if (ch === '\\') {
        const [decoded, next] = decodeEscape(path, i, fail);
        key += decoded;
        i = next;
      } else {
        key += ch;
        i++;
      }
    }
    segments.push(key);
  } else {
    fail(i < n ? `expected an array index or a quoted name, got ${show(c)}` : 'expected an array index or a quoted name', i);
  }
  if (path[i] !== ']') fail(i < n ? `expected "]", got ${show(path[i])}` : 'expected "]"', i);
  return i + 1;
}

const SIMPLE_ESCAPES: Record<string, string> = { '"': '"', "'": "'", '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

function decodeEscape(path: string, at: number, fail: (what: string, pos: number) => never): [string, number] {
  const e = path[at + 1];
  if (e === undefined) fail('unterminated escape', at);
  if (e === 'u') {
    const hex = path.slice(at + 2, at + 6);
    if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('invalid \\u escape', at);
    return [String.fromCharCode(parseInt(hex, 16)), at + 6];
  }
  const simple = SIMPLE_ESCAPES[e];
  if (simple === undefined) fail(`invalid escape \\${e}`, at);
  return [simple, at + 2];
}

type Bag = Record<string, unknown>;

const objectToString = Object.prototype.toString;

/**
 * A record-like object that writes may go through: a plain object, a null-prototype object, or a
 * class instance (avsc decodes records into class instances), but not a built-in such as a Date,
 * Map or Buffer, which a shallow copy would break.
 */
function isRecordObject(value: unknown): value is Bag {
  if (value === null || typeof value !== 'object') return false;
  if (Object.getPrototypeOf(value) === Object.prototype) return true;
  return !Array.isArray(value) && objectToString.call(value) === '[object Object]';
}

/** Whether `container` can be written into with `segment` (arrays for indexes, record objects for names). */
function fits(container: unknown, segment: PathSegment): boolean {
  return typeof segment === 'number' ? Array.isArray(container) : isRecordObject(container);
}

/** Assign without ever invoking the `__proto__` setter. */
function put(container: unknown, segment: PathSegment, value: unknown): void {
  if (segment === '__proto__') {
    Object.defineProperty(container, segment, { value, writable: true, enumerable: true, configurable: true });
  } else {
    (container as Bag)[segment as string] = value;
  }
}

/** A shallow copy keeping the prototype (spread is the fast path for plain objects). */
function shallowCopy(container: object): object {
  if (Array.isArray(container)) return container.slice();
  const proto: unknown = Object.getPrototypeOf(container);
  if (proto === Object.prototype) return { ...container };
  // Object.assign would call a `__proto__` setter if the prototype has one; copy key by key.
  const copy = Object.create(proto as object | null) as Bag;
  for (const key of Object.keys(container)) put(copy, key, (container as Bag)[key]);
  return copy;
}

const hasOwn = Object.hasOwn;

class CompiledPath implements FieldPath {
  readonly path: string;
  readonly segments: readonly PathSegment[];
  // Hot-path copies: a plain array, plus per-segment "is this name an Object.prototype member?"
  // flags so that the hasOwn check is only paid for names such as `constructor` or `toString`.
  private readonly segs: PathSegment[];
  private readonly inheritable: boolean[];
  private readonly last: PathSegment;

  constructor(path: string, segments: PathSegment[]) {
    this.path = path;
    this.segs = segments;
    this.segments = Object.freeze(segments.slice());
    this.inheritable = segments.map((s) => typeof s === 'string' && s in Object.prototype);
    this.last = segments[segments.length - 1];
  }

  /** The child of `container` at segment `i`, or `undefined` when it is not addressable / absent. */
  private child(container: unknown, i: number): unknown {
    const s = this.segs[i];
    if (typeof s === 'number') return Array.isArray(container) ? container[s] : undefined;
    if (container === null || typeof container !== 'object' || Array.isArray(container)) return undefined;
    const value = (container as Bag)[s];
    // A full own-property check on every read costs as much as the read itself; only names that
    // could resolve to something inherited and useless (Object.prototype members, methods) pay for it.
    if ((this.inheritable[i] || typeof value === 'function') && !hasOwn(container, s)) return undefined;
    return value;
  }

  get(record: unknown): unknown {
    let cur = record;
    const n = this.segs.length;
    for (let i = 0; i < n && cur !== undefined; i++) cur = this.child(cur, i);
    return cur;
  }

  /** The container holding the last segment (read only, nothing created), or `undefined`. */
  private parentOf(record: unknown): unknown {
    let cur = record;
    const n = this.segs.length - 1;
    for (let i = 0; i < n && cur !== undefined; i++) cur = this.child(cur, i);
    return cur;
  }

  private holds(parent: unknown): boolean {
    const s = this.last;
    if (typeof s === 'number') return Array.isArray(parent) && s < parent.length && hasOwn(parent, s);
    return parent !== null && typeof parent === 'object' && !Array.isArray(parent) && hasOwn(parent, s);
  }

  has(record: unknown): boolean {
    return this.holds(this.parentOf(record));
  }

  set(record: unknown, value: unknown): boolean {
    const segs = this.segs;
    if (!fits(record, segs[0])) return false;
    let cur = record;
    for (let i = 0; i < segs.length - 1; i++) {
      let next = this.child(cur, i);
      if (next === undefined || next === null) {
        next = typeof segs[i + 1] === 'number' ? [] : {};
        put(cur, segs[i], next);
      } else if (!fits(next, segs[i + 1])) {
        return false;
      }
      cur = next;
    }
    put(cur, this.last, value);
    return true;
  }

  /** Whether every container from the record down to the parent may be written (value known to be there). */
  private writable(record: unknown): boolean {
    const segs = this.segs;
    let cur = record;
    for (let i = 0; i < segs.length; i++) {
      if (!fits(cur, segs[i])) return false;
      cur = this.child(cur, i);
    }
    return true;
  }

  remove(record: unknown): boolean {
    const parent = this.parentOf(record);
    if (!this.holds(parent) || !this.writable(record)) return false;
    const s = this.last;
    if (typeof s === 'number') (parent as unknown[]).splice(s, 1);
    else delete (parent as Bag)[s];
    return true;
  }

  setCopy(record: unknown, value: unknown, owned: Set<object>): unknown {
    const segs = this.segs;
    if (!fits(record, segs[0])) return undefined;
    const root = owned.has(record as object) ? (record as object) : own(shallowCopy(record as object), owned);
    let cur: object = root;
    for (let i = 0; i < segs.length - 1; i++) {
      let next = this.child(cur, i);
      if (next === undefined || next === null) {
        next = own(typeof segs[i + 1] === 'number' ? [] : {}, owned);
        put(cur, segs[i], next);
      } else if (!fits(next, segs[i + 1])) {
        // Only copies (equal to what they replaced) were written so far: nothing visible changed.
        return undefined;
      } else if (!owned.has(next as object)) {
        next = own(shallowCopy(next as object), owned);
        put(cur, segs[i], next);
      }
      cur = next as object;
    }
    put(cur, this.last, value);
    return root;
  }

  describeBlock(record: unknown): string | undefined {
    const segs = this.segs;
    let cur = record;
    for (let i = 0; i < segs.length; i++) {
      if (i > 0 && (cur === undefined || cur === null)) return undefined;
      if (!fits(cur, segs[i])) {
        const where = i === 0 ? 'the record' : show(formatSegments(segs.slice(0, i)));
        return `${where} is ${kindOf(cur)}, not ${typeof segs[i] === 'number' ? 'an array' : 'an object'}`;
      }
      cur = this.child(cur, i);
    }
    return undefined;
  }

  removeCopy(record: unknown, owned: Set<object>): unknown {
    const parent = this.parentOf(record);
    if (!this.holds(parent)) return record;
    if (!this.writable(record)) return undefined;
    const segs = this.segs;
    const n = segs.length;
    if (n === 1) return without(record as object, this.last, owned);
    let cur = owned.has(record as object) ? (record as object) : own(shallowCopy(record as object), owned);
    const root = cur;
    // Copy down to the grandparent; the parent itself is rebuilt without the key.
    for (let i = 0; i < n - 2; i++) {
      let next = this.child(cur, i) as object;
      if (!owned.has(next)) {
        next = own(shallowCopy(next), owned);
        put(cur, segs[i], next);
      }
      cur = next;
    }
    put(cur, segs[n - 2], without(this.child(cur, n - 2) as object, this.last, owned));
    return root;
  }
}

/** "a string", "an array", "a Date"… for messages. */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') {
    const name = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
    return typeof name === 'string' && name !== '' && name !== 'Object' ? `a ${name}` : 'an object';
  }
  return typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`;
}

function own<T extends object>(container: T, owned: Set<object>): T {
  owned.add(container);
  return container;
}

/**
 * `container` without `segment`. An owned array is spliced in place; an object is always rebuilt,
 * because `delete` would turn it into a slow dictionary-mode object for every later reader.
 */
function without(container: object, segment: PathSegment, owned: Set<object>): object {
  if (Array.isArray(container)) {
    if (owned.has(container)) {
      container.splice(segment as number, 1);
      return container;
    }
    const copy = container.slice();
    copy.splice(segment as number, 1);
    return own(copy, owned);
  }
  const proto: unknown = Object.getPrototypeOf(container);
  const copy: Bag = proto === Object.prototype ? {} : (Object.create(proto as object | null) as Bag);
  for (const key of Object.keys(container)) {
    if (key !== segment) put(copy, key, (container as Bag)[key]);
  }
  return own(copy, owned);
}
