/**
 * The table of subcommands of the command line; each command's module loads only when it runs.
 *
 * @module
 */

import { inFlagWords } from "./args.ts";
import { UserError } from "../lib/errors.ts";

/** What a command's module exports: its entry point and the flags that set library options. */
export interface CommandModule {
  /** Entry point; returns the exit status. */
  run: (args: string[]) => Promise<number>;
  /** The command's flags by library option path, to say library errors in its words. */
  OPTION_FLAGS?: Readonly<Record<string, string>>;
}

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
 * Register a subcommand whose module is imported on first use; a library error about an option it
 * has a flag for comes out naming the flag.
 *
 * @param name The subcommand's name.
 * @param summary One line for `--help`.
 * @param load Imports the module exporting `run`.
 */
export function registerCommand(
  name: string,
  summary: string,
  load: () => Promise<CommandModule>,
): void {
  COMMANDS[name] = {
    summary,
    run: async (args) => {
      const m = await load();
      try {
        return await m.run(args);
      } catch (e) {
        throw e instanceof UserError ? inFlagWords(e, m.OPTION_FLAGS ?? {}) : e;
      }
    },
  };
}
