/**
 * IR-SDE's mean-reverting SDE schedule as data (Luo et al., ICML 2023, Sec. 3).
 *
 * Vectors have length T+1 (index 0 is the zero-time anchor) and hold the float32 values the
 * reference's torch code produces.
 *
 * @module
 */

import { UserError } from "../lib/errors.ts";

/** Names of the theta schedules. */
export type ThetaScheduleName = "cosine" | "linear" | "constant";

/** Settings of an IR-SDE (the manifest's `sde` block). */
export interface SdeSettings {
  /** max_sigma: in 0..255 units when ≥ 1 (then λ = max_sigma/255), else λ itself. */
  maxSigma: number;
  /** Number of steps T. */
  T: number;
  /** Theta schedule. */
  schedule: ThetaScheduleName;
  /** exp(−θ̄_T dt); the reference's default 0.01, its configs 0.005. */
  eps: number;
}

/** The derived schedule of an IR-SDE. */
export interface IrsdeSchedule {
  /** The settings it came from. */
  settings: SdeSettings;
  /** λ, the stationary standard deviation. */
  lambda: number;
  /** θ_i, i = 0..T. */
  theta: Float32Array;
  /** θ̄_i = Σ_{1..i} θ (θ̄_0 = 0). */
  thetaBar: Float32Array;
  /** dt = −ln(eps)/θ̄_T. */
  dt: number;
  /** σ_i = √(2 λ² θ_i). */
  sigma: Float32Array;
  /** σ̄_i = λ √(1 − exp(−2 θ̄_i dt)). */
  sigmaBar: Float32Array;
}

/**
 * θ_i for i = 0..T.
 *
 * cosine (s = 0.008): with M = T+2, g_k = cos²(((k/M)+s)/(1+s)·π/2)/g_0, θ_i = 1 − g_{i+1};
 * linear: linspace(c·1e−4, c·0.02, T+1), c = 1000/(T+1); constant: 1.
 *
 * @param name The schedule.
 * @param T Steps.
 * @returns T+1 float32 values.
 */
export function thetaSchedule(name: ThetaScheduleName, T: number): Float32Array {
  const out = new Float32Array(T + 1);
  const f = Math.fround;
  if (name === "cosine") {
    const s = 0.008;
    const M = T + 2;
    // every operation rounds to float32, as the reference's torch code does
    const g = (k: number) =>
      f(f(Math.cos(f(f(f(f(k / M) + s) / f(1 + s)) * f(Math.PI * 0.5)))) ** 2);
    const g0 = g(0);
    for (let i = 0; i <= T; i++) out[i] = f(1 - f(g(i + 1) / g0));
  } else if (name === "linear") {
    const c = 1000 / (T + 1);
    const lo = c * 1e-4;
    const hi = c * 0.02;
    for (let i = 0; i <= T; i++) out[i] = T === 0 ? lo : lo + ((hi - lo) * i) / T;
  } else if (name === "constant") {
    out.fill(1);
  } else {
    throw new UserError(`unknown IR-SDE schedule '${name}' (cosine, linear or constant)`);
  }
  return out;
}

/**
 * Build the whole IR-SDE schedule from its settings.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { irsdeSchedule } from "@diffrestore/sampler/schedules";
 *
 * const s = irsdeSchedule({ maxSigma: 10, T: 100, schedule: "cosine", eps: 0.005 });
 * assert.equal(s.dt.toFixed(6), "0.104094");
 * assert.equal(s.lambda, 10 / 255); // max_sigma above 1 is in /255
 * ```
 *
 * @param settings max_sigma, T, schedule, eps.
 * @returns The schedule.
 */
export function irsdeSchedule(settings: SdeSettings): IrsdeSchedule {
  const { maxSigma, T, eps } = settings;
  if (!Number.isInteger(T) || T < 1) {
    throw new UserError(`IR-SDE T must be an integer >= 1, got ${T}`);
  }
  if (!(maxSigma > 0)) throw new UserError(`IR-SDE max_sigma must be > 0, got ${maxSigma}`);
  if (!(eps > 0 && eps < 1)) throw new UserError(`IR-SDE eps must be in (0, 1), got ${eps}`);
  const f = Math.fround;
  const lambda = maxSigma >= 1 ? maxSigma / 255 : maxSigma;
  const theta = thetaSchedule(settings.schedule, T);
  const thetaBar = new Float32Array(T + 1);
  let acc = 0;
  for (let i = 0; i <= T; i++) {
    acc += theta[i];
    thetaBar[i] = f(f(acc) - theta[0]);
  }
  const dt = f(f(-1 / thetaBar[T]) * f(Math.log(eps)));
  const sigma = new Float32Array(T + 1);
  const sigmaBar = new Float32Array(T + 1);
  const lambda2 = f(lambda * lambda);
  for (let i = 0; i <= T; i++) {
    sigma[i] = f(Math.sqrt(f(f(lambda2 * 2) * theta[i])));
    sigmaBar[i] = f(Math.sqrt(f(lambda2 * f(1 - f(Math.exp(f(f(-2 * thetaBar[i]) * dt)))))));
  }
  return { settings, lambda, theta, thetaBar, dt, sigma, sigmaBar };
}
