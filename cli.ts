/**
 * The `diffrestore` command line: `deno run -A cli.ts <command> [options]`.
 *
 * Every failure prints one `error: ...` line on stderr (the stack only with `--debug`) and
 * exits non-zero; outputs are written atomically.
 *
 * @module
 */

import denoJson from "./deno.json" with { type: "json" };
import { UserError } from "./lib/errors.ts";
import { closest, UsageError } from "./cli/args.ts";
import { trace } from "./lib/trace.ts";
import { COMMANDS as _COMMANDS } from "./cli/registry.ts";
import "./cli/commands.ts";

function _usage(): string {
  const lines = Object.entries(_COMMANDS).map(([n, c]) => `  ${n.padEnd(9)} ${c.summary}`);
  return [
    `diffrestore ${denoJson.version}: image restoration with diffusion models`,
    "",
    "usage: deno run -A cli.ts <command> [options]",
    "",
    "commands:",
    ...lines,
    "",
    "Run 'deno run -A cli.ts <command> --help' for a command's options; --debug shows the",
    "stack of an internal error. Exit status: 0 done, 2 usage error, 1 any other failure,",
    "130 interrupted.",
  ].join("\n");
}

/**
 * Run the command line and return the exit status (0 on success).
 *
 * @param args The arguments (without the program name).
 * @returns The exit status.
 */
export async function main(args: string[]): Promise<number> {
  trace("cli started");
  const debug = args.includes("--debug");
  const rest = args.filter((a) => a !== "--debug");
  try {
    const [name, ...tail] = rest;
    if (name === undefined || name === "--help" || name === "-h" || name === "help") {
      console.log(_usage());
      return name === undefined ? 2 : 0;
    }
    if (name === "--version" || name === "-V") {
      console.log(`diffrestore ${denoJson.version}`);
      return 0;
    }
    const cmd = _COMMANDS[name];
    if (!cmd) {
      const hint = closest(name, Object.keys(_COMMANDS));
      throw new UsageError(
        `unknown command '${name}'` + (hint ? ` (did you mean '${hint}'?)` : "") +
          "; see 'cli.ts --help'",
      );
    }
    return await cmd.run(tail);
  } catch (e) {
    if (debug) console.error(e);
    if (e instanceof UserError) {
      console.error(`error: ${e.message}`);
      return e instanceof UsageError ? 2 : 1;
    }
    const err = e as Error;
    if (err?.name === "AbortError") {
      console.error("error: interrupted; no output was written");
      return 130;
    }
    console.error(
      `error: internal error: ${err?.message ?? String(e)} (run with --debug for details)`,
    );
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
