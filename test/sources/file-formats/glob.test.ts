import { describe, expect, it } from 'vitest';
import { globToRegExp, hasGlob, splitGlob } from '../../../src/sources/file-formats/glob.js';

describe('glob', () => {
  it('tells globs from plain paths', () => {
    expect(hasGlob('logs/a.jsonl')).toBe(false);
    for (const g of ['*.csv', 'a?.csv', 'a/[ab].csv', 'a/{x,y}.csv']) expect(hasGlob(g)).toBe(true);
  });

  it('splits off the literal base directory and the depth the pattern reaches', () => {
    expect(splitGlob('data/2024/*.csv')).toMatchObject({ base: 'data/2024', pattern: '*.csv', depth: 1 });
    expect(splitGlob('data/*/x/*.csv')).toMatchObject({ base: 'data', pattern: '*/x/*.csv', depth: 3 });
    expect(splitGlob('*.csv')).toMatchObject({ base: '.', pattern: '*.csv', depth: 1 });
    expect(splitGlob('/abs/**/*.csv')).toMatchObject({ base: '/abs', pattern: '**/*.csv', depth: Number.POSITIVE_INFINITY });
    expect(splitGlob('/*.csv')).toMatchObject({ base: '/', pattern: '*.csv' });
  });

  it('matches * within a segment, ** across segments, ?, classes and alternatives', () => {
    const cases: Array<[string, string, boolean]> = [
      ['*.csv', 'a.csv', true],
      ['*.csv', 'x/a.csv', false],
      ['**/*.csv', 'a.csv', true],
      ['**/*.csv', 'x/y/a.csv', true],
      ['x/**', 'x/y/z', true],
      ['a?.csv', 'ab.csv', true],
      ['a?.csv', 'a/.csv', false],
      ['[ab].csv', 'b.csv', true],
      ['[!ab].csv', 'b.csv', false],
      ['[a-c]1', 'c1', true],
      ['{x,y}.jsonl', 'y.jsonl', true],
      ['{x,y}.jsonl', 'z.jsonl', false],
      ['a.b+c(1).csv', 'a.b+c(1).csv', true],
      ['a.csv', 'abcsv', false],
    ];
    for (const [pattern, path, expected] of cases) expect([pattern, path, globToRegExp(pattern).test(path)]).toEqual([pattern, path, expected]);
  });

  it('rejects an unclosed alternative', () => {
    expect(() => globToRegExp('{a,b')).toThrow(SyntaxError);
  });
});
