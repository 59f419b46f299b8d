/**
 * Command-line parsing helpers: strict flags with "did you mean" suggestions.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { UserError } from "../lib/errors.ts";

/**
 * A usage error: an unknown flag, a bad or missing value. The command line exits with 2 for
 * it (1 for every other failure).
 *
 * @example
 * ```ts
 * import { UsageError } from "./args.ts";
 * const e = new UsageError("restore needs --method ddnm, irsde or diffbir");
 * console.log(e instanceof Error); // true
 * ```
 */
export class UsageError extends UserError {
  /**
   * Create a usage error.
   *
   * @param message What was expected and what was found.
   */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Declared flags of a subcommand, in `node:util` `parseArgs` form. */
export type FlagSpec = Record<
  string,
  { type: "string" | "boolean"; short?: string; multiple?: boolean; default?: string | boolean }
>;

/** Parsed flags and positional arguments. */
export interface ParsedArgs {
  /** Flag values by long name. */
  values: Record<string, string | boolean | string[] | undefined>;
  /** Positional arguments. */
  positionals: string[];
}

/**
 * Levenshtein edit distance between two strings.
 *
 * @param a First string.
 * @param b Second string.
 * @returns The number of single-character edits.
 */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length];
}

/**
 * The candidate closest to `word`, if it is close enough to be a likely typo.
 *
 * @param word What the user typed.
 * @param candidates Valid words.
 * @returns The suggestion, or undefined.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const dist = editDistance(word, c);
    if (dist < bestD) {
      bestD = dist;
      best = c;
    }
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/**
 * Parse `args` strictly against `spec`; unknown flags are a {@linkcode UserError} that
 * suggests the closest valid flag.
 *
 * @example
 * ```ts
 * import { parseFlags } from "./args.ts";
 * const p = parseFlags(["in.png", "--steps", "20"], { steps: { type: "string" } }, "restore");
 * console.log(p.values.steps, p.positionals); // "20" ["in.png"]
 * ```
 *
 * @param args The arguments after the subcommand.
 * @param spec Declared flags.
 * @param command The subcommand's name for messages.
 * @returns Flag values and positionals.
 */
export function parseFlags(args: string[], spec: FlagSpec, command: string): ParsedArgs {
  // a negative number after a string flag is its value, not a flag (`--guidance-stop -1`)
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = /^--([^=]+)$/.exec(args[i])?.[1];
    if (
      name && spec[name]?.type === "string" && i + 1 < args.length &&
      /^-(\d|\.\d)/.test(args[i + 1])
    ) {
      joined.push(`${args[i]}=${args[i + 1]}`);
      i++;
    } else joined.push(args[i]);
  }
  try {
    const { values, positionals } = parseArgs({
      args: joined,
      options: spec,
      allowPositionals: true,
      strict: true,
    });
    return { values: values as ParsedArgs["values"], positionals };
  } catch (e) {
    const msg = (e as Error).message;
    const unknown = /Unknown option '(-{1,2}[^']+)'/.exec(msg)?.[1];
    if (unknown) {
      const name = unknown.replace(/^-+/, "").split("=")[0];
      const hint = closest(name, Object.keys(spec));
      throw new UsageError(
        `${command}: unknown flag ${unknown}` + (hint ? ` (did you mean --${hint}?)` : "") +
          `; see '${command} --help'`,
      );
    }
    throw new UsageError(`${command}: ${msg.split("\n")[0]}`);
  }
}

/**
 * A numeric flag: parses, checks bounds and integrality, or throws a {@linkcode UserError}.
 *
 * @param values Parsed flag values.
 * @param name The flag's long name.
 * @param fallback The value when the flag is absent.
 * @param check Bounds: `min`, `max` (inclusive) and `integer`.
 * @returns The number.
 */
export function numberFlag(
  values: ParsedArgs["values"],
  name: string,
  fallback: number,
  check: { min?: number; max?: number; integer?: boolean } = {},
): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const v = Number(raw);
  const where = `--${name} ${raw}`;
  if (typeof raw !== "string" || raw.trim() === "" || !Number.isFinite(v)) {
    throw new UsageError(`${where}: not a number`);
  }
  if (check.integer && !Number.isInteger(v)) throw new UsageError(`${where}: must be an integer`);
  if (check.min !== undefined && v < check.min) {
    throw new UsageError(`${where}: must be at least ${check.min}`);
  }
  if (check.max !== undefined && v > check.max) {
    throw new UsageError(`${where}: must be at most ${check.max}`);
  }
  return v;
}

/**
 * A library error said in the command line's words: option names at the start of the message
 * (`steps`, `sigmaY`, `sTmin/sTmax`) become the flags that set them (`--steps`, `--sigma-y`,
 * `--s-tmin/--s-tmax`), where `flags` has them; the library names its options, not flags.
 *
 * @example
 * ```ts
 * import { asFlags } from "./args.ts";
 * console.log(asFlags("sigmaY must be >= 0, got -1", new Set(["sigma-y"]))); // --sigma-y must be >= 0, got -1
 * ```
 *
 * @param message The library's message.
 * @param flags The command's flag names.
 * @returns The message with its leading option names as flags.
 */
export function asFlags(message: string, flags: ReadonlySet<string>): string {
  const m = /^[a-z][A-Za-z0-9]*(\/[a-z][A-Za-z0-9]*)*(?=[ :])/.exec(message);
  if (!m) return message;
  const kebab = (w: string) => w.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  const names = m[0].split("/").map((w) => (w === "classLabel" ? "class" : kebab(w)));
  if (!names.every((n) => flags.has(n))) return message;
  return names.map((n) => `--${n}`).join("/") + message.slice(m[0].length);
}
