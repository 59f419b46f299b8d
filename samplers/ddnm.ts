/**
 * DDNM and DDNM+ (Wang, Yu, Zhang, ICLR 2023) exactly as the reference code runs them:
 * the SVD-based loops (`ddnm_diffusion`, `ddnm_plus_diffusion`) and the `simplified` variant,
 * with DDNM's float32 alpha-bar, stride `1000 // T` and time-travel schedule.
 *
 * @module
 */

import type { Backend } from "../kernels/backend.ts";
import { Tensor } from "../lib/tensor.ts";
import { alphaBarAt } from "../schedules/beta_schedule.ts";
import {
  type DdnmTransition,
  ddnmTransitions,
  warmStartTransitions,
} from "../schedules/ddnm_schedule.ts";
import {
  ddnmPlusScale,
  type DegradationOperator,
  type SpectralScale,
} from "../operators/operator.ts";

import type { DdnmVariant } from "../operators/operator.ts";
import { betweenSteps, type SamplerRun } from "./sampler_run.ts";

/** Settings of a DDNM run. */
export interface DdnmSettings {
  /** T_sampling: model timesteps are multiples of `trainSteps // steps`. */
  steps: number;
  /** η of the update (reference default 0.85). */
  eta: number;
  /** σ_y in model units (already doubled for [-1,1] models); > 0 selects DDNM+. */
  sigmaY: number;
  /** Time-travel length L (1 = none). */
  travelLength: number;
  /** Time-travel repeats r (1 = none). */
  travelRepeat: number;
  /** `svd` (default path of the reference) or `simplified`. */
  variant: DdnmVariant;
  /** The share of the schedule to run from a noised warm start (1 = the reference: every step
   * from pure noise; docs/ddnm.md, "Warm start"). */
  warmStart: number;
  /** Rotate z and ε by Vᵀ in DDNM+'s Λ-noise (correct form) instead of the reference's quirk. */
  fixedLambdaNoise: boolean;
}

/** The reference's defaults: η 0.85, no noise, no time travel, SVD path, 100 steps from pure
 * noise. */
export const DDNM_DEFAULTS: DdnmSettings = {
  steps: 100,
  eta: 0.85,
  sigmaY: 0,
  travelLength: 1,
  travelRepeat: 1,
  variant: "svd",
  fixedLambdaNoise: false,
  warmStart: 1,
};

/** Reusable buffers of the DDNM step (so a run allocates once). */
export interface DdnmBuffers {
  /** x0|t, the un-projected clean estimate (time travel re-noises from it). */
  x0: Tensor;
  /** x̂0, the projected estimate. */
  x0hat: Tensor;
  /** Fresh noise z (DDNM+ overwrites it with its noise term). */
  z: Tensor;
}

/**
 * Allocate the buffers of a DDNM run.
 *
 * @param shape The state's shape.
 * @returns The buffers.
 */
export function ddnmBuffers(shape: readonly [number, number, number, number]): DdnmBuffers {
  return {
    x0: Tensor.zeros(shape),
    x0hat: Tensor.zeros(shape),
    z: Tensor.zeros(shape),
  };
}

/** The scalars of one denoising transition t → s. */
export interface DdnmCoefficients {
  /** ā_t. */
  abT: number;
  /** ā_s (1 for the final step). */
  abS: number;
}

/**
 * The simplified variant's λ and γ (docs/ddnm.md, "The simplified variant"), reference quirk included: σ_t = √(1 − ā_s²).
 *
 * @param abS ā at the next step.
 * @param sigmaY σ_y in model units.
 * @returns λ and γ.
 */
export function simplifiedLambdaGamma(
  abS: number,
  sigmaY: number,
): { lambda: number; gamma: number } {
  const sigmaT = Math.sqrt(1 - abS * abS); // quirk: the square of ā, not 1 − ā
  if (sigmaT >= abS * sigmaY) {
    return { lambda: 1, gamma: Math.sqrt(sigmaT * sigmaT - (abS * sigmaY) ** 2) };
  }
  return { lambda: sigmaT / (abS * sigmaY), gamma: 0 };
}

/**
 * One DDNM denoising transition, a function of state, model output, schedule and noise alone (no
 * hidden state); it works in place: `xt` is overwritten with x_s and `buf` with its scratch values.
 *
 * x0 = (x_t − √(1−ā_t) ε)/√ā_t (Eq. 12); x̂0 = x0 − Λ A⁺(A x0 − y) (Eq. 13/17); then
 * - svd, σ_y = 0: x_s = √ā_s x̂0 + √(1−ā_s)(η z + √(1−η²) ε) (the DDRM-style η-mix);
 * - svd, σ_y > 0 (DDNM+): x_s = √ā_s x̂0 + V(d1 ⊙ P z + d2 ⊙ P ε) (Eq. 51, reference quirk);
 * - simplified: x_s = √ā_s x̂0 + γ √(1−ā_s)(η z + √(1−η²) ε).
 *
 * @param backend Where the math runs.
 * @param op The degradation operator.
 * @param y The observation.
 * @param xt The current state (overwritten with x_s).
 * @param eps The network's ε for x_t.
 * @param c ā_t and ā_s.
 * @param settings η, σ_y, variant.
 * @param buf Buffers; `buf.z` must hold this step's noise; `buf.x0` receives x0|t.
 * @param afterProject Called with x̂0 right after the projection.
 */
export async function ddnmStep(
  backend: Backend,
  op: DegradationOperator,
  y: Float32Array,
  xt: Tensor,
  eps: Tensor,
  c: DdnmCoefficients,
  settings: Pick<DdnmSettings, "eta" | "sigmaY" | "variant" | "fixedLambdaNoise">,
  buf: DdnmBuffers,
  afterProject?: (x0hat: Tensor) => void,
): Promise<void> {
  const { abT, abS } = c;
  const { eta, sigmaY } = settings;
  backend.combine(buf.x0, [[1 / Math.sqrt(abT), xt], [-Math.sqrt(1 - abT) / Math.sqrt(abT), eps]]);
  const c1 = Math.sqrt(1 - abS) * eta;
  const c2 = Math.sqrt(1 - abS) * Math.sqrt(1 - eta * eta);
  if (settings.variant === "simplified") {
    const { lambda, gamma } = simplifiedLambdaGamma(abS, sigmaY);
    const scale: SpectralScale = { lambda: () => lambda, noise: () => [0, 0] };
    await backend.project(op, buf.x0, y, lambda === 1 ? null : scale, buf.x0hat);
    afterProject?.(buf.x0hat);
    backend.combine(xt, [[Math.sqrt(abS), buf.x0hat], [gamma * c1, buf.z], [gamma * c2, eps]]);
  } else if (sigmaY > 0) {
    const scale = ddnmPlusScale({ a: Math.sqrt(abS), sigmaT: Math.sqrt(1 - abS), sigmaY, eta });
    await backend.project(op, buf.x0, y, scale, buf.x0hat);
    afterProject?.(buf.x0hat);
    await backend.lambdaNoise(op, buf.z, eps, scale, settings.fixedLambdaNoise, buf.z);
    backend.combine(xt, [[Math.sqrt(abS), buf.x0hat], [1, buf.z]]);
  } else {
    await backend.project(op, buf.x0, y, null, buf.x0hat);
    afterProject?.(buf.x0hat);
    backend.combine(xt, [[Math.sqrt(abS), buf.x0hat], [c1, buf.z], [c2, eps]]);
  }
}

/**
 * A time-travel transition back to step s: x_s = √ā_s x0 + √(1−ā_s) z, re-noising the last
 * stored *un-projected* x0|t (the reference stores x0_t, not x̂0).
 *
 * @param backend Where the math runs.
 * @param xt The state (overwritten).
 * @param x0 The stored x0|t.
 * @param abS ā at the target step.
 * @param z This step's noise.
 */
export function ddnmTravelBack(
  backend: Backend,
  xt: Tensor,
  x0: Tensor,
  abS: number,
  z: Tensor,
): void {
  backend.combine(xt, [[Math.sqrt(abS), x0], [Math.sqrt(1 - abS), z]]);
}

/** A network that predicts ε for a state and a timestep (the reference's raw value). */
export type EpsPredictor = (x: Tensor, t: number, label: string) => Promise<Tensor>;

/** The DDNM problem a loop solves: A, y, and optionally a state to start from. */
export interface DdnmProblem {
  /** The degradation operator A. */
  operator: DegradationOperator;
  /** The observation y in model units. */
  y: Float32Array;
  /** A state to start from instead of drawing x_T (hq_demo's Mask-Shift carry-over). */
  init?: Tensor;
  /** The clean estimate a warm start noises (model units, consistent with y): needed when
   * `settings.warmStart` < 1. */
  warmImage?: Tensor;
}

/** Options of {@linkcode ddnmSample}: the schedule is DDNM's float32 ā table. */
export interface DdnmSampleOptions
  extends SamplerRun<EpsPredictor, ArrayLike<number>, DdnmSettings>, DdnmProblem {}

/**
 * How many standard-normal values a DDNM run draws (docs/noise.md: x_T, then one tensor per
 * transition, the last one included; a warm start keeps only its transitions).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DDNM_DEFAULTS, ddnmNoiseCount } from "@diffrestore/sampler/samplers";
 *
 * // x_T, then one tensor per transition
 * assert.equal(ddnmNoiseCount({ ...DDNM_DEFAULTS, steps: 10 }, 12), 12 * 11);
 * ```
 *
 * @param settings Steps and time travel.
 * @param size Values per tensor.
 * @returns The count.
 */
export function ddnmNoiseCount(
  settings: Pick<DdnmSettings, "steps" | "travelLength" | "travelRepeat"> & {
    warmStart?: number;
  },
  size: number,
): number {
  return (1 + _runTransitions(settings).length) * size;
}

/** The transitions a run makes: the time-travel list, cut at the warm start (none: all). */
function _runTransitions(
  s: Parameters<typeof ddnmNoiseCount>[0],
  trainSteps = 1000,
): DdnmTransition[] {
  const all = ddnmTransitions(s.steps, s.travelLength, s.travelRepeat, trainSteps);
  return warmStartTransitions(all, s.steps, s.warmStart ?? 1, trainSteps);
}

/**
 * Run a whole DDNM loop from x_T (drawn here) and return the final state in model units. With
 * `settings.warmStart` < 1 the loop starts later, at x_t = √ā_t x̂ + √(1−ā_t) z for the problem's
 * `warmImage` x̂ and the first draw z (docs/ddnm.md, "Warm start").
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DDNM_DEFAULTS, ddnmSample } from "@diffrestore/sampler/samplers";
 * import { alphaBarFloat32, betaSchedule } from "@diffrestore/sampler/schedules";
 * import { buildOperator, CpuBackend, GaussianNoise, Tensor } from "@diffrestore/sampler";
 *
 * const operator = buildOperator({ name: "denoise" }, 3, 8, 8, "svd");
 * const x = await ddnmSample({
 *   predict: (x) => Promise.resolve(Tensor.zeros(x.shape)), // a network that predicts ε = 0
 *   backend: new CpuBackend(),
 *   noise: new GaussianNoise(0),
 *   schedule: alphaBarFloat32(betaSchedule("linear", { trainSteps: 1000 })),
 *   settings: { ...DDNM_DEFAULTS, steps: 10 },
 *   operator,
 *   y: new Float32Array(3 * 8 * 8).fill(0.5),
 * });
 * assert.equal(x.data[0].toFixed(3), "0.500"); // A = I, so the projection returns y
 * ```
 *
 * @param options The network, backend, noise, ā table, settings, hooks, and A, y (and x_T).
 * @returns The final state.
 */
export async function ddnmSample(options: DdnmSampleOptions): Promise<Tensor> {
  const { predict, backend, noise, settings, hooks, operator: op, y, init } = options;
  const alphaBars = options.schedule;
  const transitions = _runTransitions(settings, alphaBars.length);
  const shape = op.xShape;
  const buf = ddnmBuffers(shape);
  const x = init ? init.clone() : backend.randn(Tensor.zeros(shape), noise);
  if (settings.warmStart < 1) {
    if (!options.warmImage || init) throw new Error("a warm start needs warmImage and no init");
    const ab = alphaBarAt(alphaBars, transitions[0].from);
    backend.combine(x, [[Math.sqrt(ab), options.warmImage], [Math.sqrt(1 - ab), x]]);
  }
  let done = 0;
  for (const tr of transitions) {
    await betweenSteps(hooks);
    const abS = alphaBarAt(alphaBars, tr.to);
    if (tr.denoise) {
      // draw z while the network runs: its values depend only on their index in the stream
      const pending = predict(x, tr.from, `step ${done + 1}/${transitions.length} (t=${tr.from})`);
      backend.randn(buf.z, noise);
      const eps = await pending;
      const c = { abT: alphaBarAt(alphaBars, tr.from), abS };
      await ddnmStep(backend, op, y, x, eps, c, settings, buf, hooks?.afterProject);
    } else {
      backend.randn(buf.z, noise);
      ddnmTravelBack(backend, x, buf.x0, abS, buf.z);
    }
    done++;
    hooks?.onStep?.({
      step: done,
      total: transitions.length,
      x0: tr.denoise ? buf.x0hat : undefined,
    });
  }
  return x;
}
