#!/usr/bin/env node
/**
 * The `weir` command line: inspect a job's checkpoints and dead letters.
 *   weir --help            list the commands
 *   weir <command> --help  one command's usage
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CliCommand, CliIo } from './cli/command.js';
import { WeirError } from './runtime/errors.js';

/** Every command, loaded lazily so `weir --help` stays fast and a command's heavy imports stay its own. */
const COMMANDS: Record<string, () => Promise<CliCommand>> = {
  checkpoints: () => import('./cli/checkpoints-command.js').then((m) => m.command),
  'dead-letters': () => import('./cli/dead-letters-command.js').then((m) => m.command),
};

/** Run the CLI with `args`; resolves to the exit code. */
export async function main(args: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const lines = await Promise.all(Object.values(COMMANDS).map(async (load) => load()));
    io.out(`usage: weir <command> [options]\n\ncommands:\n${lines.map((c) => `  ${c.name.padEnd(14)}${c.summary}`).join('\n')}\n`);
    return name === undefined ? 1 : 0;
  }
  const load = COMMANDS[name];
  if (load === undefined) {
    io.err(`weir: unknown command "${name}"; run weir --help\n`);
    return 2;
  }
  const command = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(command.usage);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    io.err(`weir ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    return err instanceof WeirError && err.domain === 'user' ? 2 : 1;
  }
}

/** True when this file is the process's entry (`weir …` through the bin link, or `node dist/cli.js`). */
function invokedAsMain(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (invokedAsMain()) {
  const io: CliIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };
  main(process.argv.slice(2), io).then((code) => {
    process.exitCode = code;
  });
}
