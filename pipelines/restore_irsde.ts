/**
 * `restoreIrsde`: IR-SDE restoration of an LQ image with an exported IR-SDE or Refusion noise
 * network (state, LQ image μ and integer step), or a DenoisingSDE network (no μ).
 *
 * @module
 */

import { UserError } from "../lib/errors.ts";
import type { Tensor } from "../lib/tensor.ts";
import type { Model } from "../model/model.ts";
import { resizeBicubic } from "../lib/resize.ts";
import {
  irsdeSchedule,
  type SdeSettings,
  type ThetaScheduleName,
} from "../schedules/irsde_schedule.ts";
import {
  denoisingSdeSample,
  denoisingStartStep,
  irsdeNoiseCount,
  irsdeSample,
  type IrsdeSolver,
  type NoisePredictor,
} from "../samplers/irsde.ts";
import { type PreparedRun, type RestoreOptions, type RestoreResult, withRun } from "./run.ts";
import { DEFAULT_IRSDE_MODEL } from "../model/builtin_models.ts";

/** IR-SDE's task preprocessing. */
export interface IrsdeTask {
  /** `sr`: bicubic upsampling of the LQ by `scale` before it becomes μ; `inpaint`: holes set to 1. */
  name?: "sr" | "inpaint" | "denoise";
  /** SR factor. */
  scale?: number;
  /** Known noise level (0..255 units when > 1) for the DenoisingSDE variant's start step. */
  noiseLevel?: number;
}

/** Options of {@linkcode restoreIrsde}: the shared {@linkcode RestoreOptions} (a model default of
 * `builtin:irsde`, trained for Gaussian noise of σ 25/255, docs/builtin_models.md; steps are the
 * SDE's T, default the manifest's) and IR-SDE's own. */
export interface IrsdeRestoreOptions extends RestoreOptions<Model | string> {
  /** Solver (default: the manifest's `defaults.solver`, else `sde`; `ode` for the DenoisingSDE
   * variant). */
  solver?: IrsdeSolver;
  /** Override the manifest's SDE settings (its `T` is `steps`). */
  sde?: Partial<Omit<SdeSettings, "T">>;
  /** Task preprocessing. */
  task?: IrsdeTask;
}

/**
 * μ from the LQ image as the reference prepares it: SR upsamples bicubically (PyTorch,
 * align_corners = false) by the scale; inpainting sets the holes to 1.
 *
 * @param lq The LQ image, [1, C, h, w] in [0,1].
 * @param task The task.
 * @returns μ in [0,1].
 */
export function irsdeMu(lq: Tensor, task: IrsdeTask = {}, mask?: Uint8Array): Tensor {
  if (task.name === "sr") {
    const k = task.scale ?? 1;
    if (!Number.isInteger(k) || k < 1) throw UserError.option("task.scale", "an integer >= 1", k);
    return resizeBicubic(lq, lq.h * k, lq.w * k);
  }
  if (task.name === "inpaint") {
    const m = mask;
    if (!m) throw UserError.about("mask", "task inpaint needs a mask of the known pixels");
    if (m.length !== lq.h * lq.w) {
      throw UserError.about("mask", `the mask has ${m.length} pixels, the image ${lq.h * lq.w}`);
    }
    const plane = lq.h * lq.w;
    return lq.map((v, i) => (m[i % plane] ? v : 1));
  }
  return lq.clone();
}

/**
 * Restore an LQ image with IR-SDE.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GaussianNoise, psnr, restoreIrsde, Tensor } from "@diffrestore/sampler";
 *
 * const clean = new Tensor([1, 3, 32, 32], Float32Array.from({ length: 3072 }, (_, i) => (i % 32) / 40 + 0.1));
 * const z = new Float32Array(clean.size);
 * new GaussianNoise(3).fill(z);
 * const noisy = clean.map((v, i) => v + (25 / 255) * z[i]);
 * // builtin:irsde, trained for Gaussian noise of sigma 25/255
 * const { image } = await restoreIrsde(noisy, { seed: 1 });
 * assert.ok(psnr(image, clean) > psnr(noisy, clean) + 3);
 * ```
 *
 * @param lq The LQ image, [1, C, h, w] in [0,1].
 * @param options Model, solver, SDE overrides, task.
 * @returns The restored image in [0,1] (unclipped) and a report.
 */
export function restoreIrsde(
  lq: Tensor,
  options: IrsdeRestoreOptions,
): Promise<RestoreResult> {
  return withRun(options, (run) => _restoreIrsde(lq, options, run));
}

async function _restoreIrsde(
  lq: Tensor,
  options: IrsdeRestoreOptions,
  run: PreparedRun,
): Promise<RestoreResult> {
  const solver = options.solver;
  if (solver !== undefined && !["sde", "ode", "posterior"].includes(solver)) {
    throw UserError.option("solver", "sde, ode or posterior", solver);
  }
  const o = options.sde ?? {};
  if (o.schedule !== undefined && !["cosine", "linear", "constant"].includes(o.schedule)) {
    throw UserError.option("sde.schedule", "cosine, linear or constant", o.schedule);
  }
  const T = options.steps;
  if (T !== undefined && (!Number.isInteger(T) || T < 1 || T > 10000)) {
    throw UserError.option("steps", "an integer in [1, 10000]", T);
  }
  if (o.maxSigma !== undefined && !(o.maxSigma > 0)) {
    throw UserError.option("sde.maxSigma", "> 0", o.maxSigma);
  }
  if (o.eps !== undefined && !(o.eps > 0 && o.eps < 1)) {
    throw UserError.option("sde.eps", "in (0, 1)", o.eps);
  }
  const mu01 = irsdeMu(lq, options.task, options.mask);
  if (options.model === undefined) {
    options.onNote?.(
      `no model given: ${DEFAULT_IRSDE_MODEL}, trained for Gaussian noise of sigma 25/255`,
    );
  }
  const model = await run.model(options.model ?? DEFAULT_IRSDE_MODEL, options.modelSpec);
  const m = model.manifest;
  if (m.kind !== "irsde") {
    throw UserError.about("model", `${model.name}: IR-SDE needs an 'irsde' model, not '${m.kind}'`);
  }
  const base = m.sde;
  if (!base && o.maxSigma === undefined) {
    throw UserError.about(
      "sde.maxSigma",
      `${model.name}: the manifest has no 'sde' block; give sde.maxSigma (and its schedule, eps)`,
    );
  }
  const settings: SdeSettings = {
    maxSigma: o.maxSigma ?? base!.maxSigma,
    T: T ?? base?.T ?? 100,
    schedule: (o.schedule ?? base?.schedule ?? "cosine") as ThetaScheduleName,
    eps: o.eps ?? base?.eps ?? 0.01,
  };
  if (base && T !== undefined && T !== base.T) {
    // a network's time input is tied to the schedule it was trained on (docs/irsde.md)
    options.onNote?.(`${model.name} was trained with T = ${base.T}; steps ${T} departs from it`);
  }
  const denoisingVariant = m.inputs.mu === undefined;
  const schedule = irsdeSchedule(settings);
  const [lo, hi] = m.range;
  const mu = mu01.map((v) => lo + (hi - lo) * v);
  const channels = m.channels;
  if (mu.c !== channels) {
    throw new UserError(`${model.name} works on ${channels} channels, the image has ${mu.c}`);
  }
  const { backend, noise } = run;
  const caller = run.caller(model);
  const predict: NoisePredictor = (x, muT, t, label) =>
    caller.call(denoisingVariant ? { x, t } : { x, mu: muT, t }, label);
  const common = { predict, backend, noise, schedule, hooks: run.hooks(model) };
  let out: Tensor;
  if (denoisingVariant) {
    if (solver === "posterior") {
      throw UserError.about(
        "solver",
        "the DenoisingSDE variant (a network without 'mu') has no posterior solver",
      );
    }
    const level = options.task?.noiseLevel;
    if (level === undefined || !(level > 0)) {
      throw UserError.about(
        "task.noiseLevel",
        `${model.name} is a DenoisingSDE network (no 'mu' input): give the noise level`,
      );
    }
    const start = denoisingStartStep(schedule, level);
    options.onNote?.(`DenoisingSDE: noise level ${level} starts at step ${start} of ${settings.T}`);
    const s = solver ?? "ode";
    noise.require(irsdeNoiseCount(s, start, mu.size, false));
    out = await denoisingSdeSample({
      ...common,
      settings: { solver: s as "sde" | "ode", start },
      lq: mu,
    });
  } else {
    const s = solver ?? m.defaults.solver ?? "sde";
    noise.require(irsdeNoiseCount(s, settings.T, mu.size));
    out = await irsdeSample({ ...common, settings: { solver: s }, mu });
  }
  await backend.read(out);
  await caller.finish();
  return run.result(out.map((v) => (v - lo) / (hi - lo)), model);
}
