import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { GlobParts } from './glob.js';

/**
 * List the files a directory or a glob names, sorted by path (plain string order), which is the
 * order the file source reads them in. Hidden entries (names starting with `.`, such as the file
 * sink's in-progress and pending parts) are skipped, and so is everything below a hidden
 * directory. A directory is listed one level deep; a glob as deep as its pattern reaches.
 * Symbolic links to files count as files. A base directory that does not exist lists as empty.
 *
 * @example
 * ```ts
 * await listFiles('in');                           // ['in/a.jsonl', 'in/b.jsonl']
 * await listFiles('in', splitGlob('in/**\/*.csv')); // ['in/2024/x.csv', …]
 * ```
 */
export async function listFiles(dir: string, glob?: GlobParts): Promise<string[]> {
  const found: string[] = [];
  await walk(dir, '', glob, 1, found);
  found.sort(comparePaths);
  return found;
}

/** Plain code-unit order, the same on every platform and locale. */
export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function walk(dir: string, relative: string, glob: GlobParts | undefined, depth: number, found: string[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return;
    throw err;
  }
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    const rel = relative === '' ? entry.name : `${relative}/${entry.name}`;
    let isFile = entry.isFile();
    let isDir = entry.isDirectory();
    if (entry.isSymbolicLink()) {
      const target = await stat(path).catch(() => undefined);
      isFile = target?.isFile() ?? false;
      isDir = target?.isDirectory() ?? false;
    }
    if (isFile) {
      if (glob === undefined || glob.regex.test(rel)) found.push(path);
    } else if (isDir && glob !== undefined && depth < glob.depth) {
      await walk(path, rel, glob, depth + 1, found);
    }
  }
}
