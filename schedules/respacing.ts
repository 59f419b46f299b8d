/**
 * IDDPM timestep respacing (`space_timesteps`) and the respaced DDPM posterior.
 *
 * @module
 */

import { UserError } from "../lib/errors.ts";
import { type ScheduleSpec, trainingAlphaBar } from "./training_schedule.ts";

/**
 * Python 3's `round()` of a float: to nearest, ties to even.
 *
 * @example
 * ```ts
 * import { pythonRound } from "./respacing.ts";
 * console.log(pythonRound(166.5), pythonRound(2.5), pythonRound(3.5)); // 166 2 4
 * ```
 *
 * @param x The value.
 * @returns The rounded integer.
 */
export function pythonRound(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * IDDPM's `space_timesteps`: which of `numTimesteps` training steps a sampler uses.
 *
 * `sections` is a list of counts per equal section ("50" or "10,15,20"), or `ddimN` for a
 * uniform integer stride giving exactly N steps. Indices are `start + round(k · frac)` with
 * Python's round-half-to-even over a running float sum.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { spaceTimesteps } from "@diffrestore/sampler/schedules";
 *
 * assert.deepEqual(spaceTimesteps(1000, "7"), [0, 166, 333, 500, 666, 832, 999]);
 * ```
 *
 * @param numTimesteps Training steps.
 * @param sections The section string.
 * @returns The used timesteps, ascending.
 */
export function spaceTimesteps(numTimesteps: number, sections: string): number[] {
  if (sections.startsWith("ddim")) {
    const want = Number(sections.slice(4));
    for (let stride = 1; stride < numTimesteps; stride++) {
      if (Math.ceil(numTimesteps / stride) === want) {
        const out: number[] = [];
        for (let i = 0; i < numTimesteps; i += stride) out.push(i);
        return out;
      }
    }
    throw new UserError(`cannot create exactly ${want} steps with an integer stride`);
  }
  const counts = sections.split(",").map((s) => Number(s));
  const sizePer = Math.floor(numTimesteps / counts.length);
  const extra = numTimesteps % counts.length;
  let start = 0;
  const all = new Set<number>();
  counts.forEach((count, i) => {
    const size = sizePer + (i < extra ? 1 : 0);
    if (!Number.isInteger(count) || count < 1 || size < count) {
      throw new UserError(`cannot divide a section of ${size} steps into ${count}`);
    }
    const frac = count <= 1 ? 1 : (size - 1) / (count - 1);
    let cur = 0;
    for (let k = 0; k < count; k++) {
      all.add(start + pythonRound(cur));
      cur += frac;
    }
    start += size;
  });
  return [...all].sort((a, b) => a - b);
}

/** The respaced DDPM posterior q(x_{k−1} | x_k, x0) as data (float64). */
export interface RespacedSchedule {
  /** Original training timestep of each respaced index k (what the model is given). */
  timesteps: number[];
  /** Respaced betas β̃_k = 1 − ā(τ_k)/ā(τ_{k−1}). */
  betas: Float64Array;
  /** ã_k, cumulative product of (1 − β̃). */
  alphaBar: Float64Array;
  /** ã_{k−1} (1 at k = 0). */
  alphaBarPrev: Float64Array;
  /** Coefficient of x0 in the posterior mean. */
  coef1: Float64Array;
  /** Coefficient of x_k in the posterior mean. */
  coef2: Float64Array;
  /** Posterior variance ("fixed_small"). */
  variance: Float64Array;
}

/**
 * The respaced schedule for a set of used timesteps (IDDPM's `SpacedDiffusion`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { alphaBar, betaSchedule, respacedSchedule, spaceTimesteps } from "@diffrestore/sampler/schedules";
 *
 * const ab = alphaBar(betaSchedule("linear", { trainSteps: 1000 }));
 * const s = respacedSchedule(ab, spaceTimesteps(1000, "10"));
 * assert.equal(s.timesteps.length, 10);
 * assert.ok(Math.abs(s.alphaBar[9] - ab[999]) < 1e-12); // ã keeps ā at the used steps
 * ```
 *
 * @param alphaBars ā over all training steps (float64).
 * @param used The used timesteps, ascending.
 * @returns The respaced posterior coefficients.
 */
export function respacedSchedule(alphaBars: ArrayLike<number>, used: number[]): RespacedSchedule {
  const n = used.length;
  const betas = new Float64Array(n);
  let last = 1;
  used.forEach((t, k) => {
    betas[k] = 1 - alphaBars[t] / last;
    last = alphaBars[t];
  });
  const ab = new Float64Array(n);
  const abPrev = new Float64Array(n);
  const coef1 = new Float64Array(n);
  const coef2 = new Float64Array(n);
  const variance = new Float64Array(n);
  let p = 1;
  for (let k = 0; k < n; k++) {
    abPrev[k] = p;
    p *= 1 - betas[k];
    ab[k] = p;
    // IDDPM posterior (Ho et al. 2020, Eq. 7)
    coef1[k] = (betas[k] * Math.sqrt(abPrev[k])) / (1 - ab[k]);
    coef2[k] = ((1 - abPrev[k]) * Math.sqrt(1 - betas[k])) / (1 - ab[k]);
    variance[k] = (betas[k] * (1 - abPrev[k])) / (1 - ab[k]);
  }
  return {
    timesteps: used.slice(),
    betas,
    alphaBar: ab,
    alphaBarPrev: abPrev,
    coef1,
    coef2,
    variance,
  };
}

/**
 * The spaced sampler's schedule for N steps.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { spacedSchedule } from "@diffrestore/sampler/schedules";
 *
 * const s = spacedSchedule({ beta: "scaled_linear", betaStart: 0.00085, betaEnd: 0.012, trainSteps: 1000 }, 50);
 * assert.equal(s.timesteps.length, 50);
 * assert.equal(s.variance[0], 0); // the last step draws no noise
 * ```
 *
 * @param s The training schedule.
 * @param steps N (at least 2: IDDPM respacing of one step is undefined, as DiffBIR #172).
 * @returns The respaced posterior.
 */
export function spacedSchedule(s: ScheduleSpec, steps: number): RespacedSchedule {
  return respacedSchedule(trainingAlphaBar(s), spaceTimesteps(s.trainSteps, String(steps)));
}
