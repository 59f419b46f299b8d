/**
 * IR-SDE (Luo et al., ICML 2023): the mean-reverting SDE dx = θ_t(μ − x)dt + σ_t dW toward
 * the LQ image μ, and its reverse samplers exactly as `codes/utils/sde_utils.py` runs them
 * (Euler-Maruyama reverse SDE, probability-flow ODE, optimal posterior), plus the
 * DenoisingSDE variant (μ = x0, unconditional network).
 *
 * @module
 */

import type { Backend } from "../kernels/backend.ts";
import { Tensor } from "../lib/tensor.ts";
import type { IrsdeSchedule } from "../schedules/irsde_schedule.ts";
import { betweenSteps, type SamplerRun } from "./sampler_run.ts";

/** The reverse solvers. */
export type IrsdeSolver = "sde" | "ode" | "posterior";

const _f = Math.fround;

/**
 * exp(−θ̄_t dt): the weight of x0 − μ in the forward marginal's mean.
 *
 * @param s The schedule.
 * @param t Step 0..T.
 * @returns B_t.
 */
export function meanDecay(s: IrsdeSchedule, t: number): number {
  return _f(Math.exp(_f(-s.thetaBar[t] * s.dt)));
}

/**
 * Forward marginal mean: μ̄_t(x0) = μ + (x0 − μ) e^{−θ̄_t dt} (Eq. 7).
 *
 * @param backend Where the math runs.
 * @param out Receives μ̄.
 * @param x0 Clean image.
 * @param mu LQ image μ.
 * @param s The schedule.
 * @param t Step.
 * @returns out.
 */
export function marginalMean(
  backend: Backend,
  out: Tensor,
  x0: Tensor,
  mu: Tensor,
  s: IrsdeSchedule,
  t: number,
): Tensor {
  const b = meanDecay(s, t);
  return backend.combine(out, [[b, x0], [1 - b, mu]]);
}

/**
 * x0 from a state and its noise: x0 = (x_t − μ − σ̄_t ε) e^{θ̄_t dt} + μ, the exact inverse of
 * the forward marginal (`get_init_state_from_noise`).
 *
 * @param backend Where the math runs.
 * @param out Receives x0.
 * @param xt The state.
 * @param noise ε.
 * @param mu μ.
 * @param s The schedule.
 * @param t Step.
 * @returns out.
 */
export function x0FromNoise(
  backend: Backend,
  out: Tensor,
  xt: Tensor,
  noise: Tensor,
  mu: Tensor,
  s: IrsdeSchedule,
  t: number,
): Tensor {
  const a = _f(Math.exp(_f(s.thetaBar[t] * s.dt)));
  return backend.combine(out, [[a, xt], [-a * s.sigmaBar[t], noise], [1 - a, mu]]);
}

/**
 * The coefficients of the optimal reverse (posterior) step at t, in float32 as the reference
 * computes them: with A = e^{−θ_t dt}, B = e^{−θ̄_t dt}, C = e^{−θ̄_{t−1} dt} (B = A·C),
 * mean = μ + A(1−C²)/(1−B²)(x − μ) + C(1−A²)/(1−B²)(x0 − μ), and
 * std = λ √max((1−A²)(1−C²)/(1−B²), 1e−20·dt) (from the squared exponentials).
 *
 * @param s The schedule.
 * @param t Step 1..T.
 * @returns The coefficients of x − μ and x0 − μ, and the standard deviation.
 */
export function posteriorCoefficients(
  s: IrsdeSchedule,
  t: number,
): { xt: number; x0: number; std: number } {
  const dt = s.dt;
  const a = _f(Math.exp(_f(-s.theta[t] * dt)));
  const b = _f(Math.exp(_f(-s.thetaBar[t] * dt)));
  const c = _f(Math.exp(_f(-s.thetaBar[t - 1] * dt)));
  const denom = _f(1 - _f(b * b));
  const term1 = _f(_f(a * _f(1 - _f(c * c))) / denom);
  const term2 = _f(_f(c * _f(1 - _f(a * a))) / denom);
  const a2 = _f(Math.exp(_f(_f(-2 * s.theta[t]) * dt)));
  const b2 = _f(Math.exp(_f(_f(-2 * s.thetaBar[t]) * dt)));
  const c2 = _f(Math.exp(_f(_f(-2 * s.thetaBar[t - 1]) * dt)));
  const variance = _f(_f(_f(1 - a2) * _f(1 - c2)) / _f(1 - b2));
  const clamped = Math.max(variance, _f(1e-20 * dt));
  const std = _f(_f(Math.exp(_f(0.5 * _f(Math.log(clamped))))) * s.lambda);
  return { xt: term1, x0: term2, std };
}

/** Buffers of the IR-SDE loop. */
export interface IrsdeBuffers {
  /** Fresh noise. */
  z: Tensor;
  /** Scratch for x0 (posterior). */
  x0: Tensor;
}

/**
 * One reverse step t → t−1 of IR-SDE (a pure function of state, network noise, schedule and
 * noise). Score s = −ε̂/σ̄_t.
 *
 * - sde: x ← x − [θ_t(μ − x) − σ_t² s] dt − σ_t √dt z
 * - ode: x ← x − [θ_t(μ − x) − ½ σ_t² s] dt
 * - posterior: x ← mean(x, x0(ε̂)) + std · z
 *
 * @param backend Where the math runs.
 * @param solver Which solver.
 * @param x The state (overwritten).
 * @param noisePred ε̂ from the network.
 * @param mu μ.
 * @param s The schedule.
 * @param t Step 1..T.
 * @param buf Buffers; `buf.z` holds this step's noise (sde, posterior).
 */
export function irsdeStep(
  backend: Backend,
  solver: IrsdeSolver,
  x: Tensor,
  noisePred: Tensor,
  mu: Tensor,
  s: IrsdeSchedule,
  t: number,
  buf: IrsdeBuffers,
): void {
  const dt = s.dt, theta = s.theta[t], sigma2 = s.sigma[t] * s.sigma[t], sbar = s.sigmaBar[t];
  if (solver === "posterior") {
    x0FromNoise(backend, buf.x0, x, noisePred, mu, s, t);
    const c = posteriorCoefficients(s, t);
    backend.combine(x, [[c.xt, x], [c.x0, buf.x0], [1 - c.xt - c.x0, mu]]);
    backend.combine(x, [[1, x], [c.std, buf.z]]);
    return;
  }
  // drift = [θ(μ − x) − k σ² (−ε̂/σ̄)] dt with k = 1 (sde) or ½ (ode); x ← x − drift
  const k = solver === "sde" ? 1 : 0.5;
  const terms: [number, Tensor][] = [[1 + theta * dt, x], [-theta * dt, mu], [
    -(k * sigma2 / sbar) * dt,
    noisePred,
  ]];
  if (solver === "sde") terms.push([-s.sigma[t] * Math.sqrt(dt), buf.z]);
  backend.combine(x, terms);
}

/**
 * The DenoisingSDE variant's reverse step (μ = x0, so the drift has no θ term):
 * sde: x ← x + ½σ_t²(1 + e^{−2θ̄_t dt}) s dt − σ_t √dt z; ode: x ← x + ½σ_t² e^{−2θ̄_t dt} s dt.
 *
 * @param backend Where the math runs.
 * @param solver `sde` or `ode`.
 * @param x The state (overwritten).
 * @param noisePred ε̂.
 * @param s The schedule.
 * @param t Step.
 * @param z This step's noise (sde).
 */
export function denoisingSdeStep(
  backend: Backend,
  solver: "sde" | "ode",
  x: Tensor,
  noisePred: Tensor,
  s: IrsdeSchedule,
  t: number,
  z: Tensor,
): void {
  const e = _f(Math.exp(_f(_f(-2 * s.thetaBar[t]) * s.dt)));
  const sigma2 = s.sigma[t] * s.sigma[t];
  const weight = 0.5 * sigma2 * (solver === "sde" ? 1 + e : e) * s.dt;
  // x − drift, drift = −weight · score = weight · ε̂/σ̄
  const terms: [number, Tensor][] = [[1, x], [-weight / s.sigmaBar[t], noisePred]];
  if (solver === "sde") terms.push([-s.sigma[t] * Math.sqrt(s.dt), z]);
  backend.combine(x, terms);
}

/**
 * DenoisingSDE's start step for a known noise level σ: θ̄* = −ln(1 − σ²/λ² + 1e−6)/(2 dt),
 * T* = argmin_t |θ̄_t − θ̄*|.
 *
 * @param s The schedule.
 * @param sigma Noise level (0..255 units when > 1).
 * @returns T*.
 */
export function denoisingStartStep(s: IrsdeSchedule, sigma: number): number {
  const sg = sigma > 1 ? sigma / 255 : sigma;
  const target = (-1 / (2 * s.dt)) * Math.log(1 - (sg * sg) / (s.lambda * s.lambda) + 1e-6);
  let best = 0;
  for (let t = 0; t < s.thetaBar.length; t++) {
    if (Math.abs(s.thetaBar[t] - target) < Math.abs(s.thetaBar[best] - target)) best = t;
  }
  return best;
}

/**
 * One forward simulation step t−1 → t: x ← x + θ_t(μ − x)dt + σ_t √dt z.
 *
 * @param backend Where the math runs.
 * @param x The state (overwritten).
 * @param mu μ.
 * @param s The schedule.
 * @param t Step 1..T.
 * @param z Noise.
 */
export function forwardStep(
  backend: Backend,
  x: Tensor,
  mu: Tensor,
  s: IrsdeSchedule,
  t: number,
  z: Tensor,
): void {
  const k = s.theta[t] * s.dt;
  backend.combine(x, [[1 - k, x], [k, mu], [s.sigma[t] * Math.sqrt(s.dt), z]]);
}

/** A network predicting IR-SDE's noise for (x, μ, t); μ is ignored by the denoising variant. */
export type NoisePredictor = (x: Tensor, mu: Tensor, t: number, label: string) => Promise<Tensor>;

/**
 * How many standard-normal values an IR-SDE run draws (docs/noise.md).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { irsdeNoiseCount } from "@diffrestore/sampler/samplers";
 *
 * assert.equal(irsdeNoiseCount("ode", 10, 48), 48); // x_T only
 * assert.equal(irsdeNoiseCount("posterior", 10, 48), 48 * 11); // and one per step
 * ```
 *
 * @param solver The solver.
 * @param steps Steps run (T, or T* for the denoising variant).
 * @param size Values per tensor.
 * @param initial Whether the initial noise is drawn.
 * @returns The count.
 */
export function irsdeNoiseCount(
  solver: IrsdeSolver,
  steps: number,
  size: number,
  initial = true,
): number {
  return ((initial ? 1 : 0) + (solver === "ode" ? 0 : steps)) * size;
}

/** Options of {@linkcode irsdeSample}: μ and the solver besides the common ones. */
export interface IrsdeSampleOptions
  extends SamplerRun<NoisePredictor, IrsdeSchedule, { solver: IrsdeSolver }> {
  /** μ (the LQ image, preprocessed). */
  mu: Tensor;
}

/**
 * Run the reverse loop t = T..1 from x_T = μ + λ z (the reference's `noise_state`, with λ, not
 * σ̄_T) and return the final state (unclipped).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { irsdeSample } from "@diffrestore/sampler/samplers";
 * import { irsdeSchedule } from "@diffrestore/sampler/schedules";
 * import { CpuBackend, GaussianNoise, Tensor } from "@diffrestore/sampler";
 *
 * const s = irsdeSchedule({ maxSigma: 10, T: 10, schedule: "cosine", eps: 0.005 });
 * const clean = new Tensor([1, 3, 4, 4], new Float32Array(48).fill(0.6));
 * const mu = new Tensor([1, 3, 4, 4], new Float32Array(48).fill(0.4));
 * // the noise a network that knew the clean image would predict
 * const predict = (x: Tensor, m: Tensor, t: number) => {
 *   const decay = Math.exp(-s.thetaBar[t] * s.dt);
 *   return Promise.resolve(x.map((v, i) => (v - m.data[i] - (clean.data[i] - m.data[i]) * decay) / s.sigmaBar[t]));
 * };
 * const x = await irsdeSample({
 *   predict,
 *   backend: new CpuBackend(),
 *   noise: new GaussianNoise(0),
 *   schedule: s,
 *   settings: { solver: "posterior" },
 *   mu,
 * });
 * assert.ok(x.data.every((v) => Math.abs(v - 0.6) < 1e-4)); // the optimal posterior lands on it
 * ```
 *
 * @param options The noise network, backend, noise, schedule, solver, hooks and μ.
 * @returns The final state.
 */
export async function irsdeSample(options: IrsdeSampleOptions): Promise<Tensor> {
  const { predict, backend, noise, schedule: s, hooks, mu } = options;
  const solver = options.settings.solver;
  const T = s.settings.T;
  const buf: IrsdeBuffers = { z: Tensor.zeros(mu.shape), x0: Tensor.zeros(mu.shape) };
  backend.randn(buf.z, noise);
  const x = backend.combine(Tensor.zeros(mu.shape), [[1, mu], [s.lambda, buf.z]]);
  for (let t = T; t >= 1; t--) {
    await betweenSteps(hooks);
    const pending = predict(x, mu, t, `step ${T - t + 1}/${T} (t=${t})`);
    if (solver !== "ode") backend.randn(buf.z, noise);
    const eps = await pending;
    // the x0 estimate for progress previews (the posterior step forms it anyway)
    const estimate = hooks?.estimates || solver === "posterior";
    if (hooks?.estimates && solver !== "posterior") {
      x0FromNoise(backend, buf.x0, x, eps, mu, s, t);
    }
    irsdeStep(backend, solver, x, eps, mu, s, t, buf);
    hooks?.onStep?.({ step: T - t + 1, total: T, x0: estimate ? buf.x0 : undefined });
  }
  return x;
}

/** Options of {@linkcode denoisingSdeSample}: the LQ image, solver and first step. */
export interface DenoisingSdeSampleOptions
  extends SamplerRun<NoisePredictor, IrsdeSchedule, { solver: "sde" | "ode"; start: number }> {
  /** The noisy image (also μ). */
  lq: Tensor;
}

/**
 * The DenoisingSDE variant's loop: from x = LQ (no extra noise), t = start..1 (see
 * {@linkcode denoisingStartStep}); the reference denoises with the ODE.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { denoisingSdeSample } from "@diffrestore/sampler/samplers";
 * import { irsdeSchedule } from "@diffrestore/sampler/schedules";
 * import { CpuBackend, GaussianNoise, Tensor } from "@diffrestore/sampler";
 *
 * const s = irsdeSchedule({ maxSigma: 50, T: 20, schedule: "cosine", eps: 0.005 });
 * const lq = new Tensor([1, 3, 4, 4], new Float32Array(48).fill(0.5));
 * const run = () =>
 *   denoisingSdeSample({
 *     predict: (x) => Promise.resolve(Tensor.zeros(x.shape)),
 *     backend: new CpuBackend(),
 *     noise: new GaussianNoise(0),
 *     schedule: s,
 *     settings: { solver: "ode", start: 5 },
 *     lq: lq.clone(),
 *   });
 * const [a, b] = [await run(), await run()];
 * assert.deepEqual(a.data, b.data); // the ODE draws nothing: the same input, the same result
 * assert.ok(a.data.every(Number.isFinite));
 * ```
 *
 * @param options The noise network (μ unused), backend, noise (sde only), schedule, solver and
 * first step, hooks, and the LQ image.
 * @returns The final state.
 */
export async function denoisingSdeSample(options: DenoisingSdeSampleOptions): Promise<Tensor> {
  const { predict, backend, noise, schedule: s, hooks, lq } = options;
  const { solver, start } = options.settings;
  const x = lq.clone();
  const z = Tensor.zeros(lq.shape), x0 = Tensor.zeros(lq.shape);
  for (let t = start; t >= 1; t--) {
    await betweenSteps(hooks);
    const pending = predict(x, lq, t, `step ${start - t + 1}/${start} (t=${t})`);
    if (solver === "sde") backend.randn(z, noise);
    const eps = await pending;
    // μ = x0 here, so the marginal is N(x0, σ̄_t²) and x̂0 = x − σ̄_t ε̂ (for previews)
    if (hooks?.estimates) backend.combine(x0, [[1, x], [-s.sigmaBar[t], eps]]);
    denoisingSdeStep(backend, solver, x, eps, s, t, z);
    hooks?.onStep?.({ step: start - t + 1, total: start, x0: hooks.estimates ? x0 : undefined });
  }
  return x;
}
