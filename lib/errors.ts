/**
 * The error type for bad input: its message is shown to the user as one `error: ...` line, and an
 * error about one option says which (`option`, a path in the options object), what it accepts and
 * what it got, so a caller can say it in its own words (the CLI names its flag).
 *
 * @module
 */

/** What a {@linkcode UserError} about one option carries besides its message. */
export interface OptionFault {
  /** The option, as a path in the options object: `"steps"`, `"task.scale"`, `"tile.size"`. */
  option: string;
  /** What the option accepts, in words that follow "must be": `"an integer in [1, 1000]"`. */
  expected?: string;
  /** The value it got. */
  received?: unknown;
}

/**
 * An error caused by the user's input (a file, an option, a model) rather than by a bug.
 *
 * The command line prints its message as a single `error: <message>` line with no stack trace; when
 * the error is about one option, the command line names its own flag for it instead.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UserError } from "@diffrestore/sampler";
 *
 * const e = UserError.option("steps", "an integer in [1, 1000]", 0);
 * assert.equal(e.message, "steps must be an integer in [1, 1000], got 0");
 * assert.equal(e.option, "steps");
 * assert.equal(e.received, 0);
 * ```
 */
export class UserError extends Error {
  /** The option at fault (a path such as `"task.scale"`), when the error is about one. */
  readonly option?: string;
  /** What the option accepts, in words that follow "must be". */
  readonly expected?: string;
  /** The value the option got. */
  readonly received?: unknown;

  /**
   * Create a user-facing error.
   *
   * @param message What was expected and what was found, in the options' words.
   * @param fault The option at fault, when there is one.
   */
  constructor(message: string, fault?: OptionFault) {
    super(message);
    this.name = "UserError";
    this.option = fault?.option;
    this.expected = fault?.expected;
    this.received = fault?.received;
  }

  /**
   * An error about one option's value: "`option` must be `expected`, got `received`".
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { UserError } from "@diffrestore/sampler";
   *
   * const e = UserError.option("task.scale", "an integer >= 1", undefined);
   * assert.equal(e.message, "task.scale must be an integer >= 1, got nothing");
   * ```
   *
   * @param option The option's path.
   * @param expected What it accepts, in words that follow "must be".
   * @param received The value it got.
   * @returns The error.
   */
  static option(option: string, expected: string, received: unknown): UserError {
    return new UserError(`${option} must be ${expected}, got ${showValue(received)}`, {
      option,
      expected,
      received,
    });
  }

  /**
   * An error about an option that is missing or does not fit the rest: the message says why, in
   * the options' words.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { UserError } from "@diffrestore/sampler";
   *
   * const e = UserError.about("mask", "task inpaint needs a mask");
   * assert.equal(e.option, "mask");
   * assert.equal(e.expected, undefined);
   * ```
   *
   * @param option The option's path.
   * @param message What is wrong.
   * @returns The error.
   */
  static about(option: string, message: string): UserError {
    return new UserError(message, { option });
  }
}

/**
 * A received value as an error message shows it: strings quoted, `undefined` as "nothing".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { showValue } from "@diffrestore/sampler";
 *
 * assert.equal(showValue("fast"), "'fast'");
 * assert.equal(showValue(undefined), "nothing");
 * assert.equal(showValue(0.5), "0.5");
 * ```
 *
 * @param value The value.
 * @returns Its text.
 */
export function showValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "string") return `'${value}'`;
  if (Array.isArray(value)) return `[${value.map(showValue).join(", ")}]`;
  return String(value);
}
