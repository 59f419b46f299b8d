/**
 * The table of subcommands of the command line; each command's module loads only when it runs.
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
 * Register a subcommand whose module is imported on first use.
 *
 * @param name The subcommand's name.
 * @param summary One line for `--help`.
 * @param load Imports the module exporting `run`.
 */
export function registerCommand(
  name: string,
  summary: string,
  load: () => Promise<{ run: (args: string[]) => Promise<number> }>,
): void {
  COMMANDS[name] = { summary, run: async (args) => (await load()).run(args) };
}
