import { describe, expect, it } from 'vitest';
import { partFileNames } from '../../src/sinks/part-file-names.js';

describe('partFileNames', () => {
  const names = partFileNames('part', 'out');

  it('builds hidden in-progress and pending names and visible final names', () => {
    expect(names.inProgress(7)).toBe('.part-out-7.jsonl.inprogress');
    expect(names.final(3, 1, false)).toBe('part-out-0000000003-00001.jsonl');
    expect(names.final(3, 0, true)).toBe('part-out-0000000003-00000-end.jsonl');
    expect(names.pending(names.final(3, 1, false))).toBe('.part-out-0000000003-00001.jsonl.pending');
  });

  it('recognises only its own step’s files', () => {
    const other = partFileNames('part', 'out-2');
    expect(names.isInProgress(names.inProgress(0))).toBe(true);
    expect(names.isInProgress(other.inProgress(0))).toBe(false);
    expect(names.parsePending(names.pending(names.final(12, 0, false)))).toEqual({ checkpointId: 12, end: false });
    expect(names.parsePending(names.pending(names.final(12, 0, true)))).toEqual({ checkpointId: 12, end: true });
    expect(names.parsePending(other.pending(other.final(12, 0, false)))).toBeUndefined();
    expect(names.parsePending(names.final(12, 0, false))).toBeUndefined();
  });

  it('encodes step names that are not filename-safe', () => {
    const odd = partFileNames('p', 'a/b:c*d');
    expect(odd.inProgress(0)).toBe('.p-a%2Fb%3Ac%2Ad-0.jsonl.inprogress');
    expect(odd.isInProgress(odd.inProgress(4))).toBe(true);
  });
});
