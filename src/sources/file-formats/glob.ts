/** A glob split into the directory to list and the pattern for paths below it. */
export interface GlobParts {
  /** Leading directories without glob characters (`.` when there are none). */
  readonly base: string;
  /** The rest, matched against `/`-separated paths relative to `base`. */
  readonly pattern: string;
  /** Matcher for relative paths. */
  readonly regex: RegExp;
  /** Deepest relative path depth the pattern can match (`Infinity` with `**`). */
  readonly depth: number;
}

const GLOB_CHARS = /[*?[{]/;

/**
 * True when `path` contains glob characters (`*`, `?`, `[`, `{`).
 *
 * @example
 * ```ts
 * hasGlob('logs/*.jsonl'); // true
 * ```
 */
export function hasGlob(path: string): boolean {
  return GLOB_CHARS.test(path);
}

/**
 * Split a glob into its literal base directory and a matcher for the rest. Supported: `*` (any
 * characters but `/`), `?` (one character but `/`), `**` (any number of directories), `[abc]`,
 * `[a-z]`, `[!abc]`, and `{a,b}` alternatives (not nested). Backslash-separated patterns are read
 * as `/`-separated.
 *
 * @example
 * ```ts
 * const g = splitGlob('data/2024-*\/**\/*.csv');
 * g.base;                          // 'data'
 * g.regex.test('2024-01/x/a.csv'); // true
 * ```
 */
export function splitGlob(glob: string): GlobParts {
  const segments = glob.replace(/\\/g, '/').split('/');
  let literal = 0;
  while (literal < segments.length - 1 && !hasGlob(segments[literal])) literal++;
  const baseSegments = segments.slice(0, literal);
  const base = baseSegments.length === 0 ? '.' : baseSegments.join('/') || '/';
  const rest = segments.slice(literal);
  const pattern = rest.join('/');
  return {
    base,
    pattern,
    regex: globToRegExp(pattern),
    depth: rest.includes('**') || pattern.includes('**') ? Number.POSITIVE_INFINITY : rest.length,
  };
}

/**
 * A regular expression matching the `/`-separated relative paths `pattern` matches.
 *
 * @example
 * ```ts
 * globToRegExp('**\/*.{csv,tsv}').test('a/b/c.tsv'); // true
 * ```
 */
export function globToRegExp(pattern: string): RegExp {
  let out = '';
  let inBraces = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        const slashAfter = pattern[i + 2] === '/';
        const atSegmentStart = i === 0 || pattern[i - 1] === '/';
        if (atSegmentStart && slashAfter) {
          out += '(?:[^/]+/)*';
          i += 2;
        } else {
          out += '.*';
          i += 1;
        }
      } else {
        out += '[^/]*';
      }
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close === -1) {
        out += '\\[';
      } else {
        let body = pattern.slice(i + 1, close);
        const negate = body.startsWith('!') || body.startsWith('^');
        if (negate) body = body.slice(1);
        out += `[${negate ? '^' : ''}${body.replace(/[\\\]]/g, '\\$&')}]`;
        i = close;
      }
    } else if (c === '{' && !inBraces) {
      inBraces = true;
      out += '(?:';
    } else if (c === ',' && inBraces) {
      out += '|';
    } else if (c === '}' && inBraces) {
      inBraces = false;
      out += ')';
    } else {
      out += c.replace(/[.+^${}()|[\]\\/]/g, '\\$&');
    }
  }
  if (inBraces) throw new SyntaxError(`unclosed "{" in glob ${JSON.stringify(pattern)}`);
  return new RegExp(`^${out}$`);
}
