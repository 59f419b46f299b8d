/**
 * DDNM's hq_demo sampler (a RePaint fork, docs/ddnm.md, "hq_demo"): on an IDDPM-respaced schedule, each
 * denoising step takes the DDPM posterior with the projected x̂0 and DDNM+'s scalar λ_t, γ_t;
 * each RePaint "undo" step goes one respaced step up by the single-step forward process.
 *
 * @module
 */

import { Tensor } from "../lib/tensor.ts";
import type { Backend } from "../kernels/backend.ts";
import type { DegradationOperator, SpectralScale } from "../operators/operator.ts";
import type { RespacedSchedule } from "../schedules/respacing.ts";
import { timeTravelSchedule } from "../schedules/ddnm_schedule.ts";
import type { DdnmProblem, EpsPredictor } from "./ddnm.ts";
import { betweenSteps, type SamplerRun } from "./sampler_run.ts";

/** Settings of the hq_demo sampler. */
export interface HqDemoSettings {
  /** RePaint jump length (hq_demo: 10). */
  jumpLength: number;
  /** RePaint jump repeats (hq_demo: 3). */
  jumpRepeat: number;
  /** σ_y in model units, as hq_demo uses it (not doubled for [-1,1] models). */
  sigmaY: number;
  /** λ = σ_t/(a_t σ_y) as in the paper instead of the reference's σ_t·σ_y/a_t. */
  paperLambda: boolean;
  /** The model's value range, where x0 is clamped (hq_demo: [−1, 1]). */
  range: readonly [number, number];
}

/** The scalars of one hq_demo denoising step at respaced index k. */
export interface HqDemoCoefficients {
  /** Projection strength λ_t. */
  lambda: number;
  /** Variance γ_t of the added noise (0 at k = 0). */
  gamma: number;
}

/**
 * λ_t and γ_t of hq_demo at respaced index k: with σ_t = √(posterior variance) and a_t the
 * posterior's x0 coefficient, λ = 1 and γ = σ_t² − (a_t σ_y)² when σ_t ≥ a_t σ_y, else γ = 0
 * and λ = σ_t σ_y / a_t (the reference's operator-precedence slip) or σ_t / (a_t σ_y).
 *
 * @example
 * ```ts
 * import { hqDemoCoefficients } from "./hq_demo.ts";
 * const s = { variance: new Float64Array([0, 0.25]), coef1: new Float64Array([1, 0.5]) };
 * console.log(hqDemoCoefficients(s, 1, 0.5, false)); // { lambda: 1, gamma: 0.1875 }
 * ```
 *
 * @param s The respaced schedule.
 * @param k The respaced index.
 * @param sigmaY σ_y in model units.
 * @param paperLambda Use the paper's λ.
 * @returns λ_t and γ_t.
 */
export function hqDemoCoefficients(
  s: Pick<RespacedSchedule, "variance" | "coef1">,
  k: number,
  sigmaY: number,
  paperLambda: boolean,
): HqDemoCoefficients {
  const variance = Math.fround(s.variance[k]), a = Math.fround(s.coef1[k]);
  const sigma = Math.sqrt(variance);
  if (sigma >= a * sigmaY) {
    return { lambda: 1, gamma: k === 0 ? 0 : Math.max(0, variance - (a * sigmaY) ** 2) };
  }
  return { lambda: paperLambda ? sigma / (a * sigmaY) : (sigma * sigmaY) / a, gamma: 0 };
}

/** A scalar Λ for the backend's projection: the same λ at every singular value. */
function _scalarLambda(lambda: number): SpectralScale {
  return { lambda: () => lambda, noise: () => [0, 0] };
}

/**
 * One hq_demo denoising step at respaced index k (x is overwritten with x_{k−1}):
 * x0 = clamp(√(1/ã_k) x − √(1/ã_k − 1) ε) to the model's range, x̂0 = x0 − λ A⁺(A x0 − y),
 * x ← coef1 x̂0 + coef2 x + √γ z.
 *
 * @param backend Where the math runs.
 * @param op The degradation operator.
 * @param y The observation.
 * @param x The state.
 * @param eps The network's ε.
 * @param s The respaced schedule.
 * @param k The respaced index.
 * @param settings σ_y, the λ form and the clamp range.
 * @param buf Scratch: x0, x̂0 and this step's noise z.
 * @param afterProject Called with x̂0 right after the projection (Mask-Shift).
 */
export async function hqDemoStep(
  backend: Backend,
  op: DegradationOperator,
  y: Float32Array,
  x: Tensor,
  eps: Tensor,
  s: RespacedSchedule,
  k: number,
  settings: HqDemoSettings,
  buf: { x0: Tensor; x0hat: Tensor; z: Tensor },
  afterProject?: (x0hat: Tensor) => void,
): Promise<void> {
  const f = Math.fround, ab = s.alphaBar[k];
  backend.combine(buf.x0, [[f(Math.sqrt(1 / ab)), x], [-f(Math.sqrt(1 / ab - 1)), eps]]);
  backend.clamp(buf.x0, buf.x0, settings.range[0], settings.range[1]);
  const c = hqDemoCoefficients(s, k, settings.sigmaY, settings.paperLambda);
  await backend.project(op, buf.x0, y, _scalarLambda(c.lambda), buf.x0hat);
  afterProject?.(buf.x0hat);
  backend.combine(x, [[f(s.coef1[k]), buf.x0hat], [f(s.coef2[k]), x], [
    Math.sqrt(c.gamma),
    buf.z,
  ]]);
}

/**
 * One RePaint "undo" step from respaced index k to k + 1 (x is overwritten):
 * x ← √(1 − β̃_{k+1}) x + √β̃_{k+1} z.
 *
 * @param backend Where the math runs.
 * @param x The state.
 * @param s The respaced schedule.
 * @param k The current respaced index.
 * @param z This step's noise.
 */
export function hqDemoUndo(
  backend: Backend,
  x: Tensor,
  s: RespacedSchedule,
  k: number,
  z: Tensor,
): void {
  const beta = s.betas[k + 1];
  backend.combine(x, [[Math.fround(Math.sqrt(1 - beta)), x], [Math.fround(Math.sqrt(beta)), z]]);
}

/** Options of {@linkcode hqDemoSample}: the schedule is the respaced one. */
export interface HqDemoSampleOptions
  extends SamplerRun<EpsPredictor, RespacedSchedule, HqDemoSettings>, DdnmProblem {}

/**
 * hq_demo's loop: the respaced DDPM posterior with DDNM's projection, RePaint-style jumps
 * (`jumpLength` x `jumpRepeat`) and its λ form; x_T drawn here unless `init` is given.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hqDemoSample } from "@diffrestore/sampler/samplers";
 * import { alphaBar, betaSchedule, respacedSchedule, spaceTimesteps } from "@diffrestore/sampler/schedules";
 * import { buildOperator, CpuBackend, GaussianNoise, Tensor } from "@diffrestore/sampler";
 *
 * const ab = alphaBar(betaSchedule("linear", { trainSteps: 1000 }));
 * const x = await hqDemoSample({
 *   predict: (x) => Promise.resolve(Tensor.zeros(x.shape)),
 *   backend: new CpuBackend(),
 *   noise: new GaussianNoise(0),
 *   schedule: respacedSchedule(ab, spaceTimesteps(1000, "20")),
 *   settings: { jumpLength: 5, jumpRepeat: 2, sigmaY: 0, paperLambda: false, range: [-1, 1] },
 *   operator: buildOperator({ name: "denoise" }, 3, 4, 4, "svd"),
 *   y: new Float32Array(48).fill(0.25),
 * });
 * assert.ok(x.data.every((v) => Math.abs(v - 0.25) < 1e-5)); // A = I: the projection gives y
 * ```
 *
 * @param options The network (given the original training timestep), backend, noise, the
 * respaced schedule, jumps and λ form, hooks, and A, y (and x_T).
 * @returns The final state.
 */
export async function hqDemoSample(options: HqDemoSampleOptions): Promise<Tensor> {
  const { predict, backend, noise, schedule: s, settings, hooks, operator: op, y, init } = options;
  const ts = timeTravelSchedule(s.timesteps.length, settings.jumpLength, settings.jumpRepeat);
  const shape = op.xShape;
  const buf = { x0: Tensor.zeros(shape), x0hat: Tensor.zeros(shape), z: Tensor.zeros(shape) };
  const x = init ? init.clone() : backend.randn(Tensor.zeros(shape), noise);
  const total = ts.length - 1;
  for (let i = 0; i < total; i++) {
    await betweenSteps(hooks);
    const k = ts[i], down = ts[i + 1] < k;
    if (down) {
      const t = s.timesteps[k];
      const pending = predict(x, t, `step ${i + 1}/${total} (t=${t})`);
      backend.randn(buf.z, noise);
      await hqDemoStep(backend, op, y, x, await pending, s, k, settings, buf, hooks?.afterProject);
    } else {
      backend.randn(buf.z, noise);
      hqDemoUndo(backend, x, s, k, buf.z);
    }
    hooks?.onStep?.({ step: i + 1, total, x0: down ? buf.x0hat : undefined });
  }
  return x;
}
