/**
 * The error type for bad input: its message is shown to the user as one `error: ...` line.
 *
 * @module
 */

/**
 * An error caused by the user's input (a file, a flag, a model) rather than by a bug.
 *
 * The command line prints its message as a single `error: <message>` line with no stack trace.
 *
 * @example
 * ```ts
 * import { UserError } from "./errors.ts";
 * throw new UserError("--steps must be between 1 and 1000, got 0");
 * ```
 */
export class UserError extends Error {
  /**
   * Create a user-facing error.
   *
   * @param message What was expected and what was found.
   */
  constructor(message: string) {
    super(message);
    this.name = "UserError";
  }
}
