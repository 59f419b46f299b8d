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
import { type PreparedRun, type RestoreResult, type RunOptions, withRun } from "./run.ts";
import { DEFAULT_IRSDE_MODEL } from "../model/builtin_models.ts";

/** IR-SDE's task preprocessing. */
export interface IrsdeTask {
  /** `sr`: bicubic upsampling of the LQ by `scale` before it becomes μ; `inpaint`: holes set to 1. */
  name?: "sr" | "inpaint" | "denoise";
  /** SR factor. */
  scale?: number;
  /** Known pixels (inpaint), 1 = known, per pixel. */
  mask?: Uint8Array;
  /** Known noise level (0..255 units when > 1) for the DenoisingSDE variant's start step. */
  noiseLevel?: number;
}

/** Options of {@linkcode restoreIrsde}. */
export interface IrsdeRestoreOptions extends RunOptions {
  /** A loaded model, a path or `builtin:` name (its manifest has kind `irsde`); default
   * `builtin:irsde`, trained for Gaussian noise of σ 25/255 (docs/builtin_models.md). */
  model?: Model | string;
  /** The manifest when it is not beside the model. */
  modelSpec?: string;
  /** Solver (default: the manifest's `defaults.solver`, else `sde`; `ode` for the DenoisingSDE
   * variant). */
  solver?: IrsdeSolver;
  /** Override the manifest's SDE settings. */
  sde?: Partial<SdeSettings>;
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
export function irsdeMu(lq: Tensor, task: IrsdeTask = {}): Tensor {
  if (task.name === "sr") {
    const k = task.scale ?? 1;
    if (!Number.isInteger(k) || k < 1) {
      throw new UserError(`scale must be an integer >= 1, got ${task.scale}`);
    }
    return resizeBicubic(lq, lq.h * k, lq.w * k);
  }
  if (task.name === "inpaint") {
    const m = task.mask;
    if (!m) throw new UserError("task inpaint needs --mask M.png");
    if (m.length !== lq.h * lq.w) {
      throw new UserError(`the mask has ${m.length} pixels, the image ${lq.h * lq.w}`);
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
 * ```ts ignore
 * import { restoreIrsde } from "./restore_irsde.ts";
 * const { image } = await restoreIrsde(lq, { model: "irsde_deblur.onnx", solver: "posterior", seed: 1 });
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
    throw new UserError(`solver must be sde, ode or posterior, got '${solver}'`);
  }
  const o = options.sde ?? {};
  if (o.schedule !== undefined && !["cosine", "linear", "constant"].includes(o.schedule)) {
    throw new UserError(`schedule must be cosine, linear or constant, got '${o.schedule}'`);
  }
  if (o.T !== undefined && (!Number.isInteger(o.T) || o.T < 1 || o.T > 10000)) {
    throw new UserError(`steps must be an integer in [1, 10000], got ${o.T}`);
  }
  if (o.maxSigma !== undefined && !(o.maxSigma > 0)) {
    throw new UserError(`maxSigma must be > 0, got ${o.maxSigma}`);
  }
  if (o.eps !== undefined && !(o.eps > 0 && o.eps < 1)) {
    throw new UserError(`eps must be in (0, 1), got ${o.eps}`);
  }
  const mu01 = irsdeMu(lq, options.task);
  if (options.model === undefined) {
    options.onNote?.(
      `no model given: ${DEFAULT_IRSDE_MODEL}, trained for Gaussian noise of sigma 25/255`,
    );
  }
  const model = await run.model(options.model ?? DEFAULT_IRSDE_MODEL, options.modelSpec);
  const m = model.manifest;
  if (m.kind !== "irsde") {
    throw new UserError(`${model.name}: IR-SDE needs an 'irsde' model, this one is '${m.kind}'`);
  }
  const base = m.sde;
  if (!base && o.maxSigma === undefined) {
    throw new UserError(
      `${model.name}: the manifest has no 'sde' block; give --max-sigma (and --schedule, --eps)`,
    );
  }
  const settings: SdeSettings = {
    maxSigma: o.maxSigma ?? base!.maxSigma,
    T: o.T ?? base?.T ?? 100,
    schedule: (o.schedule ?? base?.schedule ?? "cosine") as ThetaScheduleName,
    eps: o.eps ?? base?.eps ?? 0.01,
  };
  if (base && o.T !== undefined && o.T !== base.T) {
    // a network's time input is tied to the schedule it was trained on (docs/irsde.md)
    options.onNote?.(`${model.name} was trained with T = ${base.T}; steps ${o.T} departs from it`);
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
      throw new UserError(
        "the DenoisingSDE variant (a network without 'mu') has no posterior solver",
      );
    }
    const level = options.task?.noiseLevel;
    if (level === undefined || !(level > 0)) {
      throw new UserError(
        `${model.name} is a DenoisingSDE network (no 'mu' input): give the noise level with --noise-level`,
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
