/**
 * DiffBIR's samplers as data plus pure steps: the spaced DDPM sampler (IDDPM respacing),
 * DDIM, classifier-free guidance and v2's restoration guidance (docs/diffbir.md).
 *
 * @module
 */

import type { Backend } from "../kernels/backend.ts";
import { betweenSteps, type SamplerRun } from "./sampler_run.ts";
import { Tensor } from "../lib/tensor.ts";
import type { Prediction } from "../model/manifest.ts";
import type { RespacedSchedule } from "../schedules/respacing.ts";
import type { DdimSchedule } from "../schedules/ddim_schedule.ts";

/**
 * x0 from the model output at respaced index k: ε (x0 = √(1/ã) x − √(1/ã − 1) ε) or
 * v (x0 = √ã x − √(1−ã) v); no clamp, as the reference.
 *
 * @param backend Where the math runs.
 * @param out Receives x0.
 * @param x The state.
 * @param output The (guided) model output.
 * @param alphaBarK ã_k.
 * @param prediction `eps` or `v`.
 * @returns out.
 */
export function predictX0(
  backend: Backend,
  out: Tensor,
  x: Tensor,
  output: Tensor,
  alphaBarK: number,
  prediction: Prediction,
): Tensor {
  const f = Math.fround;
  if (prediction === "v") {
    return backend.combine(out, [[f(Math.sqrt(alphaBarK)), x], [
      -f(Math.sqrt(1 - alphaBarK)),
      output,
    ]]);
  }
  if (prediction === "x0") return backend.combine(out, [[1, output]]);
  return backend.combine(out, [[f(Math.sqrt(1 / alphaBarK)), x], [
    -f(Math.sqrt(1 / alphaBarK - 1)),
    output,
  ]]);
}

/**
 * Classifier-free guidance: out = u + s (c − u) (in place on `cond`); s = 1 keeps c.
 *
 * @param backend Where the math runs.
 * @param cond The conditional output (overwritten).
 * @param uncond The unconditional output.
 * @param scale s.
 * @returns The guided output.
 */
export function cfgCombine(backend: Backend, cond: Tensor, uncond: Tensor, scale: number): Tensor {
  if (scale === 1) return cond;
  return backend.combine(cond, [[scale, cond], [1 - scale, uncond]]);
}

/**
 * DiffBIR's rescaled CFG scale at model timestep τ: 1 + s (1 − cos(π ((1000 − τ)/1000)^5))/2.
 *
 * @param scale s.
 * @param timestep τ.
 * @returns The effective scale.
 */
export function rescaledCfgScale(scale: number, timestep: number): number {
  return 1 + (scale * (1 - Math.cos(Math.PI * ((1000 - timestep) / 1000) ** 5))) / 2;
}

/** Settings of v2's restoration guidance. */
export interface GuidanceSettings {
  /** G (the gradient is scaled by G·3000). */
  scale: number;
  /** Active when stop < τ + 1 < start. */
  start: number;
  /** See `start`. */
  stop: number;
  /** Repeats per step. */
  repeat: number;
  /** The loss' per-element weights (w-MSE), or null for MSE. */
  weights: Float32Array | null;
}

/**
 * v2's latent restoration guidance at respaced index k: `repeat` times,
 * g = −∂/∂x0 [mean_CHW w (x0 − target)²] · G · 3000 and x0 ← x0 + g / coef1_k, so the posterior
 * mean moves by exactly g. The MSE gradient is analytic: 2 w (x0 − target) / (C·H·W).
 *
 * @param backend Where the math runs.
 * @param x0 The predicted x0 (updated in place).
 * @param target The target latent.
 * @param coef1 coef1_k of the posterior.
 * @param timestep τ_k.
 * @param g The guidance settings.
 * @returns Whether guidance was applied at this step.
 */
export function applyLatentGuidance(
  backend: Backend,
  x0: Tensor,
  target: Tensor,
  coef1: number,
  timestep: number,
  g: GuidanceSettings,
): boolean {
  if (!(g.stop < timestep + 1 && timestep + 1 < g.start) || g.scale === 0) return false;
  const per = x0.size / x0.n;
  const k = (2 * g.scale * 3000) / per / Math.fround(coef1);
  const diff = g.weights ? Tensor.zeros(x0.shape) : null;
  for (let r = 0; r < g.repeat; r++) {
    if (diff) {
      // w-MSE: x0 ← x0 − k w ⊙ (x0 − target)
      backend.combine(diff, [[1, x0], [-1, target]]);
      backend.mulMap(diff, diff, g.weights!);
      backend.combine(x0, [[1, x0], [-k, diff]]);
    } else {
      backend.combine(x0, [[1 - k, x0], [k, target]]);
    }
  }
  return true;
}

/**
 * One spaced DDPM step k: mean = coef1 x0 + coef2 x; x ← mean + [k ≠ 0] √var z.
 *
 * @param backend Where the math runs.
 * @param x The state (overwritten).
 * @param x0 The (guided) x0.
 * @param s The respaced schedule.
 * @param k Respaced index.
 * @param z This step's noise.
 */
export function spacedStep(
  backend: Backend,
  x: Tensor,
  x0: Tensor,
  s: RespacedSchedule,
  k: number,
  z: Tensor,
): void {
  const f = Math.fround;
  const sd = k === 0 ? 0 : Math.sqrt(f(s.variance[k]));
  backend.combine(x, [[f(s.coef1[k]), x0], [f(s.coef2[k]), x], [sd, z]]);
}

/**
 * One DDIM step (Song et al. 2021, Eq. 12): σ = η√((1−a_prev)/(1−a)(1 − a/a_prev)),
 * x_prev = √a_prev x0 + √(1 − a_prev − σ²) ε + σ z (v outputs converted: ε = √a v + √(1−a) x).
 *
 * @param backend Where the math runs.
 * @param x The state (overwritten).
 * @param output The (guided) model output.
 * @param s The DDIM schedule.
 * @param k Index.
 * @param eta η.
 * @param prediction `eps` or `v`.
 * @param z This step's noise.
 * @param scratch A buffer for ε and x0.
 */
export function ddimStep(
  backend: Backend,
  x: Tensor,
  output: Tensor,
  s: DdimSchedule,
  k: number,
  eta: number,
  prediction: Prediction,
  z: Tensor,
  scratch: { eps: Tensor; x0: Tensor },
): void {
  const a = s.alphaBar[k], ap = s.alphaBarPrev[k];
  const eps = prediction === "v"
    ? backend.combine(scratch.eps, [[Math.sqrt(a), output], [Math.sqrt(1 - a), x]])
    : backend.combine(scratch.eps, [[1, output]]);
  backend.combine(scratch.x0, [[1 / Math.sqrt(a), x], [-Math.sqrt(1 - a) / Math.sqrt(a), eps]]);
  const sigma = eta * Math.sqrt(((1 - ap) / (1 - a)) * (1 - a / ap));
  backend.combine(x, [[Math.sqrt(ap), scratch.x0], [
    Math.sqrt(Math.max(0, 1 - ap - sigma * sigma)),
    eps,
  ], [sigma, z]]);
}

/**
 * Allocate a tensor like `t`.
 *
 * @param t The template.
 * @returns A zero tensor of the same shape.
 */
export function like(t: Tensor): Tensor {
  return Tensor.zeros(t.shape);
}

/** A latent denoiser's raw output (ε, v or x0 by its manifest) for a state and a timestep. */
export type OutputPredictor = (x: Tensor, t: number, label: string) => Promise<Tensor>;

/** Settings of the spaced and DDIM loops. */
export interface LatentSamplerSettings {
  /** What the denoiser predicts. */
  prediction: Prediction;
  /** DDIM's η (DiffBIR's pipeline: 0). */
  eta?: number;
  /** Restoration guidance toward `target` (spaced sampler only), or null. */
  guidance?: { settings: GuidanceSettings; target: Tensor } | null;
}

/** Options of {@linkcode spacedSample} and {@linkcode ddimSample}: the state besides. */
export interface LatentSampleOptions<Schedule>
  extends SamplerRun<OutputPredictor, Schedule, LatentSamplerSettings> {
  /** x_T (updated in place). */
  x: Tensor;
}

/**
 * DiffBIR's spaced DDPM loop: per step the x0 prediction, v2's latent guidance when asked,
 * one draw, the posterior step (the last step draws too); x is updated in place.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { spacedSample } from "@diffrestore/sampler/samplers";
 * import { spacedSchedule, trainingAlphaBar } from "@diffrestore/sampler/schedules";
 * import { CpuBackend, GaussianNoise, Tensor } from "@diffrestore/sampler";
 *
 * const spec = { beta: "scaled_linear" as const, betaStart: 0.00085, betaEnd: 0.012, trainSteps: 1000 };
 * const ab = trainingAlphaBar(spec), target = 0.3;
 * // the ε a denoiser that knew the latent would predict
 * const predict = (x: Tensor, t: number) =>
 *   Promise.resolve(x.map((v) => (v - Math.sqrt(ab[t]) * target) / Math.sqrt(1 - ab[t])));
 * const noise = new GaussianNoise(0);
 * const x = new CpuBackend().randn(Tensor.zeros([1, 4, 2, 2]), noise);
 * await spacedSample({
 *   predict,
 *   backend: new CpuBackend(),
 *   noise,
 *   schedule: spacedSchedule(spec, 20),
 *   settings: { prediction: "eps" },
 *   x,
 * });
 * assert.ok(x.data.every((v) => Math.abs(v - target) < 1e-3)); // the last step returns x0
 * ```
 *
 * @param options The denoiser, backend, noise, respaced schedule, prediction and guidance,
 * hooks (progress with x0), and x_T.
 * @returns x.
 */
export async function spacedSample(
  options: LatentSampleOptions<RespacedSchedule>,
): Promise<Tensor> {
  const { predict, backend, noise, schedule: s, settings, hooks, x } = options;
  const steps = s.timesteps.length;
  const x0 = like(x), z = like(x);
  for (let k = steps - 1; k >= 0; k--) {
    await betweenSteps(hooks);
    const t = s.timesteps[k];
    const out = await predict(x, t, `step ${steps - k}/${steps} (t=${t})`);
    predictX0(backend, x0, x, out, s.alphaBar[k], settings.prediction);
    const g = settings.guidance;
    if (g) applyLatentGuidance(backend, x0, g.target, s.coef1[k], t, g.settings);
    backend.randn(z, noise);
    spacedStep(backend, x, x0, s, k, z);
    hooks?.onStep?.({ step: steps - k, total: steps, x0 });
  }
  return x;
}

/**
 * DiffBIR's DDIM loop (η from the settings, 0 by default); one draw per step; x is updated in
 * place.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ddimSample } from "@diffrestore/sampler/samplers";
 * import { ddimSchedule, trainingAlphaBar } from "@diffrestore/sampler/schedules";
 * import { CpuBackend, GaussianNoise, Tensor } from "@diffrestore/sampler";
 *
 * const spec = { beta: "scaled_linear" as const, betaStart: 0.00085, betaEnd: 0.012, trainSteps: 1000 };
 * const ab = trainingAlphaBar(spec), target = 0.3;
 * const predict = (x: Tensor, t: number) =>
 *   Promise.resolve(x.map((v) => (v - Math.sqrt(ab[t]) * target) / Math.sqrt(1 - ab[t])));
 * const noise = new GaussianNoise(0);
 * const x = new CpuBackend().randn(Tensor.zeros([1, 4, 2, 2]), noise);
 * await ddimSample({
 *   predict,
 *   backend: new CpuBackend(),
 *   noise,
 *   schedule: ddimSchedule(spec, 20),
 *   settings: { prediction: "eps", eta: 0 },
 *   x,
 * });
 * // DDIM's last step lands on ā_0 (DiffBIR HEAD), a hair from x0
 * assert.ok(x.data.every((v) => Math.abs(v - target) < 0.1));
 * ```
 *
 * @param options The denoiser, backend, noise, DDIM schedule, prediction and η, hooks
 * (progress with x0), and x_T.
 * @returns x.
 */
export async function ddimSample(options: LatentSampleOptions<DdimSchedule>): Promise<Tensor> {
  const { predict, backend, noise, schedule: s, settings, hooks, x } = options;
  const total = s.timesteps.length;
  const z = like(x), scratch = { eps: like(x), x0: like(x) };
  for (let k = total - 1; k >= 0; k--) {
    await betweenSteps(hooks);
    const t = s.timesteps[k];
    const out = await predict(x, t, `step ${total - k}/${total} (t=${t})`);
    backend.randn(z, noise);
    ddimStep(backend, x, out, s, k, settings.eta ?? 0, settings.prediction, z, scratch);
    hooks?.onStep?.({ step: total - k, total, x0: scratch.x0 });
  }
  return x;
}
