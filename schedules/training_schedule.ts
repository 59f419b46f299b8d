/**
 * The training schedule of a DDPM network as data ({@linkcode ScheduleSpec}, what a manifest
 * states) and its ā table: every sampler's own grid (DDNM's, respaced, DDIM, EDM, VP) is built from
 * it.
 *
 * @module
 */

import {
  alphaBar,
  betaSchedule,
  type BetaScheduleName,
  rescaleZeroTerminalSnr,
} from "./beta_schedule.ts";

/** A DDPM training schedule, as a manifest states it: the one schedule type every sampler builds
 * its own grid from. */
export interface ScheduleSpec {
  /** Beta schedule name. */
  beta: BetaScheduleName;
  /** First beta. */
  betaStart: number;
  /** Last beta. */
  betaEnd: number;
  /** Training steps. */
  trainSteps: number;
  /** Apply the zero-terminal-SNR rescale (DiffBIR v2.1). */
  zeroTerminalSnr?: boolean;
}

/**
 * ā over all training steps (float64), with the zero-terminal-SNR rescale when asked.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { trainingAlphaBar } from "@diffrestore/sampler/schedules";
 *
 * const spec = { beta: "scaled_linear" as const, betaStart: 0.00085, betaEnd: 0.012, trainSteps: 1000 };
 * assert.ok(trainingAlphaBar(spec)[999] > 0);
 * assert.equal(trainingAlphaBar({ ...spec, zeroTerminalSnr: true })[999], 0);
 * ```
 *
 * @param s The training schedule.
 * @returns ā_t.
 */
export function trainingAlphaBar(s: ScheduleSpec): Float64Array {
  const ab = alphaBar(betaSchedule(s.beta, s));
  return s.zeroTerminalSnr ? rescaleZeroTerminalSnr(ab) : ab;
}
