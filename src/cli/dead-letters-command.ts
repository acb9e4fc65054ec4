import { createReadStream } from 'node:fs';
import { open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { DeadLetter } from '../runtime/error-policy.js';
import { ConfigError, describe, show } from '../runtime/errors.js';
import type { CliCommand, CliIo } from './command.js';

const USAGE = `usage: weir dead-letters <list|show|replay> <dir> [options]

Inspect and replay the dead letters a job wrote (JSON lines, e.g. by sinks.deadLetters) in <dir>.
Every visible *.jsonl file of <dir> is read, in name order; hidden files are uncommitted work.

  weir dead-letters list <dir>
      one line per file: dead letters, first and last error code
  weir dead-letters show <dir> [--limit N] [--code CODE]...
      the dead letters with their error and source position (default limit 20)
  weir dead-letters replay <dir> --to <file.jsonl> [--code CODE]... [--force]
      write the original records, one JSON value per line, to <file.jsonl> for a job to read
      as input; --force replaces an existing file

options:
  --code CODE   only dead letters with this error code (repeatable: any of them)
  --limit N     show at most N dead letters
  --to FILE     output file of replay
  --force       let replay overwrite FILE
`;

/** `show` prints this many dead letters unless `--limit` says otherwise. */
const DEFAULT_LIMIT = 20;

/**
 * `weir dead-letters`: list, show and replay dead letters.
 *
 * - `list <dir>`: per file, the number of dead letters and the first and last error codes, then
 *   a total. Lines that are not dead letters are counted as unreadable.
 * - `show <dir> [--limit N] [--code CODE]`: each dead letter as `file:line`, its error (code,
 *   step, message), its source and position, and the record as indented JSON.
 * - `replay <dir> --to <file> [--code CODE] [--force]`: the dead letters' original `record`s as
 *   JSON lines in `<file>` (written to a temporary file and renamed, so a job never reads half a
 *   file); prints how many. Fix what made them fail, then run a job with `<file>` as input.
 *
 * Exit codes: 0 done, 2 bad arguments; a missing directory throws a {@link ConfigError}.
 *
 * @example
 * ```ts
 * const io = { out: (t: string) => process.stdout.write(t), err: (t: string) => process.stderr.write(t) };
 * await command.run(['replay', 'out/dead', '--to', 'retry.jsonl', '--code', 'WEIR_HTTP_503'], io);
 * ```
 */
export const command: CliCommand = {
  name: 'dead-letters',
  summary: 'list, show and replay dead letters (JSON lines) into a job input',
  usage: USAGE,
  async run(args: readonly string[], io: CliIo): Promise<number> {
    let parsed: Parsed;
    try {
      parsed = parse(args);
    } catch (err) {
      io.err(`weir dead-letters: ${describe(err)}\n\n${USAGE}`);
      return 2;
    }
    await checkDir(parsed.dir);
    switch (parsed.action) {
      case 'list':
        return list(parsed, io);
      case 'show':
        return showLetters(parsed, io);
      case 'replay':
        return replay(parsed, io);
    }
  },
};

interface Parsed {
  readonly action: 'list' | 'show' | 'replay';
  readonly dir: string;
  readonly codes: ReadonlySet<string> | undefined;
  readonly limit: number;
  readonly to: string | undefined;
  readonly force: boolean;
}

function parse(args: readonly string[]): Parsed {
  const [action, ...rest] = args;
  if (action !== 'list' && action !== 'show' && action !== 'replay') {
    throw new ConfigError(action === undefined ? 'missing action: list, show or replay' : `unknown action ${show(action)}: use list, show or replay`);
  }
  let dir: string | undefined;
  const codes = new Set<string>();
  let limit: number | undefined;
  let to: string | undefined;
  let force = false;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const value = (): string => {
      const v = eq === -1 ? rest[++i] : arg.slice(eq + 1);
      if (v === undefined || v === '') throw new ConfigError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--code':
        codes.add(value());
        break;
      case '--limit': {
        const text = value();
        const n = Number(text);
        if (!(/^\d+$/.test(text) && Number.isSafeInteger(n) && n > 0)) throw new ConfigError(`--limit must be a positive integer, got ${show(text)}`);
        limit = n;
        break;
      }
      case '--to':
        to = value();
        break;
      case '--force':
        force = true;
        break;
      default:
        if (arg.startsWith('-')) throw new ConfigError(`unknown option ${show(arg)}`);
        if (dir !== undefined) throw new ConfigError(`unexpected argument ${show(arg)}`);
        dir = arg;
    }
  }
  if (dir === undefined) throw new ConfigError('missing <dir>');
  if (limit !== undefined && action !== 'show') throw new ConfigError(`--limit applies to show, not ${action}`);
  if (codes.size > 0 && action === 'list') throw new ConfigError('--code applies to show and replay, not list');
  if (action === 'replay' && to === undefined) throw new ConfigError('replay needs --to <file.jsonl>');
  if (action !== 'replay' && (to !== undefined || force)) throw new ConfigError(`--to and --force apply to replay, not ${action}`);
  return { action, dir, codes: codes.size === 0 ? undefined : codes, limit: limit ?? DEFAULT_LIMIT, to, force };
}

async function checkDir(dir: string): Promise<void> {
  let isDir = false;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) throw new ConfigError(`dead-letters: ${show(dir)} is not a directory`);
}

/** One line of a dead-letter file: the dead letter, or `undefined` when the line is not one. */
interface Line {
  readonly file: string;
  readonly line: number;
  readonly letter: DeadLetter | undefined;
}

/** Visible JSON-lines files of `dir`, in name order (which is checkpoint order for weir's names). */
async function files(dir: string): Promise<string[]> {
  return (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isFile() && !e.name.startsWith('.') && e.name.endsWith('.jsonl'))
    .map((e) => e.name)
    .sort();
}

/** Every non-blank line of `file`, streamed. */
async function* lines(dir: string, file: string): AsyncGenerator<Line> {
  const input = createInterface({ input: createReadStream(join(dir, file), 'utf8'), crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const text of input) {
      n++;
      if (text.trim() === '') continue;
      yield { file, line: n, letter: asDeadLetter(text) };
    }
  } finally {
    input.close();
  }
}

function asDeadLetter(text: string): DeadLetter | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const v = value as Partial<DeadLetter> | null;
  if (v === null || typeof v !== 'object' || !('record' in v)) return undefined;
  const error = v.error as Partial<DeadLetter['error']> | undefined;
  if (error === null || typeof error !== 'object' || typeof error.code !== 'string') return undefined;
  return v as DeadLetter;
}

function matches(letter: DeadLetter, codes: ReadonlySet<string> | undefined): boolean {
  return codes === undefined || codes.has(letter.error.code);
}

async function list(p: Parsed, io: CliIo): Promise<number> {
  const rows: string[][] = [];
  let total = 0;
  let unreadable = 0;
  const names = await files(p.dir);
  for (const file of names) {
    let count = 0;
    let bad = 0;
    let first = '-';
    let last = '-';
    for await (const { letter } of lines(p.dir, file)) {
      if (letter === undefined) {
        bad++;
        continue;
      }
      if (count === 0) first = letter.error.code;
      last = letter.error.code;
      count++;
    }
    total += count;
    unreadable += bad;
    rows.push([file, String(count), first, last, bad === 0 ? '' : `${bad} unreadable`]);
  }
  if (names.length === 0) {
    io.out(`no dead-letter files in ${p.dir}\n`);
    return 0;
  }
  io.out(table([['FILE', 'LETTERS', 'FIRST CODE', 'LAST CODE', ''], ...rows], [false, true, false, false, false]));
  const fileCount = names.length === 1 ? '1 file' : `${names.length} files`;
  const letters = total === 1 ? '1 dead letter' : `${total} dead letters`;
  io.out(`total: ${fileCount}, ${letters}${unreadable === 0 ? '' : `, ${unreadable} unreadable lines`}\n`);
  return 0;
}

async function showLetters(p: Parsed, io: CliIo): Promise<number> {
  let shown = 0;
  let matched = 0;
  let unreadable = 0;
  for (const file of await files(p.dir)) {
    for await (const { line, letter } of lines(p.dir, file)) {
      if (letter === undefined) {
        unreadable++;
        continue;
      }
      if (!matches(letter, p.codes)) continue;
      matched++;
      if (shown >= p.limit) continue;
      shown++;
      io.out(render(file, line, letter));
    }
  }
  const filter = p.codes === undefined ? '' : ` with code ${[...p.codes].join(' or ')}`;
  io.out(`shown ${shown} of ${matched} dead letters${filter}${unreadable === 0 ? '' : ` (${unreadable} unreadable lines skipped)`}\n`);
  return 0;
}

function render(file: string, line: number, letter: DeadLetter): string {
  const { error, source } = letter;
  const step = typeof error.step === 'string' ? ` in step "${error.step}"` : '';
  // weir's messages start with the step; it is already said.
  let message = String(error.message);
  if (typeof error.step === 'string' && message.startsWith(`step "${error.step}": `)) message = message.slice(error.step.length + 9);
  const name = source !== null && typeof source === 'object' && typeof source.name === 'string' ? source.name : '(unknown)';
  const position = source !== null && typeof source === 'object' && source.position !== undefined ? ` at ${JSON.stringify(source.position)}` : '';
  const record = (JSON.stringify(letter.record, null, 2) ?? 'undefined').replace(/\n/g, '\n    ');
  return `${file}:${line}\n  error:  ${error.code}${step}: ${message}\n  source: ${name}${position}\n  record: ${record}\n\n`;
}

async function replay(p: Parsed, io: CliIo): Promise<number> {
  const to = p.to!;
  if (!p.force && (await exists(to))) {
    io.err(`weir dead-letters: ${to} exists; pass --force to replace it\n`);
    return 1;
  }
  // Written beside the target and renamed: a job reading the target never sees half a file.
  const temp = join(dirname(to), `.${basename(to)}.${process.pid}.tmp`);
  const handle = await open(temp, 'w');
  let count = 0;
  let unreadable = 0;
  try {
    let text = '';
    for (const file of await files(p.dir)) {
      for await (const { letter } of lines(p.dir, file)) {
        if (letter === undefined) {
          unreadable++;
          continue;
        }
        if (!matches(letter, p.codes)) continue;
        text += `${JSON.stringify(letter.record) ?? 'null'}\n`;
        count++;
        if (text.length >= 1 << 16) {
          await handle.write(text);
          text = '';
        }
      }
    }
    if (text !== '') await handle.write(text);
    await handle.sync();
    await handle.close();
    await rename(temp, to);
  } catch (err) {
    await handle.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  const filter = p.codes === undefined ? '' : ` with code ${[...p.codes].join(' or ')}`;
  io.out(`replayed ${count} dead letters${filter} from ${p.dir} to ${to}${unreadable === 0 ? '' : ` (${unreadable} unreadable lines skipped)`}\n`);
  return 0;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Columns padded to their widest cell; `right[i]` right-aligns column i. */
function table(rows: string[][], right: boolean[]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (right[c] ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd()).join('\n') + '\n';
}
