import { describe, expect, it } from 'vitest';
import { PaneTable } from '../../src/windows/pane-table.js';

describe('PaneTable', () => {
  it('keeps keys in insertion order, with their index', () => {
    const t = new PaneTable(false);
    const pane = t.space(0);
    pane.append('a', 1);
    pane.append(undefined, 2);
    pane.append(3, 3);
    expect(pane.index.get(undefined)).toBe(1);
    expect(t.size).toBe(3);
    expect(t.snapshot()).toEqual([
      [
        0,
        [
          ['a', 1],
          [undefined, 2],
          [3, 3],
        ],
      ],
    ]);
  });

  it('deletes without reordering, compacts holes, and a re-added key goes last', () => {
    const t = new PaneTable(false);
    const pane = t.space(10);
    for (let i = 0; i < 10; i++) pane.append(`k${i}`, i);
    for (const i of [1, 3, 5, 7, 9, 0]) pane.delete(`k${i}`);
    pane.delete('absent');
    pane.append('k1', 11);
    const live = pane.keys.filter((_, i) => !pane.isHole(i));
    expect(live).toEqual(['k2', 'k4', 'k6', 'k8', 'k1']);
    for (let i = 0; i < pane.keys.length; i++) if (!pane.isHole(i)) expect(pane.index.get(pane.keys[i])).toBe(i);
    expect(pane.size).toBe(5);
    expect(t.snapshot()).toEqual([
      [
        10,
        [
          ['k2', 2],
          ['k4', 4],
          ['k6', 6],
          ['k8', 8],
          ['k1', 11],
        ],
      ],
    ]);
  });

  it('leaves empty panes out of snapshots, drops panes, and restores', () => {
    const t = new PaneTable(true);
    t.space(0).append('a', [1]);
    t.space(5);
    t.space(10).append('b', [2]);
    expect(t.space(10).slots).toEqual([]);
    const snap = t.snapshot();
    expect(snap).toEqual([
      [0, [['a', [1]]]],
      [10, [['b', [2]]]],
    ]);
    t.drop(0);
    expect(t.get(0)).toBeUndefined();
    expect(t.size).toBe(1);
    const restored = new PaneTable(false, snap);
    expect([...restored.starts()]).toEqual([0, 10]);
    expect(restored.get(10)!.accs).toEqual([[2]]);
    expect(restored.get(10)!.slots).toBeUndefined();
  });
});
