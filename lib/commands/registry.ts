/**
 * The table of subcommands of the command line.
 *
 * @module
 */

/** A subcommand: its one-line summary and its entry point. */
export interface Command {
  /** One line for `--help`. */
  summary: string;
  /** Entry point; returns the exit status. */
  run: (args: string[]) => Promise<number>;
}

/** Registered subcommands by name, in registration order. */
export const COMMANDS: Record<string, Command> = {};

/**
 * Register a subcommand.
 *
 * @param name The subcommand's name.
 * @param summary One line for `--help`.
 * @param run Its entry point; returns the exit status.
 */
export function registerCommand(
  name: string,
  summary: string,
  run: (args: string[]) => Promise<number>,
): void {
  COMMANDS[name] = { summary, run };
}
