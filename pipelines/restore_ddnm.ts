/**
 * `restoreDdnm`: DDNM / DDNM+ restoration of an observed image with any DDPM noise predictor,
 * end to end (operator, observation, model, noise, Mask-Shift for fixed-size models).
 *
 * @module
 */

import { UserError } from "../lib/errors.ts";
import { trace } from "../lib/trace.ts";
import type { Tensor } from "../lib/tensor.ts";
import type { Model } from "../model/model.ts";
import { DEFAULT_MODEL } from "../model/builtin_models.ts";
import { alphaBar, alphaBarFloat32, betaSchedule } from "../schedules/beta_schedule.ts";
import { respacedSchedule, spaceTimesteps } from "../schedules/respacing.ts";
import { hqDemoSample, type HqDemoSettings } from "../samplers/hq_demo.ts";
import {
  DDNM_DEFAULTS,
  ddnmNoiseCount,
  type DdnmProblem,
  ddnmSample,
  type DdnmSettings,
} from "../samplers/ddnm.ts";
import type { SamplerHooks } from "../samplers/sampler_run.ts";
import type { DdnmVariant } from "../operators/operator.ts";
import {
  buildOperator,
  type DdnmTask,
  ddnmTaskSpec,
  observationFor,
  outputSize,
  validateTask,
} from "../operators/ddnm_tasks.ts";
import { maskShiftWindows, type Window } from "../samplers/mask_shift.ts";
import { meanOfSamples } from "../samplers/sample_mean.ts";
import { sampleWindows } from "./ddnm_windows.ts";
import { classicalRestoration, warmStartEstimate } from "./warm_start.ts";
import {
  type PreparedRun,
  previewOf,
  type RestoreOptions,
  type RestoreResult,
  withRun,
} from "./run.ts";

/** Options of {@linkcode restoreDdnm}: the shared {@linkcode RestoreOptions} (a model default of
 * `builtin:unet`; steps default to the manifest's `defaults.tasks.<task>.steps`, then
 * `defaults.steps`, else 100) and DDNM's own. */
export interface DdnmRestoreOptions extends RestoreOptions<Model | string> {
  /** The task (sr, inpaint, colorize, ...). */
  task: DdnmTask;
  /** η (default: the manifest's per-task, then model-wide `defaults.eta`, else 0.85). */
  eta?: number;
  /** Observation noise σ_y in [0,1] image units; > 0 selects DDNM+. */
  sigmaY?: number;
  /** Time-travel length (default 1). */
  travelLength?: number;
  /** Time-travel repeats (default 1). */
  travelRepeat?: number;
  /** `svd` (default) or `simplified`. */
  variant?: DdnmVariant;
  /** DDNM+ Λ-noise rotated by Vᵀ (correct form) instead of the reference's quirk. */
  fixedLambdaNoise?: boolean;
  /** Run Mask-Shift windows of this size even for a model of any size. */
  window?: number;
  /** Mask-Shift: `fresh` noise per window (default) or `reference` (hq_demo's state carry-over). */
  maskShift?: "fresh" | "reference";
  /**
   * `ddnm` (default): the main repository's η-mix loop. `hq-demo`: hq_demo's respaced DDPM
   * posterior with RePaint jumps (`steps` respaced steps, default 100; travel 10 x 3 by
   * default; x0 clamped; σ_y not doubled; η unused).
   */
  sampler?: "ddnm" | "hq-demo";
  /** hq-demo: λ = σ_t/(a_t σ_y) as in the paper instead of the reference's σ_t·σ_y/a_t. */
  paperLambda?: boolean;
  /** The class label for a class-conditional model (its manifest names a `y` input). */
  classLabel?: number;
  /**
   * The share of the schedule to run, in (0, 1]: below 1 the run starts part-way down from the
   * task's classical restoration, noised (docs/ddnm.md, "Warm start"). Default: the manifest's
   * per-task `warmStart`, else 1 (the reference: every step from pure noise).
   */
  warmStart?: number;
  /**
   * Return the mean of this many posterior samples (an estimate of the posterior mean: less
   * squared error, softer detail; docs/ddnm.md, "Averaging samples"). Default: the manifest's
   * per-task `samples`, else 1.
   */
  samples?: number;
}

/**
 * Check the sampler settings; each problem is a {@linkcode UserError}.
 *
 * @param s The settings.
 * @param trainSteps The model's training steps.
 */
export function validateDdnmSettings(s: DdnmSettings, trainSteps: number): void {
  if (!Number.isInteger(s.steps) || s.steps < 1 || s.steps > trainSteps) {
    throw UserError.option("steps", `an integer in [1, ${trainSteps}]`, s.steps);
  }
  if (!(s.eta >= 0 && s.eta <= 1)) throw UserError.option("eta", "in [0, 1]", s.eta);
  if (!(s.sigmaY >= 0) || !Number.isFinite(s.sigmaY)) {
    throw UserError.option("sigmaY", ">= 0 (in [0,1] image units)", s.sigmaY);
  }
  for (
    const [k, v] of [["travelLength", s.travelLength], ["travelRepeat", s.travelRepeat]] as const
  ) {
    if (!Number.isInteger(v) || v < 1) {
      throw UserError.option(k, "an integer >= 1", v);
    }
  }
  if (s.variant !== "svd" && s.variant !== "simplified") {
    throw UserError.option("variant", "svd or simplified", s.variant);
  }
  if (!(s.warmStart > 0 && s.warmStart <= 1)) {
    throw UserError.option("warmStart", "in (0, 1]", s.warmStart);
  }
}

/** The most samples {@linkcode restoreDdnm} averages. */
export const MAX_SAMPLES = 64;

/**
 * Restore an observed image with DDNM (σ_y = 0) or DDNM+ (σ_y > 0).
 *
 * The observation is an image in [0,1]: the low-resolution image for `sr`, the gray image for
 * `colorize`, the damaged image for `inpaint`/`denoise`/`deblur` (the measurements for `cs`).
 * The result is deterministic for a given seed (or noise source).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { restoreDdnm, Tensor } from "@diffrestore/sampler";
 *
 * const lq = new Tensor([1, 3, 8, 8], Float32Array.from({ length: 192 }, (_, i) => (i % 8) / 8));
 * const { image } = await restoreDdnm(lq, {
 *   task: { name: "sr", scale: 2 },
 *   model: "builtin:gaussian",
 *   steps: 5,
 *   seed: 1,
 * });
 * assert.deepEqual(image.shape, [1, 3, 16, 16]);
 * // DDNM's null-space projection: the result's 2x2 means are the input again
 * const i = 0, mean = (image.data[0] + image.data[1] + image.data[16] + image.data[17]) / 4;
 * assert.ok(Math.abs(mean - lq.data[i]) < 1e-4);
 * ```
 *
 * @param observed The observation, [1, C, h, w] in [0,1].
 * @param options Task, model and sampler settings.
 * @returns The restored image and a report.
 */
export function restoreDdnm(
  observed: Tensor,
  options: DdnmRestoreOptions,
): Promise<RestoreResult> {
  return withRun(options, (run) => _restoreDdnm(observed, options, run));
}

/** The model's checks, DDNM's settings and the samples to average: what is not given comes from
 * the model's per-task defaults, then its defaults, then DDNM's (docs/ddnm.md). */
function _resolveSettings(
  options: DdnmRestoreOptions,
  model: Model,
): { settings: DdnmSettings; samples: number } {
  const m = model.manifest;
  if (m.kind !== "ddpm") {
    throw UserError.about("model", `${model.name}: DDNM needs a 'ddpm' model, not '${m.kind}'`);
  }
  if (m.prediction !== "eps") {
    throw UserError.about(
      "model",
      `${model.name}: DDNM needs an ε-prediction model, this one predicts '${m.prediction}'`,
    );
  }
  const sampler = options.sampler ?? "ddnm";
  if (sampler !== "ddnm" && sampler !== "hq-demo") {
    throw UserError.option("sampler", "ddnm or hq-demo", sampler);
  }
  const hq = sampler === "hq-demo";
  const td = m.defaults.tasks?.[options.task.name] ?? {};
  if (!((options.sigmaY ?? 0) >= 0)) {
    throw UserError.option("sigmaY", ">= 0 (in [0,1] image units)", options.sigmaY);
  }
  const settings: DdnmSettings = {
    ...DDNM_DEFAULTS,
    steps: options.steps ?? (hq ? 100 : td.steps ?? m.defaults.steps ?? DDNM_DEFAULTS.steps),
    eta: options.eta ?? td.eta ?? m.defaults.eta ?? DDNM_DEFAULTS.eta,
    sigmaY: (options.sigmaY ?? 0) * (m.range[1] - m.range[0]),
    travelLength: options.travelLength ?? (hq ? 10 : td.travelLength ?? 1),
    travelRepeat: options.travelRepeat ?? (hq ? 3 : td.travelRepeat ?? 1),
    variant: options.variant ?? "svd",
    fixedLambdaNoise: options.fixedLambdaNoise ?? false,
    // hq_demo's loop has no warm start: only an explicit one is refused below
    warmStart: options.warmStart ?? (hq ? 1 : td.warmStart ?? 1),
  };
  validateDdnmSettings(settings, m.schedule.trainSteps);
  if (settings.warmStart < 1 && (hq || options.maskShift === "reference")) {
    throw UserError.about(
      "warmStart",
      `a warm start runs with DDNM's own loop and fresh Mask-Shift noise, not with ${
        hq ? "the hq-demo sampler" : "the reference state carry-over"
      }`,
    );
  }
  if (options.classLabel !== undefined) {
    if (m.inputs.y === undefined) {
      throw UserError.about(
        "classLabel",
        `${model.name} is not class-conditional: it takes no class label`,
      );
    }
    if (!Number.isSafeInteger(options.classLabel) || options.classLabel < 0) {
      throw UserError.option("classLabel", "an integer >= 0", options.classLabel);
    }
  } else if (m.inputs.y !== undefined) {
    throw UserError.about(
      "classLabel",
      `${model.name} is class-conditional (input '${m.inputs.y}'): give its class label`,
    );
  }
  // hq_demo keeps its own defaults, as for steps
  const samples = options.samples ?? (hq ? 1 : td.samples ?? 1);
  if (!Number.isInteger(samples) || samples < 1 || samples > MAX_SAMPLES) {
    throw UserError.option("samples", `an integer in [1, ${MAX_SAMPLES}]`, samples);
  }
  return { settings, samples };
}

/** Mask-Shift windows when the model takes a fixed size other than the output's, or null. */
function _windows(
  options: DdnmRestoreOptions,
  model: Model,
  height: number,
  width: number,
): { windows: Window[]; size: [number, number] } | null {
  const win = options.window ?? null;
  const size: [number, number] | null = model.manifest.size ?? (win ? [win, win] : null);
  if (!size || (size[0] === height && size[1] === width)) return null;
  const windows = maskShiftWindows(height, width, size[0], size[1]);
  const taskSpec = ddnmTaskSpec(options.task.name);
  if (!taskSpec.local) {
    throw new UserError(
      `${options.task.name} is not local, so it cannot run window by window on a ${size[1]}x${
        size[0]
      } model; use a model that takes any size`,
    );
  }
  // a window of the output must map to whole pixels of the observation
  const f = taskSpec.needs === "scale" ? options.task.scale! : 1;
  if (f > 1 && windows.some((w) => w.x % f !== 0 || w.y % f !== 0 || w.h % f !== 0)) {
    throw UserError.about(
      "task.scale",
      `Mask-Shift windows of ${size[1]}x${size[0]} do not align with scale ${f}`,
    );
  }
  return { windows, size };
}

async function _restoreDdnm(
  observed: Tensor,
  options: DdnmRestoreOptions,
  run: PreparedRun,
): Promise<RestoreResult> {
  const variant = options.variant ?? "svd";
  validateTask(options.task, variant);
  const [height, width] = outputSize(options.task, observed.h, observed.w);
  if (options.task.name === "inpaint" && options.mask && options.mask.length !== height * width) {
    throw UserError.about(
      "mask",
      `the mask has ${options.mask.length} pixels, the image ${width}x${height} = ${
        height * width
      }`,
    );
  }
  const model = await run.model(options.model ?? DEFAULT_MODEL, options.modelSpec);
  trace("model loaded");
  const m = model.manifest;
  const { settings, samples } = _resolveSettings(options, model);
  const channels = m.channels;
  const fullOp = buildOperator(options.task, channels, height, width, variant, options.mask);
  const y = observationFor(fullOp, observed, m.range);
  const { backend, noise } = run;
  const tiling = _windows(options, model, height, width);
  const warmImage = settings.warmStart < 1
    ? await warmStartEstimate(
      backend,
      fullOp,
      y,
      classicalRestoration(options.task, observed, height, width, options.mask),
      m.range,
    )
    : undefined;
  const carry = options.maskShift === "reference";
  const stateSize = channels * (tiling ? tiling.size[0] * tiling.size[1] : height * width);
  const perWindow = ddnmNoiseCount(settings, stateSize);
  noise.require(
    samples *
      (tiling
        ? tiling.windows.length * perWindow - (carry ? (tiling.windows.length - 1) * stateSize : 0)
        : perWindow),
  );
  const betas = betaSchedule(m.schedule.beta, m.schedule);
  const caller = run.caller(model);
  const classLabel = options.classLabel;
  const predict = (x: Tensor, t: number, label: string) =>
    caller.call({ x, t, y: classLabel }, label);
  const hq = (options.sampler ?? "ddnm") === "hq-demo";
  // hq_demo: IDDPM respacing in float64 and σ_y in [0,1] units (the reference does not double it)
  const respaced = hq && respacedSchedule(
    alphaBar(betas),
    spaceTimesteps(m.schedule.trainSteps, String(settings.steps)),
  );
  const hqSettings: HqDemoSettings = {
    jumpLength: settings.travelLength,
    jumpRepeat: settings.travelRepeat,
    sigmaY: options.sigmaY ?? 0,
    paperLambda: options.paperLambda ?? false,
    range: m.range,
  };
  const alphaBars = alphaBarFloat32(betas);
  const sampleOnce = (problem: DdnmProblem, hooks: SamplerHooks): Promise<Tensor> =>
    respaced
      ? hqDemoSample({
        predict,
        backend,
        noise,
        schedule: respaced,
        settings: hqSettings,
        hooks,
        ...problem,
      })
      : ddnmSample({ predict, backend, noise, schedule: alphaBars, settings, hooks, ...problem });
  const sample = (problem: DdnmProblem, hooks: SamplerHooks): Promise<Tensor> =>
    meanOfSamples(samples, (h) => sampleOnce(problem, h), hooks, (t) => backend.read(t));
  const [lo, hi] = m.range;
  let result: Tensor;
  if (!tiling) {
    result = await sample({ operator: fullOp, y, warmImage }, run.hooks(model));
    await backend.read(result);
  } else {
    options.onNote?.(
      `Mask-Shift: ${tiling.windows.length} windows of ${tiling.size[1]}x${tiling.size[0]} (${
        carry ? "reference state carry-over" : "fresh noise per window"
      })`,
    );
    result = await sampleWindows({
      windows: tiling.windows,
      fullOp,
      y,
      warmImage,
      carry,
      options,
      backend,
      sample,
      onStep: (k, p) =>
        options.onProgress?.({
          step: p.step,
          total: p.total,
          window: k + 1,
          windows: tiling.windows.length,
          runtime: model.runtime,
          preview: p.x0 ? previewOf(backend, p.x0, lo, hi) : undefined,
        }),
    });
  }
  trace("sampling done");
  await caller.finish();
  return run.result(result.map((v) => (v - lo) / (hi - lo)), model);
}
