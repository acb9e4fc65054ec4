import { describe, expect, it } from 'vitest';
import { pipeline } from '../../src/builder/pipeline.js';
import { deadLetter, type DeadLetter } from '../../src/runtime/error-policy.js';
import type { Source } from '../../src/runtime/source.js';
import { fileSink } from '../../src/sinks/file-sink.js';
import { committedRecords, tempDir } from '../support/files.js';
import { recording, recordingSink } from '../support/inline.js';

/** A source whose every third line is malformed: it returns those as dead letters with their position. */
function linesSource(count: number): Source<{ n: number }> {
  return {
    name: 'lines',
    bounded: true,
    replayable: true,
    open(ctx) {
      let i = (ctx.restored as number | undefined) ?? 0;
      return {
        read(max) {
          if (i >= count) return null;
          const records: Array<{ n: number }> = [];
          const deadLetters: DeadLetter[] = [];
          for (const end = Math.min(count, i + Math.min(max, 5)); i < end; i++) {
            if (i % 3 === 2) {
              deadLetters.push({ record: `bad ${i}`, error: { code: 'WEIR_BAD_RECORD', message: 'not JSON', step: 'lines' }, source: { name: 'lines', position: { line: i } } });
            } else records.push({ n: i });
          }
          return { records, deadLetters };
        },
        position: () => i,
      };
    },
  };
}

describe('dead letters from a source', () => {
  it('are counted and routed to the dead-letter sink; the job ends normally', async () => {
    const good = recording<{ n: number }>();
    const bad = recording<DeadLetter>();
    const result = await pipeline('src-dl')
      .source(linesSource(30), { onError: deadLetter(recordingSink(bad)) })
      .sink(recordingSink(good))
      .run();
    expect(good.records.map((r) => r.n)).toEqual(Array.from({ length: 30 }, (_, i) => i).filter((i) => i % 3 !== 2));
    expect(bad.records.map((d) => (d.source.position as { line: number }).line)).toEqual([2, 5, 8, 11, 14, 17, 20, 23, 26, 29]);
    expect(bad.ends).toBe(1);
    expect(result.steps.lines.deadLettered).toBe(10);
  });

  it('with checkpoints, dead letters are committed exactly once too', async () => {
    const t = tempDir();
    try {
      await pipeline('src-dl-cp')
        .source(linesSource(3000), { onError: deadLetter(fileSink({ dir: `${t.dir}/dead`, format: 'jsonl' })) })
        .sink(fileSink({ dir: `${t.dir}/out`, format: 'jsonl' }))
        .run({ stateDir: `${t.dir}/state`, checkpointInterval: 1 });
      expect(committedRecords<{ n: number }>(`${t.dir}/out`)).toHaveLength(2000);
      const dead = committedRecords<DeadLetter>(`${t.dir}/dead`);
      expect(dead.map((d) => (d.source.position as { line: number }).line)).toEqual(Array.from({ length: 1000 }, (_, k) => 3 * k + 2));
    } finally {
      t.cleanup();
    }
  });
});
