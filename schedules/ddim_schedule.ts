/**
 * DDIM's schedule as DiffBIR HEAD builds it (docs/diffbir.md).
 *
 * @module
 */

import { type ScheduleSpec, trainingAlphaBar } from "./training_schedule.ts";

/** The DDIM sampler's schedule (DiffBIR HEAD): timesteps range(0, 1000, 1000//N) + 1. */
export interface DdimSchedule {
  /** Model timesteps, ascending. */
  timesteps: number[];
  /** ā at each timestep. */
  alphaBar: Float64Array;
  /** ā at the previous timestep (ā_0 for the first: the last step lands on ā_0, not 1). */
  alphaBarPrev: Float64Array;
}

/**
 * DDIM's schedule for N steps.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ddimSchedule, trainingAlphaBar } from "@diffrestore/sampler/schedules";
 *
 * const spec = { beta: "linear" as const, betaStart: 1e-4, betaEnd: 0.02, trainSteps: 1000 };
 * const s = ddimSchedule(spec, 10);
 * assert.deepEqual(s.timesteps.slice(0, 3), [1, 101, 201]);
 * assert.equal(s.alphaBarPrev[0], trainingAlphaBar(spec)[0]); // the last step lands on ā_0, not 1
 * ```
 *
 * @param s The training schedule.
 * @param steps N.
 * @returns The schedule.
 */
export function ddimSchedule(s: ScheduleSpec, steps: number): DdimSchedule {
  const ab = trainingAlphaBar(s);
  const stride = Math.floor(s.trainSteps / steps);
  const timesteps: number[] = [];
  for (let t = 0; t < s.trainSteps; t += stride) timesteps.push(t + 1);
  const a = Float64Array.from(timesteps, (t) => ab[Math.min(t, ab.length - 1)]);
  const prev = Float64Array.from(timesteps, (_, k) => (k === 0 ? ab[0] : a[k - 1]));
  return { timesteps, alphaBar: a, alphaBarPrev: prev };
}
