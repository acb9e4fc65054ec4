/** One `weir` CLI subcommand. */
export interface CliCommand {
  /** The word after `weir`, e.g. `checkpoints`. */
  readonly name: string;
  /** One line for `weir --help`. */
  readonly summary: string;
  /** Usage text printed for `weir <name> --help` and on bad arguments. */
  readonly usage: string;
  /** Run with the arguments after the command name; resolves to the process exit code. */
  run(args: readonly string[], io: CliIo): Promise<number>;
}

/** Where a command writes (tests capture it). */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}
