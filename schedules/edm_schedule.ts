/**
 * The EDM σ grid of DiffBIR HEAD's k-diffusion samplers, from a DDPM training schedule, and the
 * model timestep of a σ (docs/diffbir.md).
 *
 * @module
 */

import { type ScheduleSpec, trainingAlphaBar } from "./training_schedule.ts";

const _f = Math.fround;

/** The EDM σ grid: N values then 0, with their model timesteps. */
export interface EdmSchedule {
  /** σ_0 > … > σ_{N−1}, then 0 (float32). */
  sigmas: Float32Array;
  /** τ of each σ (0 for the appended σ = 0). */
  timesteps: Int32Array;
}

/**
 * The EDM grid for N steps: τ = int(linspace(T−1, 0, N, endpoint=False)), ā(τ) with ā at the
 * first entry forced to 1e−8 (even for ε models), σ = √((1 − ā)/ā) in float64 then float32,
 * and σ = 0, τ = 0 appended.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { edmSchedule } from "@diffrestore/sampler/schedules";
 *
 * const s = edmSchedule({ beta: "scaled_linear", betaStart: 0.00085, betaEnd: 0.012, trainSteps: 1000 }, 10);
 * assert.equal(s.timesteps[1], 899);
 * assert.equal(s.sigmas[1].toFixed(4), "8.3028");
 * assert.equal(s.sigmas[10], 0);
 * ```
 *
 * @param s The training schedule.
 * @param steps N.
 * @returns The grid.
 */
export function edmSchedule(s: ScheduleSpec, steps: number): EdmSchedule {
  const ab = trainingAlphaBar(s);
  const step = -(s.trainSteps - 1) / steps;
  const sigmas = new Float32Array(steps + 1), timesteps = new Int32Array(steps + 1);
  for (let k = 0; k < steps; k++) {
    timesteps[k] = Math.trunc(k * step + (s.trainSteps - 1));
    const a = k === 0 ? 1e-8 : ab[timesteps[k]];
    sigmas[k] = Math.sqrt((1 - a) / a);
  }
  return { sigmas, timesteps };
}

/**
 * The model timestep of a σ: τ of the nearest grid σ (first on ties), as the reference's
 * argmin over |σ − σ_k| in float32.
 *
 * @param s The grid.
 * @param sigma σ.
 * @returns τ.
 */
export function edmTimestep(s: EdmSchedule, sigma: number): number {
  let best = 0, bestDistance = Infinity;
  for (let k = 0; k < s.sigmas.length; k++) {
    const d = Math.abs(_f(sigma - s.sigmas[k]));
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return s.timesteps[best];
}
