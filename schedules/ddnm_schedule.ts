/**
 * DDNM's timestep list: a uniform stride and the RePaint-style time-travel schedule.
 *
 * @module
 */

import { UserError } from "../lib/errors.ts";

/**
 * DDNM's stride between model timesteps: `trainSteps // steps` (integer division).
 *
 * @param steps T_sampling.
 * @param trainSteps Training steps (1000).
 * @returns The stride.
 */
export function ddnmStride(steps: number, trainSteps = 1000): number {
  return Math.floor(trainSteps / steps);
}

/**
 * DDNM's `get_schedule_jump`: the list of schedule indices visited, with time travel.
 *
 * Every `travelLength` indices from 0 (below `steps − travelLength`) the walk goes back up
 * `travelLength` indices, `travelRepeat − 1` times. The list starts at `steps − 1`, moves by
 * exactly 1 at each entry, and ends with −1. (100, 1, 1) gives [99, 98, ..., 0, −1].
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { timeTravelSchedule } from "@diffrestore/sampler";
 *
 * assert.deepEqual(timeTravelSchedule(4, 1, 1), [3, 2, 1, 0, -1]);
 * // every 2 steps, travel back 2 and repeat them (2 passes in all)
 * assert.deepEqual(timeTravelSchedule(4, 2, 2), [3, 2, 1, 0, 1, 2, 1, 0, -1]);
 * ```
 *
 * @param steps T_sampling.
 * @param travelLength L.
 * @param travelRepeat r.
 * @returns Schedule indices (multiply by the stride for model timesteps).
 */
export function timeTravelSchedule(
  steps: number,
  travelLength: number,
  travelRepeat: number,
): number[] {
  if (!Number.isInteger(travelLength) || travelLength < 1) {
    throw new UserError(`travelLength must be an integer >= 1, got ${travelLength}`);
  }
  if (!Number.isInteger(travelRepeat) || travelRepeat < 1) {
    throw new UserError(`travelRepeat must be an integer >= 1, got ${travelRepeat}`);
  }
  const jumps = new Map<number, number>();
  for (let j = 0; j < steps - travelLength; j += travelLength) jumps.set(j, travelRepeat - 1);
  const ts: number[] = [];
  let t = steps;
  while (t >= 1) {
    t -= 1;
    ts.push(t);
    const left = jumps.get(t) ?? 0;
    if (left > 0) {
      jumps.set(t, left - 1);
      for (let k = 0; k < travelLength; k++) {
        t += 1;
        ts.push(t);
      }
    }
  }
  ts.push(-1);
  return ts;
}

/** One transition of the DDNM loop: from model timestep `from` to `to` (−1 = the end). */
export interface DdnmTransition {
  /** Current model timestep. */
  from: number;
  /** Target model timestep (−1 for the final step). */
  to: number;
  /** True for a denoising step (a network call); false for a time-travel re-noising. */
  denoise: boolean;
}

/**
 * The transitions of a DDNM run: consecutive schedule pairs scaled by the stride.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ddnmTransitions } from "@diffrestore/sampler/schedules";
 *
 * const steps = ddnmTransitions(4); // T_sampling 4 of 1000: stride 250
 * assert.deepEqual(steps.map((s) => [s.from, s.to]), [[750, 500], [500, 250], [250, 0], [0, -1]]);
 * ```
 *
 * @param steps T_sampling.
 * @param travelLength L.
 * @param travelRepeat r.
 * @param trainSteps Training steps.
 * @returns One entry per transition (each draws one noise tensor).
 */
export function ddnmTransitions(
  steps: number,
  travelLength = 1,
  travelRepeat = 1,
  trainSteps = 1000,
): DdnmTransition[] {
  const skip = ddnmStride(steps, trainSteps);
  const ts = timeTravelSchedule(steps, travelLength, travelRepeat);
  const out: DdnmTransition[] = [];
  for (let k = 0; k + 1 < ts.length; k++) {
    const from = ts[k] * skip;
    const to = ts[k + 1] < 0 ? -1 : ts[k + 1] * skip;
    out.push({ from, to, denoise: to < from });
  }
  return out;
}

/**
 * The transitions a warm-started run keeps (docs/ddnm.md, "Warm start"): the share `warmStart` of
 * the `steps` schedule indices, as diffusers' img2img `strength` counts them, so the run starts at
 * index ⌊steps · warmStart⌋ − 1 (at least 0) and goes on as the whole list does from its first
 * visit there. A share of 1 keeps every transition (the reference run from pure noise).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ddnmTransitions, warmStartTransitions } from "@diffrestore/sampler/schedules";
 *
 * const all = ddnmTransitions(10); // stride 100: 900 -> 800 -> ... -> 0 -> end
 * const kept = warmStartTransitions(all, 10, 0.3); // the last 3 network calls
 * assert.deepEqual(kept.map((s) => s.from), [200, 100, 0]);
 * ```
 *
 * @param transitions The whole run's transitions ({@linkcode ddnmTransitions}).
 * @param steps T_sampling.
 * @param warmStart The share of the schedule to run, in (0, 1].
 * @param trainSteps Training steps.
 * @returns The transitions from the warm start on.
 */
export function warmStartTransitions(
  transitions: DdnmTransition[],
  steps: number,
  warmStart: number,
  trainSteps = 1000,
): DdnmTransition[] {
  if (!(warmStart > 0 && warmStart <= 1)) {
    throw UserError.option("warmStart", "in (0, 1]", warmStart);
  }
  if (warmStart === 1) return transitions;
  // rounded first: 0.29 * 100 is 28.999999999999996 in floating point
  const kept = Math.max(1, Math.floor(Math.round(steps * warmStart * 1e6) / 1e6));
  const from = (kept - 1) * ddnmStride(steps, trainSteps);
  return transitions.slice(transitions.findIndex((t) => t.denoise && t.from === from));
}
