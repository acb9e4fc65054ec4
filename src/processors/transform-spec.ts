import { ConfigError, RecordError, describe, show } from '../runtime/errors.js';
import { compilePath, pathFromSegments, type FieldPath, type PathSegment } from './field-path.js';

/**
 * A value that JSON (or YAML) configuration can carry.
 *
 * @example
 * ```ts
 * const v: JsonValue = { tags: ['a', 'b'], n: 1, ok: true, none: null };
 * ```
 */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/**
 * `{ set: 'a.b', value }`: write `value` at the path, creating missing objects and arrays.
 *
 * Strings are templates: `${field.path}` reads the record as it is at this step, `${timestamp}` is
 * the event time in ms, `${timestamp:iso}` its ISO-8601 string, and `$${` is a literal `${`.
 * A string that is exactly one placeholder yields the raw value (a number stays a number, an object
 * stays an object, a missing field gives `undefined`); otherwise placeholders are rendered as text
 * (`undefined` and `null` as the empty string, objects as JSON). Strings nested in an object or
 * array value are templates too. To read a record field named `timestamp`, write `${["timestamp"]}`.
 *
 * @example
 * ```ts
 * const step: SetStep = { set: 'ids.key', value: '${user}-${timestamp}' };
 * ```
 */
export interface SetStep {
  set: string;
  value: JsonValue;
}

/**
 * `{ rename: 'a.b', to: 'c' }`: move a value. A missing source is a no-op; an existing target is overwritten.
 *
 * @example
 * ```ts
 * const step: RenameStep = { rename: 'usr', to: 'user.id' };
 * ```
 */
export interface RenameStep {
  rename: string;
  to: string;
}

/**
 * `{ remove: 'a.b' }` or `{ remove: ['a', 'b[0]'] }`: delete values (array elements are spliced out); missing ones are skipped.
 *
 * @example
 * ```ts
 * const step: RemoveStep = { remove: ['debug', 'items[0]'] };
 * ```
 */
export interface RemoveStep {
  remove: string | readonly string[];
}

/**
 * `{ copy: 'a', to: 'b' }`: put a deep copy (structuredClone) of a value at another path. A missing source is a no-op.
 *
 * @example
 * ```ts
 * const step: CopyStep = { copy: 'user', to: 'audit.user' };
 * ```
 */
export interface CopyStep {
  copy: string;
  to: string;
}

/**
 * `{ extract: 'url', pattern, into }`: run a regular expression over a text field and write its
 * capture groups into fields. `into` is a list of paths for groups 1, 2… (`null` skips a group), or
 * an object from path to group number or group name; without `into`, every named group becomes a
 * field named after it. `prefix` puts all targets under a path. No match (or a field that is
 * missing or not text) leaves the targets unset, unless `required` makes it a record error.
 * Numbers and booleans are matched as their text.
 *
 * @example
 * ```ts
 * const step: ExtractStep = { extract: 'url', pattern: '^https?://([^/]+)(/.*)?$', into: { host: 1, path: 2 } };
 * ```
 */
export interface ExtractStep {
  extract: string;
  pattern: string;
  /** RegExp flags; `g` and `y` are refused because a pattern is applied once per record. */
  flags?: string;
  into?: readonly (string | null)[] | { readonly [path: string]: number | string };
  prefix?: string;
  required?: boolean;
}

/**
 * `{ match: 'email', pattern, into: 'isInternal' }`: write whether a text field matches (false when missing or not text).
 *
 * @example
 * ```ts
 * const step: MatchStep = { match: 'email', pattern: '@example\\.com$', flags: 'i', into: 'isInternal' };
 * ```
 */
export interface MatchStep {
  match: string;
  pattern: string;
  flags?: string;
  into: string;
}

/**
 * `{ filter: condition }`: drop the record when the condition is false.
 *
 * @example
 * ```ts
 * const step: FilterStep = { filter: { field: 'status', in: ['ok', 'retry'] } };
 * ```
 */
export interface FilterStep {
  filter: Condition;
}

/**
 * `{ when: condition, then: [...], else: [...] }`: run one list of steps or the other.
 *
 * @example
 * ```ts
 * const step: WhenStep = { when: { field: 'kind', eq: 'click' }, then: [{ set: 'weight', value: 1 }], else: [{ remove: 'weight' }] };
 * ```
 */
export interface WhenStep {
  when: Condition;
  then: readonly TransformStep[];
  else?: readonly TransformStep[];
}

/**
 * One step of a {@link TransformSpec}: exactly one of the step kinds, with only its own options.
 *
 * @example
 * ```ts
 * const steps: TransformStep[] = [{ set: 'seen', value: true }, { remove: 'tmp' }];
 * ```
 */
export type TransformStep = SetStep | RenameStep | RemoveStep | CopyStep | ExtractStep | MatchStep | FilterStep | WhenStep;

/**
 * A declarative transform: steps applied in order to each record. See {@link compileTransform}.
 *
 * @example
 * ```ts
 * const spec: TransformSpec = [
 *   { filter: { field: 'status', ne: 'deleted' } },
 *   { rename: 'usr', to: 'user.id' },
 *   { set: 'key', value: '${user.id}-${timestamp}' },
 * ];
 * ```
 */
export type TransformSpec = readonly TransformStep[];

/**
 * A test on one field. Several operators in one condition must all hold. `eq`, `ne` and `in`
 * compare JSON values (deep for objects and arrays, no type coercion: `1` is not `"1"`, a missing
 * field is not `null`); `gt`/`gte`/`lt`/`lte` compare numbers with numbers and strings with strings
 * and are false for any other value; `exists` tests that the value is not `undefined`; `matches`
 * tests a regular expression (with `flags`) against text (numbers and booleans as their text).
 *
 * @example
 * ```ts
 * const c: FieldCondition = { field: 'latencyMs', gte: 0, lt: 1000 };
 * ```
 */
export interface FieldCondition {
  field: string;
  eq?: JsonValue;
  ne?: JsonValue;
  gt?: number | string;
  gte?: number | string;
  lt?: number | string;
  lte?: number | string;
  in?: readonly JsonValue[];
  exists?: boolean;
  matches?: string;
  flags?: string;
}

/**
 * A condition for `filter` and `when`: a {@link FieldCondition}, or `{ and: [...] }`,
 * `{ or: [...] }` (non-empty lists, evaluated left to right with short circuit), `{ not: condition }`.
 *
 * @example
 * ```ts
 * const adult: Condition = { and: [{ field: 'age', gte: 18 }, { not: { field: 'banned', eq: true } }] };
 * ```
 */
export type Condition = FieldCondition | { and: readonly Condition[] } | { or: readonly Condition[] } | { not: Condition };

/**
 * Validate and compile a transform spec once; the result rewrites one record at a time.
 *
 * The whole spec is checked up front: an unknown step kind or option, a bad path, a bad regular
 * expression or a value of the wrong type throws a {@link ConfigError} naming the transform, the
 * step (1-based, nested as `step 2 (when) > then step 1 (set)`) and the option, e.g.
 * `transform "clean": step 3 (extract): pattern is not a valid regular expression: ...`.
 * Regular expressions, paths and templates are compiled here, never per record.
 *
 * The returned function gives the new record, or `undefined` when a `filter` dropped it. It never
 * changes its input: only the objects and arrays along the written paths are shallow-copied (each
 * at most once per record), so the output shares every untouched part with the input, and a record
 * no step changes is returned as is. It throws a {@link RecordError} (routed through the operator's
 * error policy) when a record cannot be transformed: a `required` extract that does not match, a
 * write blocked by a value of the wrong kind (`set: 'a.b'` when `a` is a string). Steps whose
 * source is missing (`rename`, `copy`, `remove`) are no-ops, not errors. The function is synchronous
 * and not re-entrant (it reuses one scratch set), which the runtime's sequential calls guarantee.
 *
 * @param spec the steps.
 * @param step the operator's name, used in every error.
 * @example
 * ```ts
 * const apply = compileTransform([
 *   { extract: 'url', pattern: '^https?://(?<host>[^/]+)(?<path>/.*)?$', prefix: 'req' },
 *   { match: 'email', pattern: '@example\\.com$', flags: 'i', into: 'isInternal' },
 *   { when: { field: 'isInternal', eq: true }, then: [{ remove: 'email' }] },
 *   { set: 'id', value: '${req.host}-${timestamp}' },
 * ], 'clean');
 * apply({ url: 'https://a.io/x', email: 'Bo@Example.com' }, 1000);
 * // { url: 'https://a.io/x', req: { host: 'a.io', path: '/x' }, isInternal: true, id: 'a.io-1000' }
 * ```
 */
export function compileTransform(spec: TransformSpec, step: string): (record: unknown, timestamp: number) => unknown {
  if (typeof step !== 'string' || step === '') {
    throw new ConfigError(`transform: the step name must be a non-empty string, got ${gotValue(step)}`);
  }
  const cx: Cx = { name: step, owned: new Set<object>() };
  if (!Array.isArray(spec)) throw configError(cx, '', `spec must be an array of steps, got ${gotValue(spec)}`);
  const ops = compileSteps(spec as unknown[], cx, '');
  const owned = cx.owned;
  return (record, timestamp) => {
    try {
      let out = record;
      for (let i = 0; i < ops.length; i++) {
        out = ops[i](out, timestamp);
        if (out === DROP) return undefined;
      }
      return out;
    } catch (err) {
      throw err instanceof RecordError ? err : new RecordError(step, `transform failed: ${describe(err)}`, err);
    } finally {
      // Copies made for this record are its own now; the next record starts with none.
      owned.clear();
    }
  };
}

/** Compile-time context shared by every step of one transform. */
interface Cx {
  readonly name: string;
  /** Containers copied for the record in progress: written in place until the record is done. */
  readonly owned: Set<object>;
}

/** A compiled step: the record after it, or {@link DROP}. */
type Op = (record: unknown, timestamp: number) => unknown;
/** Produces a value from the record and its event time. */
type Producer = (record: unknown, timestamp: number) => unknown;
/** A compiled condition. */
type Test = (record: unknown) => boolean;

const DROP: unique symbol = Symbol('weir.transform.drop');

const hasOwn = Object.hasOwn;

const STEP_OPTIONS = {
  set: ['set', 'value'],
  rename: ['rename', 'to'],
  remove: ['remove'],
  copy: ['copy', 'to'],
  extract: ['extract', 'pattern', 'flags', 'into', 'prefix', 'required'],
  match: ['match', 'pattern', 'flags', 'into'],
  filter: ['filter'],
  when: ['when', 'then', 'else'],
} as const;
type Kind = keyof typeof STEP_OPTIONS;
const KINDS = Object.keys(STEP_OPTIONS) as Kind[];

const FIELD_OPERATORS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'exists', 'matches'] as const;
const COMBINATORS = ['and', 'or', 'not'] as const;

function configError(cx: Cx, label: string, message: string, cause?: unknown): ConfigError {
  const at = label === '' ? '' : `${label}: `;
  return new ConfigError(`transform ${show(cx.name)}: ${at}${message}`, { step: cx.name, cause });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Options set to `undefined` count as absent, as with spread option objects. */
function opt(raw: Record<string, unknown>, key: string): unknown {
  return hasOwn(raw, key) ? raw[key] : undefined;
}

function quoteList(keys: readonly string[]): string {
  return keys.map((k) => `"${k}"`).join(', ');
}

function compileSteps(steps: unknown[], cx: Cx, outer: string): Op[] {
  return steps.map((raw, i) => compileStep(raw, cx, `${outer}step ${i + 1}`));
}

function compileStep(raw: unknown, cx: Cx, base: string): Op {
  if (!isObject(raw)) throw configError(cx, base, `must be an object with one of ${quoteList(KINDS)}, got ${gotValue(raw)}`);
  const keys = Object.keys(raw);
  const kinds = KINDS.filter((k) => hasOwn(raw, k));
  if (kinds.length === 0) {
    const got = keys.length === 0 ? 'an empty object' : `keys ${quoteList(keys)}`;
    throw configError(cx, base, `unknown step kind: expected one of ${quoteList(KINDS)}, got ${got}`);
  }
  if (kinds.length > 1) throw configError(cx, base, `a step has exactly one kind, got ${quoteList(kinds)}`);
  const kind = kinds[0];
  const label = `${base} (${kind})`;
  const allowed: readonly string[] = STEP_OPTIONS[kind];
  for (const key of keys) {
    if (!allowed.includes(key)) throw configError(cx, label, `unknown option "${key}" (allowed: ${quoteList(allowed)})`);
  }
  const s = new StepReader(cx, label, raw);
  switch (kind) {
    case 'set':
      return compileSet(s);
    case 'rename':
      return compileRename(s);
    case 'remove':
      return compileRemove(s);
    case 'copy':
      return compileCopy(s);
    case 'extract':
      return compileExtract(s);
    case 'match':
      return compileMatch(s);
    case 'filter': {
      const test = compileCondition(raw.filter, s, 'filter');
      return (record) => (test(record) ? record : DROP);
    }
    case 'when':
      return compileWhen(s);
  }
}

/** Reads and checks the options of one step; every error names the transform, the step and the option. */
class StepReader {
  constructor(
    readonly cx: Cx,
    readonly label: string,
    readonly raw: Record<string, unknown>,
  ) {}

  fail(message: string, cause?: unknown): ConfigError {
    return configError(this.cx, this.label, message, cause);
  }

  /** A RecordError for the record in progress. */
  recordError(message: string, cause?: unknown): RecordError {
    return new RecordError(this.cx.name, `${this.label}: ${message}`, cause);
  }

  has(key: string): boolean {
    return opt(this.raw, key) !== undefined;
  }

  path(key: string): FieldPath {
    return this.pathValue(opt(this.raw, key), key);
  }

  pathValue(value: unknown, option: string): FieldPath {
    if (value === undefined) throw this.fail(`${option} is required`);
    if (typeof value !== 'string') throw this.fail(`${option} must be a field path string, got ${gotValue(value)}`);
    try {
      return compilePath(value);
    } catch (err) {
      throw this.fail(`${option}: ${describe(err)}`, err);
    }
  }

  regex(patternKey: string, flagsKey: string): RegExp {
    const pattern = opt(this.raw, patternKey);
    const flags = opt(this.raw, flagsKey) ?? '';
    return this.regexValue(pattern, flags, patternKey, flagsKey);
  }

  regexValue(pattern: unknown, flags: unknown, patternKey: string, flagsKey: string): RegExp {
    if (pattern === undefined) throw this.fail(`${patternKey} is required`);
    if (typeof pattern !== 'string') throw this.fail(`${patternKey} must be a string, got ${gotValue(pattern)}`);
    if (typeof flags !== 'string') throw this.fail(`${flagsKey} must be a string, got ${gotValue(flags)}`);
    if (flags.includes('g') || flags.includes('y')) {
      throw this.fail(`${flagsKey} must not include "g" or "y" (a pattern is applied once per record), got ${gotValue(flags)}`);
    }
    try {
      new RegExp('', flags);
    } catch (err) {
      throw this.fail(`${flagsKey} is not a valid set of regular expression flags, got ${gotValue(flags)}`, err);
    }
    try {
      return new RegExp(pattern, flags);
    } catch (err) {
      throw this.fail(`${patternKey} is not a valid regular expression: ${describe(err)}`, err);
    }
  }

  /** The error for a write blocked by a value of the wrong kind. */
  blocked(path: FieldPath, record: unknown): RecordError {
    return this.recordError(`cannot write ${show(path.path)}: ${path.describeBlock(record) ?? 'blocked'}`);
  }
}

function compileSet(s: StepReader): Op {
  const path = s.path('set');
  if (!s.has('value')) throw s.fail('value is required (use null for an empty value)');
  const produce = compileValue(s.raw.value, s, 'value');
  const owned = s.cx.owned;
  return (record, timestamp) => {
    const value = produce(record, timestamp);
    const out = path.setCopy(record, value, owned);
    if (out === undefined) throw s.blocked(path, record);
    return out;
  };
}

function compileRename(s: StepReader): Op {
  const from = s.path('rename');
  const to = s.path('to');
  const owned = s.cx.owned;
  if (compareSegments(from.segments, to.segments) === 0) return (record) => record;
  return (record) => {
    if (!from.has(record)) return record;
    const value = from.get(record);
    const removed = from.removeCopy(record, owned);
    if (removed === undefined) throw s.blocked(from, record);
    const out = to.setCopy(removed, value, owned);
    if (out === undefined) throw s.blocked(to, removed);
    return out;
  };
}

function compileRemove(s: StepReader): Op {
  const raw = s.raw.remove;
  let paths: FieldPath[];
  if (Array.isArray(raw)) {
    if (raw.length === 0) throw s.fail('remove must name at least one field path, got []');
    paths = raw.map((p: unknown, i) => s.pathValue(p, `remove[${i}]`));
  } else {
    paths = [s.pathValue(raw, 'remove')];
  }
  paths = orderForRemoval(paths);
  const owned = s.cx.owned;
  return (record) => {
    let out = record;
    for (let i = 0; i < paths.length; i++) {
      const next = paths[i].removeCopy(out, owned);
      if (next === undefined) throw s.blocked(paths[i], out);
      out = next;
    }
    return out;
  };
}

/**
 * Order paths so that removing one never shifts the array elements another one means: paths that
 * share an array are removed from the highest index down (`items[0]` and `items[1]` remove the two
 * elements first named). Duplicates are dropped.
 */
function orderForRemoval(paths: FieldPath[]): FieldPath[] {
  const sorted = paths.slice().sort((a, b) => compareSegments(a.segments, b.segments));
  return sorted.filter((p, i) => i === 0 || compareSegments(sorted[i - 1].segments, p.segments) !== 0);
}

function compareSegments(a: readonly PathSegment[], b: readonly PathSegment[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return y - x;
    if (typeof x === 'number') return -1;
    if (typeof y === 'number') return 1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

function compileCopy(s: StepReader): Op {
  const from = s.path('copy');
  const to = s.path('to');
  const owned = s.cx.owned;
  return (record) => {
    if (!from.has(record)) return record;
    let value = from.get(record);
    if (value !== null && typeof value === 'object') {
      try {
        value = structuredClone(value);
      } catch (err) {
        throw s.recordError(`cannot copy ${show(from.path)}: ${describe(err)}`, err);
      }
    }
    const out = to.setCopy(record, value, owned);
    if (out === undefined) throw s.blocked(to, record);
    return out;
  };
}

/** Text a pattern can run over: strings, and numbers, bigints and booleans as their text. */
function asText(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'bigint':
    case 'boolean':
      return String(value);
    default:
      return undefined;
  }
}

/** Capture groups of a regex: their count and the names of the named ones, in order. */
function groupsOf(re: RegExp): { count: number; names: string[] } {
  // An added empty alternative always matches, so the result has one slot per group.
  const m = new RegExp(`${re.source}|`, re.flags).exec('') as RegExpExecArray;
  return { count: m.length - 1, names: m.groups === undefined ? [] : Object.keys(m.groups) };
}

interface Target {
  readonly path: FieldPath;
  /** Group number, or group name. */
  readonly group: number | string;
}

function compileExtract(s: StepReader): Op {
  const source = s.path('extract');
  const re = s.regex('pattern', 'flags');
  const { count, names } = groupsOf(re);
  const required = opt(s.raw, 'required') ?? false;
  if (typeof required !== 'boolean') throw s.fail(`required must be a boolean, got ${gotValue(required)}`);
  const prefix: readonly PathSegment[] = s.has('prefix') ? s.path('prefix').segments : [];
  const under = (segments: readonly PathSegment[]): FieldPath => pathFromSegments([...prefix, ...segments]);
  const into = opt(s.raw, 'into');
  const targets: Target[] = [];
  if (into === undefined) {
    if (names.length === 0) throw s.fail('pattern has no named groups (?<name>...), so into is required');
    for (const name of names) targets.push({ path: under([name]), group: name });
  } else if (Array.isArray(into)) {
    if (into.length === 0) throw s.fail('into must name at least one field, got []');
    if (into.length > count) {
      const entries = `${into.length} ${into.length === 1 ? 'entry' : 'entries'}`;
      throw s.fail(`into has ${entries} but pattern has ${count} capture group${count === 1 ? '' : 's'}`);
    }
    into.forEach((p: unknown, i) => {
      if (p !== null) targets.push({ path: under(s.pathValue(p, `into[${i}]`).segments), group: i + 1 });
    });
  } else if (isObject(into)) {
    const entries = Object.entries(into);
    if (entries.length === 0) throw s.fail('into must name at least one field, got {}');
    for (const [key, group] of entries) {
      const option = `into[${JSON.stringify(key)}]`;
      if (typeof group === 'number') {
        if (!Number.isInteger(group) || group < 1 || group > count) {
          throw s.fail(`${option} must be a capture group number from 1 to ${count}, got ${gotValue(group)}`);
        }
      } else if (typeof group === 'string') {
        if (!names.includes(group)) throw s.fail(`${option} names no group of the pattern, got ${gotValue(group)}`);
      } else {
        throw s.fail(`${option} must be a capture group number or name, got ${gotValue(group)}`);
      }
      targets.push({ path: under(s.pathValue(key, option).segments), group });
    }
  } else {
    throw s.fail(`into must be an array of field paths or an object of field path to group, got ${gotValue(into)}`);
  }
  const owned = s.cx.owned;
  return (record) => {
    const value = source.get(record);
    const text = asText(value);
    const m = text === undefined ? null : re.exec(text);
    if (m === null) {
      if (!required) return record;
      const why = value === undefined ? 'is missing' : text === undefined ? `is ${kindName(value)}, not text` : 'does not match the pattern';
      throw s.recordError(`${show(source.path)} ${why}`);
    }
    let out = record;
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i];
      const g = typeof t.group === 'number' ? m[t.group] : m.groups?.[t.group];
      if (g === undefined) continue;
      const next = t.path.setCopy(out, g, owned);
      if (next === undefined) throw s.blocked(t.path, out);
      out = next;
    }
    return out;
  };
}

function kindName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') {
    const name = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
    return typeof name === 'string' && name !== '' && name !== 'Object' ? `a ${name}` : 'an object';
  }
  return `a ${typeof value}`;
}

/** A configured value for a message: JSON-like when it is plain data, its kind otherwise. */
function gotValue(value: unknown): string {
  switch (typeof value) {
    case 'number':
      return String(value);
    case 'bigint':
      return `${value}n`;
    case 'undefined':
      return 'undefined';
    case 'function':
    case 'symbol':
      return kindName(value);
    case 'object':
      if (value !== null && !Array.isArray(value)) {
        const proto: unknown = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null) return kindName(value);
      }
  }
  return show(value);
}

function compileMatch(s: StepReader): Op {
  const source = s.path('match');
  const re = s.regex('pattern', 'flags');
  const into = s.path('into');
  const owned = s.cx.owned;
  return (record) => {
    const text = asText(source.get(record));
    const out = into.setCopy(record, text !== undefined && re.test(text), owned);
    if (out === undefined) throw s.blocked(into, record);
    return out;
  };
}

function compileWhen(s: StepReader): Op {
  const test = compileCondition(s.raw.when, s, 'when');
  const branch = (key: 'then' | 'else'): Op[] | undefined => {
    const steps = opt(s.raw, key);
    if (steps === undefined) {
      if (key === 'then') throw s.fail('then is required');
      return undefined;
    }
    if (!Array.isArray(steps)) throw s.fail(`${key} must be an array of steps, got ${gotValue(steps)}`);
    return compileSteps(steps, s.cx, `${s.label} > ${key} `);
  };
  const then = branch('then') as Op[];
  const otherwise = branch('else');
  return (record, timestamp) => {
    if (test(record)) return runOps(then, record, timestamp);
    return otherwise === undefined ? record : runOps(otherwise, record, timestamp);
  };
}

function runOps(ops: Op[], record: unknown, timestamp: number): unknown {
  let out = record;
  for (let i = 0; i < ops.length; i++) {
    out = ops[i](out, timestamp);
    if (out === DROP) return DROP;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Conditions

function compileCondition(raw: unknown, s: StepReader, where: string): Test {
  if (!isObject(raw)) throw s.fail(`${where} must be a condition object, got ${gotValue(raw)}`);
  const keys = Object.keys(raw);
  const combinator = COMBINATORS.find((k) => hasOwn(raw, k));
  if (combinator !== undefined) {
    if (keys.length !== 1) throw s.fail(`${where}: "${combinator}" cannot be combined with other keys, got ${quoteList(keys)}`);
    const inner = raw[combinator];
    if (combinator === 'not') {
      const test = compileCondition(inner, s, `${where}.not`);
      return (record) => !test(record);
    }
    if (!Array.isArray(inner) || inner.length === 0) {
      throw s.fail(`${where}.${combinator} must be a non-empty array of conditions, got ${gotValue(inner)}`);
    }
    const tests = inner.map((c: unknown, i) => compileCondition(c, s, `${where}.${combinator}[${i}]`));
    if (tests.length === 1) return tests[0];
    if (combinator === 'and') {
      return (record) => {
        for (let i = 0; i < tests.length; i++) if (!tests[i](record)) return false;
        return true;
      };
    }
    return (record) => {
      for (let i = 0; i < tests.length; i++) if (tests[i](record)) return true;
      return false;
    };
  }
  const allowed: readonly string[] = ['field', ...FIELD_OPERATORS, 'flags'];
  for (const key of keys) {
    if (!allowed.includes(key)) {
      throw s.fail(`${where}: unknown key "${key}" (allowed: ${quoteList(allowed)}, or one of ${quoteList(COMBINATORS)})`);
    }
  }
  const field = s.pathValue(opt(raw, 'field'), `${where}.field`);
  const preds: Array<(value: unknown) => boolean> = [];
  for (const op of FIELD_OPERATORS) {
    const operand = opt(raw, op);
    if (operand !== undefined) preds.push(compilePredicate(op, operand, raw, s, `${where}.${op}`));
  }
  if (preds.length === 0) throw s.fail(`${where} has no operator (expected one of ${quoteList(FIELD_OPERATORS)})`);
  if (opt(raw, 'flags') !== undefined && opt(raw, 'matches') === undefined) throw s.fail(`${where}.flags is only allowed with matches`);
  if (preds.length === 1) {
    const p = preds[0];
    return (record) => p(field.get(record));
  }
  return (record) => {
    const value = field.get(record);
    for (let i = 0; i < preds.length; i++) if (!preds[i](value)) return false;
    return true;
  };
}

function compilePredicate(
  op: (typeof FIELD_OPERATORS)[number],
  operand: unknown,
  raw: Record<string, unknown>,
  s: StepReader,
  where: string,
): (value: unknown) => boolean {
  switch (op) {
    case 'eq':
    case 'ne': {
      checkJson(operand, s, where);
      const equal = equalTo(operand as JsonValue);
      return op === 'eq' ? equal : (v) => !equal(v);
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      if (!(typeof operand === 'string' || (typeof operand === 'number' && Number.isFinite(operand)))) {
        throw s.fail(`${where} must be a finite number or a string, got ${gotValue(operand)}`);
      }
      const type = typeof operand;
      const c = operand as number | string;
      if (op === 'gt') return (v) => typeof v === type && (v as number | string) > c;
      if (op === 'gte') return (v) => typeof v === type && (v as number | string) >= c;
      if (op === 'lt') return (v) => typeof v === type && (v as number | string) < c;
      return (v) => typeof v === type && (v as number | string) <= c;
    }
    case 'in': {
      if (!Array.isArray(operand)) throw s.fail(`${where} must be an array of values, got ${gotValue(operand)}`);
      operand.forEach((item: unknown, i) => checkJson(item, s, `${where}[${i}]`));
      const scalars = new Set<unknown>(operand.filter((x: unknown) => x === null || typeof x !== 'object'));
      const structured = (operand as JsonValue[]).filter((x) => x !== null && typeof x === 'object').map(equalTo);
      if (structured.length === 0) return (v) => scalars.has(v);
      return (v) => {
        if (v === null || typeof v !== 'object') return scalars.has(v);
        for (let i = 0; i < structured.length; i++) if (structured[i](v)) return true;
        return false;
      };
    }
    case 'exists': {
      if (typeof operand !== 'boolean') throw s.fail(`${where} must be a boolean, got ${gotValue(operand)}`);
      return operand ? (v) => v !== undefined : (v) => v === undefined;
    }
    case 'matches': {
      const re = s.regexValue(operand, opt(raw, 'flags') ?? '', where, where.replace(/matches$/, 'flags'));
      return (v) => {
        const text = asText(v);
        return text !== undefined && re.test(text);
      };
    }
  }
}

/** An equality test against a JSON constant: identity for scalars, deep for objects and arrays. */
function equalTo(constant: JsonValue): (value: unknown) => boolean {
  if (constant === null || typeof constant !== 'object') return (v) => v === constant;
  return (v) => jsonEqual(constant, v);
}

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b) || Object.prototype.toString.call(b) !== '[object Object]') return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) {
    if (!hasOwn(b, key) || !jsonEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])) return false;
  }
  return true;
}

/** Throws unless `value` is a JSON value (finite numbers, plain objects and arrays, no cycles). */
function checkJson(value: unknown, s: StepReader, where: string, seen: Set<object> = new Set()): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (Number.isFinite(value)) return;
      break;
    case 'object': {
      if (value === null) return;
      const proto: unknown = Object.getPrototypeOf(value);
      if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) break;
      if (seen.has(value)) throw s.fail(`${where} must be a JSON value, got a circular structure`);
      seen.add(value);
      if (Array.isArray(value)) value.forEach((item: unknown, i) => checkJson(item, s, `${where}[${i}]`, seen));
      else for (const [k, v] of Object.entries(value)) checkJson(v, s, `${where}${memberSuffix(k)}`, seen);
      seen.delete(value);
      return;
    }
  }
  throw s.fail(`${where} must be a JSON value, got ${gotValue(value)}`);
}

function memberSuffix(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

// ---------------------------------------------------------------------------------------------
// Values and templates

/**
 * Compile a `set` value into a producer. Constants with no template anywhere are returned as is
 * when scalar, and copied per record when objects or arrays (so records never share them).
 */
function compileValue(value: unknown, s: StepReader, where: string): Producer {
  checkJson(value, s, where);
  const built = build(value as JsonValue, s, where);
  if (built.constant) {
    const c = built.value;
    if (c === null || typeof c !== 'object') return () => c;
    return () => cloneJson(c);
  }
  return built.produce;
}

type Built = { constant: true; value: JsonValue } | { constant: false; produce: Producer };

function build(value: JsonValue, s: StepReader, where: string): Built {
  if (typeof value === 'string') return compileTemplate(value, s, where);
  if (value === null || typeof value !== 'object') return { constant: true, value };
  if (Array.isArray(value)) {
    const items = (value as readonly JsonValue[]).map((v, i) => build(v, s, `${where}[${i}]`));
    if (items.every((b) => b.constant)) return { constant: true, value: items.map((b) => (b as { value: JsonValue }).value) };
    const producers = items.map(toProducer);
    return {
      constant: false,
      produce: (record, timestamp) => {
        const out = new Array<unknown>(producers.length);
        for (let i = 0; i < producers.length; i++) out[i] = producers[i](record, timestamp);
        return out;
      },
    };
  }
  const entries = Object.entries(value).map(([k, v]) => [k, build(v, s, `${where}${memberSuffix(k)}`)] as const);
  if (entries.every(([, b]) => b.constant)) {
    const out: Record<string, JsonValue> = {};
    for (const [k, b] of entries) defineValue(out, k, (b as { value: JsonValue }).value);
    return { constant: true, value: out };
  }
  const keys = entries.map(([k]) => k);
  const producers = entries.map(([, b]) => toProducer(b));
  return {
    constant: false,
    produce: (record, timestamp) => {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < keys.length; i++) defineValue(out, keys[i], producers[i](record, timestamp));
      return out;
    },
  };
}

function toProducer(b: Built): Producer {
  if (!b.constant) return b.produce;
  const c = b.value;
  return c === null || typeof c !== 'object' ? () => c : () => cloneJson(c);
}

/** Assign without invoking a `__proto__` setter. */
function defineValue(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  else target[key] = value;
}

function cloneJson(value: JsonValue): JsonValue {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return (value as readonly JsonValue[]).map(cloneJson);
  const out: Record<string, JsonValue> = {};
  for (const key of Object.keys(value)) defineValue(out, key, cloneJson((value as Record<string, JsonValue>)[key]));
  return out;
}

/** A `${...}` placeholder. */
type Hole = { kind: 'path'; path: FieldPath } | { kind: 'timestamp' } | { kind: 'iso' };

/** Parse a template string; a string with no placeholder is a constant (with `$${` unescaped). */
function compileTemplate(text: string, s: StepReader, where: string): Built {
  const literals: string[] = [];
  const holes: Hole[] = [];
  let literal = '';
  let i = 0;
  const n = text.length;
  while (i < n) {
    if (text.startsWith('$${', i)) {
      literal += '${';
      i += 3;
    } else if (text.startsWith('${', i)) {
      const end = placeholderEnd(text, i + 2);
      if (end < 0) throw s.fail(`${where} has an unterminated placeholder at position ${i}: ${show(text)}`);
      holes.push(parseHole(text.slice(i + 2, end).trim(), s, where, i));
      literals.push(literal);
      literal = '';
      i = end + 1;
    } else {
      literal += text[i];
      i++;
    }
  }
  literals.push(literal);
  if (holes.length === 0) return { constant: true, value: literal };
  const owned = s.cx.owned;
  const read = holes.map((h) => holeReader(h, s, where));
  if (holes.length === 1 && literals[0] === '' && literals[1] === '') {
    const hole = holes[0];
    if (hole.kind !== 'path') return { constant: false, produce: read[0] };
    const path = hole.path;
    return {
      constant: false,
      produce: (record) => {
        const value = path.get(record);
        // The raw value is now reachable from two places. If it is a container copied for this
        // record (written in place), forget all copies so later writes through either place copy again.
        if (value !== null && typeof value === 'object' && owned.has(value)) owned.clear();
        return value;
      },
    };
  }
  return {
    constant: false,
    produce: (record, timestamp) => {
      let out = literals[0];
      for (let k = 0; k < read.length; k++) out += renderText(read[k](record, timestamp)) + literals[k + 1];
      return out;
    },
  };
}

/** Index of the `}` closing a placeholder whose content starts at `from` (quotes may hide a `}`), or -1. */
function placeholderEnd(text: string, from: number): number {
  let quote = '';
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (quote !== '') {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '}') {
      return i;
    }
  }
  return -1;
}

function parseHole(content: string, s: StepReader, where: string, at: number): Hole {
  if (content === '') throw s.fail(`${where} has an empty placeholder at position ${at}`);
  if (content === 'timestamp') return { kind: 'timestamp' };
  if (content.startsWith('timestamp:')) {
    if (content === 'timestamp:iso') return { kind: 'iso' };
    throw s.fail(`${where}: unknown placeholder \${${content}} at position ${at} (expected \${timestamp} or \${timestamp:iso})`);
  }
  try {
    return { kind: 'path', path: compilePath(content) };
  } catch (err) {
    throw s.fail(`${where}: placeholder at position ${at}: ${describe(err)}`, err);
  }
}

function holeReader(hole: Hole, s: StepReader, where: string): Producer {
  switch (hole.kind) {
    case 'path': {
      const path = hole.path;
      return (record) => path.get(record);
    }
    case 'timestamp':
      return (_record, timestamp) => timestamp;
    case 'iso':
      return (_record, timestamp) => {
        const date = new Date(timestamp);
        if (Number.isNaN(date.getTime())) throw s.recordError(`${where}: event time ${gotValue(timestamp)} is not a valid date`);
        return date.toISOString();
      };
  }
}

/** A placeholder's value inside a longer string. */
function renderText(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'undefined':
      return '';
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value);
  }
  if (value === null) return '';
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
