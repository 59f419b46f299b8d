/**
 * Command-line parsing helpers: strict flags with "did you mean" suggestions.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { showValue, UserError } from "../lib/errors.ts";

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
 * Words joined as a list ends: "a, b or c".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { orList } from "./args.ts";
 *
 * assert.equal(orList(["sde", "ode", "posterior"]), "sde, ode or posterior");
 * ```
 *
 * @param words The words.
 * @returns The list.
 */
export function orList(words: readonly string[]): string {
  return words.length < 2 ? words.join("") : `${words.slice(0, -1).join(", ")} or ${words.at(-1)}`;
}

/**
 * A flag that takes one of a few words: its value, `fallback` when absent, or a usage error that
 * lists the words and suggests the closest.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { choiceFlag } from "./args.ts";
 *
 * assert.equal(choiceFlag({ solver: "ode" }, "solver", ["sde", "ode"]), "ode");
 * assert.throws(() => choiceFlag({ solver: "odd" }, "solver", ["sde", "ode"]), /did you mean 'ode'/);
 * ```
 *
 * @param values Parsed flag values.
 * @param name The flag's long name.
 * @param choices The words it takes.
 * @param fallback The value when the flag is absent.
 * @returns The word.
 */
export function choiceFlag<T extends string, F extends T | undefined = undefined>(
  values: ParsedArgs["values"],
  name: string,
  choices: readonly T[],
  fallback?: F,
): T | F {
  const got = values[name];
  if (got === undefined) return fallback as F;
  if (typeof got !== "string" || !(choices as readonly string[]).includes(got)) {
    const hint = typeof got === "string" ? closest(got, choices) : undefined;
    throw new UsageError(
      `--${name} must be ${orList(choices)}, got '${got}'` +
        (hint ? `; did you mean '${hint}'?` : ""),
    );
  }
  return got as T;
}

/** A numeric flag's rule: inclusive bounds, integrality, and the unit its value is in. */
export interface NumberRule {
  /** The smallest value allowed. */
  min?: number;
  /** A bound the value must exceed (an open lower end, in place of `min`). */
  above?: number;
  /** The largest value allowed. */
  max?: number;
  /** Whole numbers only. */
  integer?: boolean;
  /** What the number counts, said after the rule: `"(sigma in [0,1] image units)"`. */
  unit?: string;
}

/**
 * The words of a numeric rule that follow "must be": `"an integer in [1, 1000]"`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ruleWords } from "./args.ts";
 *
 * assert.equal(ruleWords({ min: 0, max: 1, unit: "(of full scale)" }), "in [0, 1] (of full scale)");
 * assert.equal(ruleWords({ integer: true, min: 1 }), "an integer >= 1");
 * assert.equal(ruleWords({ above: 0, max: 1 }), "in (0, 1]");
 * ```
 *
 * @param rule The rule.
 * @returns Its words.
 */
export function ruleWords(rule: NumberRule): string {
  const { min, above, max, integer, unit } = rule;
  const low = min !== undefined ? `[${min}` : above !== undefined ? `(${above}` : undefined;
  const range = low !== undefined && max !== undefined
    ? `in ${low}, ${max}]`
    : min !== undefined
    ? `>= ${min}`
    : above !== undefined
    ? `> ${above}`
    : max !== undefined
    ? `<= ${max}`
    : "";
  const words = integer ? `an integer${range ? ` ${range}` : ""}` : range || "a number";
  return unit ? `${words} ${unit}` : words;
}

/**
 * A numeric flag: parses, checks its rule, or throws a {@linkcode UsageError} that names the flag,
 * the rule and the unit ("--steps must be an integer in [1, 1000], got 0").
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { numberFlag } from "./args.ts";
 *
 * assert.equal(numberFlag({ steps: "20" }, "steps", 50, { integer: true, min: 1 }), 20);
 * assert.equal(numberFlag({}, "steps", 50), 50);
 * assert.equal(numberFlag({}, "steps", undefined), undefined); // absent, left to the library
 * assert.throws(() => numberFlag({ steps: "0" }, "steps", 50, { min: 1 }), /--steps must be >= 1, got 0/);
 * ```
 *
 * @param values Parsed flag values.
 * @param name The flag's long name.
 * @param fallback The value when the flag is absent (`undefined`: leave the default to the library).
 * @param rule Bounds (inclusive, or an open lower one), integrality, unit.
 * @returns The number, or `fallback`.
 */
export function numberFlag<F extends number | undefined>(
  values: ParsedArgs["values"],
  name: string,
  fallback: F,
  rule: NumberRule = {},
): number | F {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const v = Number(raw);
  const bad = () => new UsageError(`--${name} must be ${ruleWords(rule)}, got ${raw}`);
  if (typeof raw !== "string" || raw.trim() === "" || !Number.isFinite(v)) throw bad();
  if (rule.integer && !Number.isInteger(v)) throw bad();
  if (rule.min !== undefined && v < rule.min) throw bad();
  if (rule.above !== undefined && !(v > rule.above)) throw bad();
  if (rule.max !== undefined && v > rule.max) throw bad();
  return v;
}

/**
 * A library error said in a command's words: an error about one option (its `option` path) names
 * the flag that sets it, from the command's own table. A value the flag's rule refuses is a usage
 * error (exit 2); any other error about an option keeps its message, after the flag.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { showValue, UserError } from "../lib/errors.ts";
 * import { inFlagWords, UsageError } from "./args.ts";
 *
 * const flags = { sigmaY: "--sigma-y" };
 * const e = inFlagWords(UserError.option("sigmaY", ">= 0", -1), flags);
 * assert.ok(e instanceof UsageError);
 * assert.equal(e.message, "--sigma-y must be >= 0, got -1");
 * ```
 *
 * @param e The library's error.
 * @param flags The command's flags by option path (`"task.scale"` -> `"--scale"`).
 * @returns The error to print: `e` itself when no flag sets its option.
 */
export function inFlagWords(e: UserError, flags: Readonly<Record<string, string>>): UserError {
  const flag = e.option === undefined || e instanceof UsageError ? undefined : flags[e.option];
  if (flag === undefined) return e;
  if (e.expected !== undefined) {
    return new UsageError(`${flag} must be ${e.expected}, got ${showValue(e.received)}`);
  }
  return UserError.about(e.option!, `${flag}: ${e.message}`);
}
