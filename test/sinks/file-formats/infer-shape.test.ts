import { describe, expect, it } from 'vitest';
import { inferShape } from '../../../src/sinks/file-formats/infer-shape.js';

describe('inferShape', () => {
  it('merges the records of a batch: nulls fit anything, missing fields are null, arrays merge items', () => {
    const shape = inferShape([
      { a: 1, b: null, c: [true], d: { x: 'u' } },
      { a: 2, b: 'x', c: [], e: new Date(0), f: Buffer.from('z'), g: 1n },
    ]);
    expect(shape).toEqual({
      kind: 'struct',
      fields: new Map<string, unknown>([
        ['a', { kind: 'number' }],
        ['b', { kind: 'string' }],
        ['c', { kind: 'list', items: { kind: 'boolean' } }],
        ['d', { kind: 'struct', fields: new Map([['x', { kind: 'string' }]]) }],
        ['e', { kind: 'date' }],
        ['f', { kind: 'bytes' }],
        ['g', { kind: 'bigint' }],
      ]),
    });
    expect(inferShape([null, undefined])).toEqual({ kind: 'null' });
    expect(inferShape([{ l: [null] }])).toEqual({ kind: 'struct', fields: new Map([['l', { kind: 'list', items: { kind: 'null' } }]]) });
  });

  it('names the field path when two values do not fit one shape', () => {
    expect(() => inferShape([{ a: { b: 1 } }, { a: { b: 'x' } }])).toThrow('record.a.b is a number in one record and a string in another; give the schema option');
    expect(() => inferShape([{ a: [1] }, { a: { x: 1 } }])).toThrow('record.a is a array in one record and a object in another');
    expect(() => inferShape([{ f: () => 1 }])).toThrow('record.f is a function, which no file format can hold');
  });
});
