/**
 * `restoreDiffbir`: DiffBIR's two-stage pipeline around four ONNX networks (stage-1 restorer,
 * VAE encoder returning the latent mean, VAE decoder, latent denoiser with control input), and
 * its samplers: spaced DDPM, DDIM, EDM and DPM-Solver++ (docs/diffbir.md).
 *
 * @module
 */

import { UserError } from "../lib/errors.ts";
import { Tensor } from "../lib/tensor.ts";
import type { NoiseSource } from "../lib/noise.ts";
import { resizeBicubic, resizeBicubicAntialias } from "../lib/resize.ts";
import { cropTile, tiledApply, tilePlan } from "../lib/tiling.ts";
import type { Model } from "../model/model.ts";
import type { Backend } from "../kernels/backend.ts";
import type { SamplerHooks } from "../samplers/sampler_run.ts";
import {
  ddimSample,
  type GuidanceSettings,
  rescaledCfgScale,
  spacedSample,
} from "../samplers/spaced_ddpm.ts";
import {
  type EdmDenoiser,
  edmDraws,
  edmInitialScale,
  edmSample,
  edmScalings,
} from "../samplers/edm.ts";
import { type DataPredictor, dpmSolverSample } from "../samplers/dpm_solver.ts";
import { adainColorFix, waveletReconstruction } from "./color_fix.ts";
import {
  DIFFBIR_NEGATIVE_PROMPT,
  type DiffbirModels,
  loadDiffbirPipeline,
} from "./diffbir_pipeline.ts";
import {
  checkDiffbirModels,
  type DiffbirRestoreOptions,
  type DiffbirSampling,
  resolveDiffbirSampling,
} from "./diffbir_options.ts";
import { diffbirGuidedPass, type GuidedPass } from "./diffbir_denoiser.ts";
import type { TextContext } from "../model/prompt_encoder.ts";
import { wmseLatentWeights } from "./wmse_weights.ts";
import { type PreparedRun, type RestoreResult, singleWindowProgress, withRun } from "./run.ts";
import { ddimSchedule } from "../schedules/ddim_schedule.ts";
import { type ScheduleSpec, trainingAlphaBar } from "../schedules/training_schedule.ts";
import { spacedSchedule } from "../schedules/respacing.ts";
import { edmSchedule, edmTimestep } from "../schedules/edm_schedule.ts";
import { dpmModelTime, vpMarginals, vpSchedule } from "../schedules/vp_schedule.ts";

/** The most pixels `minSize` may enlarge an image to (the CLI's default input limit). */
const _MAX_GROWN_PIXELS = 64 * 1024 * 1024;

function _pad(t: Tensor, multiple: number): Tensor {
  const [n, c, h, w] = t.shape;
  const H = Math.ceil(h / multiple) * multiple, W = Math.ceil(w / multiple) * multiple;
  if (H === h && W === w) return t;
  const out = Tensor.zeros([n, c, H, W]);
  for (let p = 0; p < n * c; p++) {
    for (let i = 0; i < h; i++) {
      out.data.set(t.data.subarray((p * h + i) * w, (p * h + i + 1) * w), (p * H + i) * W);
    }
  }
  return out;
}

/** A network run on [0,1] images (mapped to and from its range): the stage-1 restorer. */
function _imageNet(model: Model, label: string): (t: Tensor) => Promise<Tensor> {
  const [lo, hi] = model.manifest.range;
  return (t) =>
    model.run({ x: t.map((v) => lo + (hi - lo) * v) }, label).then((o) =>
      o.map((v) => (v - lo) / (hi - lo))
    );
}

/**
 * HEAD's SwinIR size rule: a short edge below `minSize` is enlarged to it (antialiased
 * bicubic; the result is resized back at the end).
 */
function _grow(t: Tensor, minSize: number): Tensor {
  const [, , h, w] = t.shape;
  if (Math.min(h, w) >= minSize) return t;
  const [oh, ow] = h === w
    ? [minSize, minSize]
    : h < w
    ? [minSize, Math.trunc(w * (minSize / h))]
    : [Math.trunc(h * (minSize / w)), minSize];
  if (oh * ow > _MAX_GROWN_PIXELS) {
    throw new UserError(
      `minSize ${minSize} would enlarge the ${w}x${h} image to ${ow}x${oh}; the limit is ${_MAX_GROWN_PIXELS} pixels`,
    );
  }
  return resizeBicubicAntialias(t, oh, ow);
}

/**
 * The denoiser's contexts: given tensors as they are, else the prompts through the pipeline's
 * text encoder (the negative one only where CFG runs).
 */
async function _contexts(
  models: DiffbirModels,
  options: DiffbirRestoreOptions,
  cfg: number,
): Promise<{ context?: TextContext; negativeContext?: TextContext }> {
  const text = models.text;
  const wants = models.denoiser.manifest.inputs.context !== undefined;
  return {
    context: options.context ??
      (text && wants ? await text.encode(options.prompt ?? models.prompt ?? "") : undefined),
    negativeContext: options.negativeContext ??
      (text && wants && cfg !== 1
        ? await text.encode(
          options.negativePrompt ?? models.negativePrompt ?? DIFFBIR_NEGATIVE_PROMPT,
        )
        : undefined),
  };
}

/** What the sampler dispatch needs besides the state. */
interface _Sampling {
  sampling: DiffbirSampling;
  schedule: ScheduleSpec;
  prediction: DiffbirModels["denoiser"]["manifest"]["prediction"];
  backend: Backend;
  noise: NoiseSource;
  pass: GuidedPass;
  cfgOn: boolean;
  zeroCopyWhole: boolean;
  rescaleCfg: boolean;
  guidance: { settings: GuidanceSettings; target: Tensor } | null;
  hooks: SamplerHooks;
}

/** The standard-normal tensors a sampler draws after x_T. */
function _draws(s: DiffbirSampling, schedule: ScheduleSpec): number {
  switch (s.sampler.name) {
    case "spaced":
      return s.steps;
    case "dpm++":
      return 0;
    case "edm":
      return edmDraws(s.sampler.solver, edmSchedule(schedule, s.steps), s.sampler.settings);
    case "ddim":
      return ddimSchedule(schedule, s.steps).timesteps.length;
  }
}

/** Run the chosen sampler from x_T (in place). */
async function _sample(x: Tensor, r: _Sampling): Promise<void> {
  const { sampling, schedule, backend, noise, pass, hooks } = r;
  const { steps, cfg } = sampling;
  // DiffBIR rescales the CFG scale only when asked and above 1
  const cfgScaleAt = (t: number) => r.rescaleCfg && cfg > 1 ? rescaledCfgScale(cfg, t) : cfg;
  const sampler = sampling.sampler;
  if (sampler.name === "edm") {
    // the Karras denoiser D = c_skip x + c_out F(c_in x, τ(σ)); CFG acts on D, as the reference
    const grid = edmSchedule(schedule, steps);
    const xIn = Tensor.zeros(x.shape), dUncond = Tensor.zeros(x.shape);
    let label = `step 1/${steps}`;
    const denoise: EdmDenoiser = async (xs, sigma, out) => {
      const { cSkip, cOut, cIn } = edmScalings(sigma, r.prediction);
      const t = edmTimestep(grid, sigma);
      backend.combine(xIn, [[cIn, xs]]);
      const toDenoised = (o: Tensor, unconditional: boolean) =>
        backend.combine(unconditional ? dUncond : out, [[cOut, o], [cSkip, xs]]);
      return await pass(xIn, t, `${label} (t=${t})`, toDenoised, cfgScaleAt(t));
    };
    backend.combine(x, [[edmInitialScale(grid), x]]);
    await edmSample({
      predict: denoise,
      backend,
      noise,
      schedule: grid,
      settings: { ...sampler.settings, solver: sampler.solver },
      hooks: {
        ...hooks,
        onStep: (p) => {
          label = `step ${p.step + 1}/${p.total}`;
          hooks.onStep?.(p);
        },
      },
      x,
    });
  } else if (sampler.name === "dpm++") {
    // the reference's model_wrapper: the output to noise, CFG on noise, then x0 = (x − σ ε)/α
    const vp = vpSchedule(schedule);
    const noiseC = Tensor.zeros(x.shape), noiseU = Tensor.zeros(x.shape);
    let step = 1;
    const predict: DataPredictor = async (xs, t, out) => {
      const { alpha, sigma } = vpMarginals(vp, t), tIn = dpmModelTime(vp, t);
      const toNoise = (o: Tensor, into: Tensor) =>
        r.prediction === "v"
          ? backend.combine(into, [[alpha, o], [sigma, xs]])
          : backend.combine(into, [[1, o]]);
      const label = `step ${step}/${steps} (t=${tIn.toFixed(1)})`;
      // this wrapper rescales whenever asked, not only above 1
      const scale = r.rescaleCfg ? rescaledCfgScale(cfg, tIn) : cfg;
      const keep = (o: Tensor, unconditional: boolean) =>
        toNoise(o, unconditional ? noiseU : noiseC);
      const eps = await pass(xs, tIn, label, keep, scale);
      return backend.combine(out, [[1 / alpha, xs], [-sigma / alpha, eps]]);
    };
    await dpmSolverSample({
      predict,
      backend,
      schedule: vp,
      settings: { steps, order: sampler.order },
      hooks: {
        ...hooks,
        onStep: (p) => {
          step = p.step + 1;
          hooks.onStep?.(p);
        },
      },
      x,
    });
  } else {
    // the spaced and DDIM samplers guide the raw output; a zero-copy one is rewritten by the
    // runtime at the next call, so the conditional one is copied when a second pass follows
    const predict = (xs: Tensor, t: number, label: string) =>
      pass(
        xs,
        t,
        label,
        (o, unconditional) =>
          !unconditional && r.cfgOn && r.zeroCopyWhole
            ? backend.combine(Tensor.zeros(o.shape), [[1, o]])
            : o,
        cfgScaleAt(t),
      );
    const eta = sampler.name === "ddim" ? sampler.eta : 0;
    const settings = { prediction: r.prediction, eta, guidance: r.guidance };
    if (sampler.name === "spaced") {
      const s = spacedSchedule(schedule, steps);
      await spacedSample({ predict, backend, noise, schedule: s, settings, hooks, x });
    } else {
      const s = ddimSchedule(schedule, steps);
      await ddimSample({ predict, backend, noise, schedule: s, settings, hooks, x });
    }
  }
}

/**
 * Restore an image with DiffBIR.
 *
 * Pipeline: (bicubic upscale) → stage 1 → pad to a multiple of 64 (8 when tiled) → condition
 * latent c = scaleFactor · E(2·clean − 1) → sample z (x_T, then one draw per step) with CFG and
 * guidance → image = (D(z / scaleFactor) + 1)/2, cropped → colour fix against the stage-1
 * output.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { restoreDiffbir, Tensor, UserError } from "@diffrestore/sampler";
 *
 * // DiffBIR needs a pipeline exported with tools/export/diffbir.py: no built-in one ships
 * const lq = Tensor.zeros([1, 3, 64, 64]);
 * await assert.rejects(
 *   () => restoreDiffbir(lq, { sampler: { name: "edm", solver: "dpm++_3m_sde" }, steps: 10 }),
 *   (e) => e instanceof UserError && e.option === "model",
 * );
 * ```
 *
 * @param lq The input, [1, 3, h, w] in [0,1].
 * @param options Pipeline and sampler settings.
 * @returns The restored image in [0,1] (unclipped) and a report.
 */
export function restoreDiffbir(
  lq: Tensor,
  options: DiffbirRestoreOptions,
): Promise<RestoreResult> {
  return withRun(options, (run) => _restoreDiffbir(lq, options, run));
}

/** Stage 1 on the (upscaled) input, then the condition latent scaleFactor · E(2·clean − 1). */
async function _conditionLatent(
  lq: Tensor,
  models: DiffbirModels,
  options: DiffbirRestoreOptions,
  upscale: number,
) {
  const tile = options.tile;
  // HEAD's size rule before stage 1, or after it when tiled
  const input = upscale === 1
    ? lq
    : resizeBicubic(lq, Math.round(lq.h * upscale), Math.round(lq.w * upscale), -0.5);
  const s1 = models.stage1;
  const runStage1 = _imageNet(s1, "stage 1");
  const minSize = options.minSize ?? 0;
  const clean = tile
    ? _grow(
      await tiledApply(input, tile.size, tile.stride, s1.manifest.spatialFactor, runStage1),
      minSize,
    )
    : await runStage1(_grow(input, minSize));
  const outputSize = [input.h * s1.manifest.spatialFactor, input.w * s1.manifest.spatialFactor];
  const [, , h0, w0] = clean.shape;
  const padded = _pad(clean, tile ? 8 : 64);
  // the encoder's latent mean, scaled
  const enc = models.encoder, sf = models.scaleFactor;
  const [elo, ehi] = enc.manifest.range;
  const encode = (t: Tensor) =>
    enc.run({ x: t.map((v) => elo + (ehi - elo) * v) }, "VAE encoder").then((o) =>
      o.map((v) => sf * v)
    );
  const cond = tile
    ? await tiledApply(padded, tile.size, tile.stride, 1 / enc.manifest.spatialFactor, encode)
    : await encode(padded);
  return { clean, padded, outputSize, h0, w0, cond };
}

/** The decoder: (D(z / scaleFactor) + 1)/2, tiled like the sampling, cropped to the stage-1 size. */
function _decoder(
  models: DiffbirModels,
  tile: DiffbirRestoreOptions["tile"],
  h0: number,
  w0: number,
): (latent: Tensor) => Promise<Tensor> {
  const dec = models.decoder, sf = models.scaleFactor;
  const [dlo, dhi] = dec.manifest.range;
  const decodeTile = (t: Tensor) =>
    dec.run({ x: t.map((v) => v / sf) }, "VAE decoder").then((o) =>
      o.map((v) => (v - dlo) / (dhi - dlo))
    );
  return async (latent: Tensor) => {
    const decoded = tile
      ? await tiledApply(
        latent,
        tile.size / 8,
        tile.stride / 8,
        dec.manifest.spatialFactor,
        decodeTile,
      )
      : await decodeTile(latent);
    return cropTile(Tensor.zeros([decoded.n, decoded.c, h0, w0]), decoded, 0, 0);
  };
}

async function _restoreDiffbir(
  lq: Tensor,
  options: DiffbirRestoreOptions,
  run: PreparedRun,
): Promise<RestoreResult> {
  const sampling = resolveDiffbirSampling(options);
  const models = typeof options.model === "string"
    ? await loadDiffbirPipeline(options.model, run.loading)
    : options.model!;
  if (models !== options.model) run.own(models); // loaded for this run: released after it
  run.count(models.denoiser);
  checkDiffbirModels(models, options, sampling);
  const den = models.denoiser.manifest;
  const { backend, noise } = run;
  const tile = options.tile;

  const { clean, padded, outputSize, h0, w0, cond: encoded } = await _conditionLatent(
    lq,
    models,
    options,
    sampling.upscale,
  );
  let cond = encoded;
  const latentShape = cond.shape;
  const target = cond;

  const caller = run.caller(models.denoiser);
  const plan = tile
    ? tilePlan(latentShape[2], latentShape[3], tile.size / 8, tile.stride / 8)
    : null;
  const { context, negativeContext } = await _contexts(models, options, sampling.cfg);
  const { pass, cfgOn } = diffbirGuidedPass({
    backend,
    caller,
    cond: () => cond,
    strength: options.strength ?? 1,
    plan,
    context,
    negativeContext,
    cfg: sampling.cfg,
  });

  const draws = _draws(sampling, den.schedule);
  const noiseAug = options.noiseAug ?? 0;
  noise.require(
    (1 + (noiseAug > 0 ? 1 : 0) + draws) * latentShape[0] * latentShape[1] * latentShape[2] *
      latentShape[3],
  );
  const x = backend.randn(Tensor.zeros(latentShape), noise);
  // the reference's q_sample(c, t, z) = √ā_t c + √(1 − ā_t) z, for the start point and the
  // noise augmentation of the condition (which the unconditional pass shares)
  const alphaBars = trainingAlphaBar(den.schedule);
  const qSample = (out: Tensor, c: Tensor, t: number, zt: Tensor) =>
    backend.combine(out, [[Math.fround(Math.sqrt(alphaBars[t])), c], [
      Math.fround(Math.sqrt(1 - alphaBars[t])),
      zt,
    ]]);
  if (options.startPoint === "cond") qSample(x, cond, alphaBars.length - 1, x);
  if (noiseAug > 0) {
    const zAug = backend.randn(Tensor.zeros(latentShape), noise);
    cond = qSample(Tensor.zeros(latentShape), cond, noiseAug, zAug);
  }
  const g = options.guidance;
  const guidance = sampling.guiding
    ? {
      settings: {
        scale: g!.scale,
        start: g!.start ?? 1001,
        stop: g!.stop ?? -1,
        repeat: g!.repeat ?? 1,
        weights: g!.loss === "wmse" ? wmseLatentWeights(padded) : null,
      },
      target,
    }
    : null;
  const decode = _decoder(models, tile, h0, w0);
  // progress previews decode the step's x0 latent (read now, before the next step rewrites it)
  const hooks: SamplerHooks = {
    signal: options.signal,
    onStep: (p) =>
      options.onProgress?.(
        singleWindowProgress(
          p.step,
          p.total,
          models.denoiser.runtime,
          async () => await decode((await backend.read(p.x0!)).clone()),
        ),
      ),
  };
  await _sample(x, {
    sampling,
    schedule: den.schedule,
    prediction: den.prediction,
    backend,
    noise,
    pass,
    cfgOn,
    zeroCopyWhole: caller.zeroCopy && !plan,
    rescaleCfg: options.rescaleCfg ?? false,
    guidance,
    hooks,
  });

  // decode, then the colour fix
  await caller.finish();
  await backend.read(x);
  const image = await decode(x);
  const fixedAtSize = sampling.colorFix === "wavelet"
    ? await backend.read(waveletReconstruction(image, clean, backend))
    : sampling.colorFix === "adain"
    ? adainColorFix(image, clean)
    : image;
  const fixed = fixedAtSize.h === outputSize[0] && fixedAtSize.w === outputSize[1]
    ? fixedAtSize
    : resizeBicubicAntialias(fixedAtSize, outputSize[0], outputSize[1]);
  const name = typeof options.model === "string" ? options.model : undefined;
  return run.result(fixed, models.denoiser, name);
}
