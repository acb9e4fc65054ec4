import { expect } from 'vitest';
import { committedRecords } from './files.js';

/** How a killed or finished run of a job ended. */
export interface RunEnd {
  readonly code: number | null;
  readonly signal: string | null;
  readonly stderr: string;
}

/** Lines of the committed JSON-lines output of `dir`, as a sorted multiset. */
export function committedLines(dir: string): string[] {
  return committedRecords(dir)
    .map((r) => JSON.stringify(r))
    .sort();
}

/**
 * A seeded generator of numbers in [0, 1) (a linear congruential one), so a crash test kills its
 * job at the same moments on every run.
 *
 * @example
 * ```ts
 * const random = seededRandom(777);
 * const killAt = 150 + Math.floor(random() * 600);
 * ```
 */
export function seededRandom(seed: number): () => number {
  let x = seed;
  return () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

/**
 * The SIGKILL test loop. Episodes start from nothing (fresh output and state per episode); in each,
 * the job is killed again and again (at `killAt(attempt)` ms, or run to its end when that returns
 * undefined) until a run finishes on its own, and its committed output must then equal `expected`.
 * After every kill, what is visible must be part of the right answer: nothing duplicated, nothing
 * wrong. Episodes repeat until `kills` kills happened. Returns the number of kills.
 */
export async function crashEpisodes(options: {
  readonly kills: number;
  readonly expected: readonly string[];
  readonly killAt: (attempt: number) => number | undefined;
  readonly run: (episode: number, killAfterMs: number | undefined) => Promise<RunEnd>;
  readonly output: (episode: number) => string[];
}): Promise<number> {
  // The right answer as a multiset: a line may rightly appear more than once (equal results of
  // different tasks of a scaled-out job), but never more often than in an uninterrupted run.
  const allowed = new Map<string, number>();
  for (const line of options.expected) allowed.set(line, (allowed.get(line) ?? 0) + 1);
  let kills = 0;
  for (let episode = 0; kills < options.kills; episode++) {
    expect(episode).toBeLessThan(options.kills * 4);
    for (let attempt = 0; ; attempt++) {
      expect(attempt).toBeLessThan(200);
      const result = await options.run(episode, options.killAt(attempt));
      if (result.signal === 'SIGKILL') {
        kills++;
        const seen = new Map<string, number>();
        for (const line of options.output(episode)) {
          seen.set(line, (seen.get(line) ?? 0) + 1);
          // Nothing wrong, nothing duplicated: never more copies than the right answer has.
          expect(seen.get(line), line).toBeLessThanOrEqual(allowed.get(line) ?? 0);
        }
        continue;
      }
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      break;
    }
    expect(options.output(episode)).toEqual(options.expected);
  }
  return kills;
}
