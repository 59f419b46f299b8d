/**
 * `restoreDiffbir`: DiffBIR's two-stage pipeline around four ONNX networks (stage-1 restorer,
 * VAE encoder returning the latent mean, VAE decoder, latent denoiser with control input).
 *
 * @module
 */

import { UserError } from "../lib/errors.ts";
import { Tensor } from "../lib/tensor.ts";
import { GaussianNoise } from "../lib/noise.ts";
import { Model } from "../model/model.ts";
import { readJsonFile } from "../model/manifest.ts";
import type { OrtChoice } from "../model/ort_runtime.ts";
import { resizeBicubic, resizeBicubicAntialias } from "../lib/resize.ts";
import { adainColorFix, waveletReconstruction } from "./color_fix.ts";
import { CpuBackend } from "../kernels/cpu_backend.ts";
import { WebGpuBackend } from "../kernels/webgpu_backend.ts";
import {
  applyLatentGuidance,
  cfgCombine,
  ddimSchedule,
  ddimStep,
  type GuidanceSettings,
  latentAlphaBar,
  predictX0,
  rescaledCfgScale,
  spacedSchedule,
  spacedStep,
} from "../samplers/spaced_ddpm.ts";
import { cropTile, tiledApply, tilePlan } from "../lib/tiling.ts";
import {
  EDM_DEFAULTS,
  EDM_SOLVERS,
  type EdmDenoiser,
  edmDraws,
  edmInitialScale,
  edmSample,
  edmScalings,
  edmSchedule,
  type EdmSettings,
  type EdmSolver,
  edmTimestep,
} from "../samplers/edm.ts";
import {
  type DataPredictor,
  dpmModelTime,
  dpmSolverSample,
  vpMarginals,
  vpSchedule,
} from "../samplers/dpm_solver.ts";
import { deviceCaller } from "../kernels/device_calls.ts";
import { type RestoreResult, type RunOptions, singleWindowProgress } from "./restore_ddnm.ts";

/** The four networks of a DiffBIR pipeline and its latent scale factor. */
export interface DiffbirModels {
  /** Stage-1 restorer ([0,1] in and out). */
  stage1: Model;
  /** VAE encoder (latent mean). */
  encoder: Model;
  /** VAE decoder. */
  decoder: Model;
  /** Latent denoiser with `cond` (and optionally `context`, `strength`). */
  denoiser: Model;
  /** The latent scale factor (SD: 0.18215). */
  scaleFactor: number;
}

/**
 * Load a `diffbir-pipeline` manifest: keys `stage1`, `vaeEncoder`, `vaeDecoder`, `denoiser`
 * (ONNX files relative to it, each with its manifest beside it) and `scaleFactor`.
 *
 * @param path The pipeline manifest.
 * @param options Runtime options.
 * @returns The loaded models.
 */
export async function loadDiffbirPipeline(
  path: string,
  options: {
    runtime?: OrtChoice;
    threads?: number;
    onNote?: (m: string) => void;
    device?: GPUDevice;
  } = {},
): Promise<DiffbirModels> {
  const json = await readJsonFile(path, "pipeline manifest");
  if (
    typeof json !== "object" || json === null ||
    (json as Record<string, unknown>).kind !== "diffbir-pipeline"
  ) {
    throw new UserError(
      `${path}: a DiffBIR --model must be a pipeline manifest with "kind": "diffbir-pipeline"`,
    );
  }
  const j = json as Record<string, unknown>;
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/") + 1) : "";
  const load = async (key: string, kind: string) => {
    const rel = j[key];
    if (typeof rel !== "string") throw new UserError(`${path}: missing required key '${key}'`);
    const m = await Model.load({ path: rel.startsWith("/") ? rel : dir + rel }, options);
    if (m.manifest.kind !== kind) {
      throw new UserError(
        `${m.name}: key '${key}' needs a '${kind}' model, found '${m.manifest.kind}'`,
      );
    }
    return m;
  };
  const scaleFactor = j.scaleFactor === undefined ? 0.18215 : Number(j.scaleFactor);
  if (!Number.isFinite(scaleFactor) || scaleFactor <= 0) {
    throw new UserError(`${path}: key 'scaleFactor' must be a positive number`);
  }
  return {
    stage1: await load("stage1", "restorer"),
    encoder: await load("vaeEncoder", "vae-encoder"),
    decoder: await load("vaeDecoder", "vae-decoder"),
    denoiser: await load("denoiser", "latent-denoiser"),
    scaleFactor,
  };
}

/** DiffBIR's samplers: spaced DDPM, DDIM, EDM with a k-diffusion solver, or DPM-Solver++. */
export type DiffbirSamplerName =
  | "spaced"
  | "ddim"
  | `edm_${EdmSolver}`
  | "dpm++_m1"
  | "dpm++_m2"
  | "dpm++_m3";

/** Every {@linkcode DiffbirSamplerName}. */
export const DIFFBIR_SAMPLERS: readonly DiffbirSamplerName[] = [
  "spaced",
  "ddim",
  ...EDM_SOLVERS.map((s) => `edm_${s}` as const),
  "dpm++_m1",
  "dpm++_m2",
  "dpm++_m3",
];

/** Options of {@linkcode restoreDiffbir}. */
export interface DiffbirRestoreOptions extends RunOptions {
  /** The pipeline (a loaded one, or a pipeline manifest path). */
  model: DiffbirModels | string;
  /** Sampling steps (default 50). */
  steps?: number;
  /** `spaced` (default), `ddim`, or `edm_<solver>` (DiffBIR HEAD's EDM sampler). */
  sampler?: DiffbirSamplerName;
  /** η: DDIM's (default 0, as DiffBIR's pipeline) or the EDM solvers' (default 1). */
  eta?: number;
  /** The EDM solvers' other settings (DiffBIR's defaults: s_churn 0, s_tmin 0, s_tmax 300, s_noise 1, order 1). */
  edm?: Partial<Omit<EdmSettings, "eta">>;
  /** Classifier-free guidance scale (default 1). */
  cfg?: number;
  /** Rescale the CFG scale with the timestep (DiffBIR's `--rescale_cfg`). */
  rescaleCfg?: boolean;
  /** Text context for the denoiser's `context` input. */
  context?: { data: Float32Array; dims: readonly number[] };
  /** The negative context (CFG). */
  negativeContext?: { data: Float32Array; dims: readonly number[] };
  /** Control strength (fed to a `strength` input; default 1). */
  strength?: number;
  /** Restoration guidance (v2 semantics), off when absent or scale 0. */
  guidance?: {
    scale: number;
    start?: number;
    stop?: number;
    repeat?: number;
    loss?: "mse" | "wmse";
  };
  /**
   * Start point (DiffBIR HEAD): `noise` (x_T = z, default) or `cond` (x_T = √ā_{T−1} c +
   * √(1 − ā_{T−1}) z, c the condition latent).
   */
  startPoint?: "noise" | "cond";
  /** Noise augmentation of the condition latent at training step k (0: off, the default). */
  noiseAug?: number;
  /** Tiled sampling (and tiled stage 1 and VAE): tile and stride in pixels. */
  tile?: { size: number; stride: number };
  /** Colour fix against the stage-1 output (default wavelet). */
  colorFix?: "wavelet" | "adain" | "none";
  /** Bicubic upscale of the input before stage 1 (default 1). */
  upscale?: number;
  /**
   * DiffBIR HEAD's size rule (512 there; default 0, off): a short edge below it is enlarged to it
   * for the diffusion stage (antialiased bicubic), and the result is resized back.
   */
  minSize?: number;
}

/** The most pixels `minSize` may enlarge an image to (the CLI's default input limit). */
const _MAX_GROWN_PIXELS = 64 * 1024 * 1024;

function _checkEdmSettings(s: EdmSettings): void {
  const bad = (name: string, value: number, rule: string) => {
    throw new UserError(`${name} must be ${rule}, got ${value}`);
  };
  if (!(s.eta >= 0) || !Number.isFinite(s.eta)) bad("--eta", s.eta, ">= 0");
  if (!(s.sChurn >= 0) || !Number.isFinite(s.sChurn)) bad("--s-churn", s.sChurn, ">= 0");
  if (!(s.sNoise >= 0) || !Number.isFinite(s.sNoise)) bad("--s-noise", s.sNoise, ">= 0");
  if (Number.isNaN(s.sTmin) || Number.isNaN(s.sTmax)) bad("--s-tmin/--s-tmax", NaN, "numbers");
  if (!Number.isInteger(s.order) || s.order < 1 || s.order > 4) {
    bad("--order", s.order, "an integer in [1, 4]");
  }
}

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

/**
 * w-MSE weights from the target image (SEEDS.md 3.6): gray of (target+1)/2, replicate pad 1,
 * Sobel magnitude, 2x2 block sums, w = 1 − tanh; here averaged over 8x8 pixel blocks to the
 * latent grid, since guidance runs in latent space (the reference's weight map only fits rgb).
 *
 * @param clean The stage-1 output in [0,1], [1, 3, H, W] (H, W multiples of 8).
 * @returns Weights per latent pixel.
 */
export function wmseLatentWeights(clean: Tensor): Float32Array {
  const [, , h, w] = clean.shape;
  const plane = h * w, d = clean.data;
  const gray = new Float32Array(plane);
  for (let p = 0; p < plane; p++) {
    gray[p] = 0.2989 * d[p] + 0.587 * d[plane + p] + 0.114 * d[2 * plane + p];
  }
  const at = (i: number, j: number) =>
    gray[Math.min(h - 1, Math.max(0, i)) * w + Math.min(w - 1, Math.max(0, j))];
  const mag = new Float32Array(plane);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      const gx = at(i - 1, j - 1) - at(i - 1, j + 1) + 2 * at(i, j - 1) - 2 * at(i, j + 1) +
        at(i + 1, j - 1) - at(i + 1, j + 1);
      const gy = at(i - 1, j - 1) + 2 * at(i - 1, j) + at(i - 1, j + 1) - at(i + 1, j - 1) -
        2 * at(i + 1, j) - at(i + 1, j + 1);
      mag[i * w + j] = Math.sqrt(gx * gx + gy * gy);
    }
  }
  const px = new Float32Array(plane);
  for (let i = 0; i < h; i += 2) {
    for (let j = 0; j < w; j += 2) {
      const s = 1 -
        Math.tanh(
          mag[i * w + j] + mag[i * w + j + 1] + mag[(i + 1) * w + j] + mag[(i + 1) * w + j + 1],
        );
      px[i * w + j] =
        px[i * w + j + 1] =
        px[(i + 1) * w + j] =
        px[(i + 1) * w + j + 1] =
          s;
    }
  }
  const lh = h / 8, lw = w / 8, out = new Float32Array(lh * lw);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      out[Math.floor(i / 8) * lw + Math.floor(j / 8)] += px[i * w + j] / 64;
    }
  }
  return out;
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
 * ```ts ignore
 * import { restoreDiffbir } from "./restore_diffbir.ts";
 * const { image } = await restoreDiffbir(lq, { model: "diffbir/pipeline.json", steps: 50, seed: 231 });
 * ```
 *
 * @param lq The input, [1, 3, h, w] in [0,1].
 * @param options Pipeline and sampler settings.
 * @returns The restored image in [0,1] (unclipped) and a report.
 */
export async function restoreDiffbir(
  lq: Tensor,
  options: DiffbirRestoreOptions,
): Promise<RestoreResult> {
  const t0 = performance.now();
  const steps = options.steps ?? 50;
  const samplerName = options.sampler ?? "spaced";
  if (!DIFFBIR_SAMPLERS.includes(samplerName)) {
    throw new UserError(
      `--sampler must be one of ${DIFFBIR_SAMPLERS.join(", ")}, got '${samplerName}'`,
    );
  }
  const edmSolver = samplerName.startsWith("edm_") ? samplerName.slice(4) as EdmSolver : null;
  const dpmOrder = samplerName.startsWith("dpm++_m")
    ? Number(samplerName.slice(7)) as 1 | 2 | 3
    : 0;
  if (dpmOrder && steps < dpmOrder) {
    throw new UserError(`--sampler ${samplerName} needs --steps >= ${dpmOrder}`);
  }
  const e = options.edm ?? {};
  const edmSettings: EdmSettings = {
    sChurn: e.sChurn ?? EDM_DEFAULTS.sChurn,
    sTmin: e.sTmin ?? EDM_DEFAULTS.sTmin,
    sTmax: e.sTmax ?? EDM_DEFAULTS.sTmax,
    sNoise: e.sNoise ?? EDM_DEFAULTS.sNoise,
    eta: options.eta ?? EDM_DEFAULTS.eta,
    order: e.order ?? EDM_DEFAULTS.order,
  };
  if (samplerName === "ddim" && !((options.eta ?? 0) >= 0 && (options.eta ?? 0) <= 1)) {
    throw new UserError(`--eta must be in [0, 1] for ddim, got ${options.eta}`);
  }
  if (edmSolver) _checkEdmSettings(edmSettings);
  if (options.startPoint !== undefined && !["noise", "cond"].includes(options.startPoint)) {
    throw new UserError(`--start-point must be noise or cond, got '${options.startPoint}'`);
  }
  if (!Number.isInteger(steps) || steps < 1 || steps > 1000) {
    throw new UserError(`--steps must be an integer in [1, 1000], got ${steps}`);
  }
  if (samplerName === "spaced" && steps < 2) {
    throw new UserError(
      "the spaced sampler needs --steps >= 2 (one step has no respacing, as DiffBIR #172)",
    );
  }
  const cfg = options.cfg ?? 1;
  if (!(cfg >= 0) || !Number.isFinite(cfg)) throw new UserError(`--cfg must be >= 0, got ${cfg}`);
  if (
    !(options.minSize === undefined || (Number.isInteger(options.minSize) && options.minSize >= 0))
  ) {
    throw new UserError(`--min-size must be an integer >= 0, got ${options.minSize}`);
  }
  const upscale = options.upscale ?? 1;
  if (!(upscale >= 1) || !Number.isFinite(upscale)) {
    throw new UserError(`--upscale must be >= 1, got ${upscale}`);
  }
  const colorFix = options.colorFix ?? "wavelet";
  if (!["wavelet", "adain", "none"].includes(colorFix)) {
    throw new UserError(`--color-fix must be wavelet, adain or none, got '${colorFix}'`);
  }
  const g = options.guidance;
  const guiding = !!g && g.scale !== 0;
  if (guiding && (edmSolver || dpmOrder)) {
    throw new UserError(
      "restoration guidance works with the spaced sampler only (DiffBIR's EDM and DPM-Solver samplers apply none)",
    );
  }
  if (guiding && options.tile) {
    throw new UserError("restoration guidance cannot be combined with tiling (as in DiffBIR v2)");
  }
  if (guiding && !(g!.repeat === undefined || (Number.isInteger(g!.repeat) && g!.repeat >= 1))) {
    throw new UserError(`--guidance-repeat must be an integer >= 1, got ${g!.repeat}`);
  }
  if (options.tile) {
    const { size, stride } = options.tile;
    if (!Number.isInteger(size) || size < 8 || size % 8 !== 0) {
      throw new UserError(`--tile-size must be a multiple of 8, got ${size}`);
    }
    if (!Number.isInteger(stride) || stride < 8 || stride % 8 !== 0 || stride > size) {
      throw new UserError(`--tile-stride must be a multiple of 8 in [8, tile size], got ${stride}`);
    }
  }
  const models = typeof options.model === "string"
    ? await loadDiffbirPipeline(options.model, {
      runtime: options.runtime,
      threads: options.threads,
      onNote: options.onNote,
      device: options.backend instanceof WebGpuBackend ? options.backend.device : undefined,
    })
    : options.model;
  const den = models.denoiser.manifest;
  const augmentAt = options.noiseAug ?? 0;
  if (!Number.isInteger(augmentAt) || augmentAt < 0 || augmentAt >= den.schedule.trainSteps) {
    throw new UserError(
      `--noise-aug must be an integer in [0, ${
        den.schedule.trainSteps - 1
      }], got ${options.noiseAug}`,
    );
  }
  if ((edmSolver || dpmOrder) && den.prediction !== "eps" && den.prediction !== "v") {
    throw new UserError(
      `--sampler ${samplerName} needs an eps or v denoiser; ${models.denoiser.name} predicts ${den.prediction}`,
    );
  }
  if (dpmOrder && den.timestepDtype !== "float32") {
    throw new UserError(
      `--sampler ${samplerName} feeds fractional timesteps: ${models.denoiser.name} takes ${den.timestepDtype} (it needs "timestep": {"dtype": "float32"})`,
    );
  }
  if (den.inputs.context !== undefined && !options.context) {
    throw new UserError(`${models.denoiser.name} has a 'context' input: give --context f.npy`);
  }
  if (cfg !== 1 && !options.negativeContext) {
    throw new UserError(`--cfg ${cfg} needs both --context and --negative-context`);
  }
  const backend = options.backend ?? new CpuBackend();
  const noise = options.noise ?? new GaussianNoise(options.seed ?? 0);
  const tile = options.tile;

  // stage 1 on the (upscaled) input
  const input = upscale === 1
    ? lq
    : resizeBicubic(lq, Math.round(lq.h * upscale), Math.round(lq.w * upscale), -0.5);
  const s1 = models.stage1;
  const [s1lo, s1hi] = s1.manifest.range;
  const runStage1 = (t: Tensor) =>
    s1.run({ x: t.map((v) => s1lo + (s1hi - s1lo) * v) }, "stage 1").then((o) =>
      o.map((v) => (v - s1lo) / (s1hi - s1lo))
    );
  // HEAD's SwinIR pipeline: a short edge below minSize is enlarged to it (before stage 1, or
  // after it when tiled), and the result is resized back at the end
  const minSize = options.minSize ?? 0;
  const grow = (t: Tensor) => {
    const [, , h, w] = t.shape;
    if (Math.min(h, w) >= minSize) return t;
    const [oh, ow] = h === w
      ? [minSize, minSize]
      : h < w
      ? [minSize, Math.trunc(w * (minSize / h))]
      : [Math.trunc(h * (minSize / w)), minSize];
    if (oh * ow > _MAX_GROWN_PIXELS) {
      throw new UserError(
        `--min-size ${minSize} would enlarge the ${w}x${h} image to ${ow}x${oh}; the limit is ${_MAX_GROWN_PIXELS} pixels`,
      );
    }
    return resizeBicubicAntialias(t, oh, ow);
  };
  const clean = tile
    ? grow(await tiledApply(input, tile.size, tile.stride, s1.manifest.spatialFactor, runStage1))
    : await runStage1(grow(input));
  const outputSize = [input.h * s1.manifest.spatialFactor, input.w * s1.manifest.spatialFactor];
  const [, , h0, w0] = clean.shape;
  const padded = _pad(clean, tile ? 8 : 64);

  // condition latent: scaleFactor · E(2·clean − 1), the encoder's latent mean
  const enc = models.encoder, sf = models.scaleFactor;
  const [elo, ehi] = enc.manifest.range;
  const encode = (t: Tensor) =>
    enc.run({ x: t.map((v) => elo + (ehi - elo) * v) }, "VAE encoder").then((o) =>
      o.map((v) => sf * v)
    );
  let cond = tile
    ? await tiledApply(padded, tile.size, tile.stride, 1 / enc.manifest.spatialFactor, encode)
    : await encode(padded);
  const latentShape = cond.shape;
  const target = cond;

  // the denoiser call, tiled (Gaussian-weighted model outputs) or whole, on the backend: with
  // the WebGPU backend and runtime, latents, tiles and outputs never leave the device
  const strength = options.strength ?? 1;
  const caller = deviceCaller(backend, models.denoiser);
  const plan = tile
    ? tilePlan(latentShape[2], latentShape[3], tile.size / 8, tile.stride / 8)
    : null;
  const tileAcc = Tensor.zeros(latentShape);
  const tileX = plan ? Tensor.zeros([latentShape[0], latentShape[1], plan.th, plan.tw]) : null;
  const tileCond = plan ? Tensor.zeros([cond.n, cond.c, plan.th, plan.tw]) : null;
  const callDenoiser = async (
    x: Tensor,
    t: number,
    context: { data: Float32Array; dims: readonly number[] } | undefined,
    label: string,
  ): Promise<Tensor> => {
    if (!plan) return await caller.call({ x, t, cond, context, strength }, label);
    backend.combine(tileAcc, [[0, tileAcc]]);
    for (const o of plan.origins) {
      const out = await caller.call({
        x: backend.crop(tileX!, x, o.y, o.x),
        t,
        cond: backend.crop(tileCond!, cond, o.y, o.x),
        context,
        strength,
      }, label);
      backend.accumulate(tileAcc, out, plan.weights, o.y, o.x);
    }
    return backend.mulMap(Tensor.zeros(x.shape), tileAcc, plan.inverseWeightSum);
  };
  // DiffBIR rescales the CFG scale only when asked and above 1
  const cfgScaleAt = (t: number) => options.rescaleCfg && cfg > 1 ? rescaledCfgScale(cfg, t) : cfg;
  const cfgOn = cfg !== 1 && !!options.negativeContext;
  /**
   * The conditional pass and, with CFG, the unconditional one, each passed through `keep`
   * (which turns the output into what the sampler guides, in a tensor that outlives the next
   * call), then u + s (c − u).
   */
  const guidedPass = async (
    x: Tensor,
    t: number,
    label: string,
    keep: (output: Tensor, unconditional: boolean) => Tensor,
    scale: number,
  ): Promise<Tensor> => {
    const c = keep(await callDenoiser(x, t, options.context, label), false);
    if (!cfgOn) return c;
    const u = keep(
      await callDenoiser(x, t, options.negativeContext, `${label} (unconditional)`),
      true,
    );
    return cfgCombine(backend, c, u, scale);
  };
  // the spaced and DDIM samplers guide the raw output; a zero-copy one is rewritten by the
  // runtime at the next call, so the conditional one is copied when a second pass follows
  const guidedOutput = (x: Tensor, t: number, label: string) =>
    guidedPass(
      x,
      t,
      label,
      (o, unconditional) =>
        !unconditional && cfgOn && caller.zeroCopy && !plan
          ? backend.combine(Tensor.zeros(o.shape), [[1, o]])
          : o,
      cfgScaleAt(t),
    );

  const edmGrid = edmSolver ? edmSchedule(den.schedule, steps) : null;
  const draws = samplerName === "spaced"
    ? steps
    : dpmOrder
    ? 0
    : edmGrid
    ? edmDraws(edmSolver!, edmGrid, edmSettings)
    : ddimSchedule(den.schedule, steps).timesteps.length;
  const noiseAug = options.noiseAug ?? 0;
  noise.require(
    (1 + (noiseAug > 0 ? 1 : 0) + draws) * latentShape[0] * latentShape[1] * latentShape[2] *
      latentShape[3],
  );
  const x = backend.randn(Tensor.zeros(latentShape), noise);
  // the reference's q_sample(c, t, z) = √ā_t c + √(1 − ā_t) z, for the start point and the
  // noise augmentation of the condition (which the unconditional pass shares)
  const alphaBars = latentAlphaBar(den.schedule);
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
  const z = Tensor.zeros(latentShape);
  const x0 = Tensor.zeros(latentShape);
  const guidance: GuidanceSettings | null = guiding
    ? {
      scale: g!.scale,
      start: g!.start ?? 1001,
      stop: g!.stop ?? -1,
      repeat: g!.repeat ?? 1,
      weights: g!.loss === "wmse" ? wmseLatentWeights(padded) : null,
    }
    : null;
  // decode: (D(z / scaleFactor) + 1)/2 (tiled like the sampling), cropped to the stage-1 size
  const dec = models.decoder;
  const [dlo, dhi] = dec.manifest.range;
  const decodeTile = (t: Tensor) =>
    dec.run({ x: t.map((v) => v / sf) }, "VAE decoder").then((o) =>
      o.map((v) => (v - dlo) / (dhi - dlo))
    );
  const decode = async (latent: Tensor) => {
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
  // progress previews decode the step's x0 latent (read now, before the next step rewrites it)
  const progress = (step: number, x0Latent: Tensor, total = draws) =>
    options.onProgress?.(
      singleWindowProgress(
        step,
        total,
        models.denoiser.runtime,
        async () => await decode((await backend.read(x0Latent)).clone()),
      ),
    );
  const check = () => {
    if (options.signal?.aborted) {
      throw options.signal.reason ?? new DOMException("aborted", "AbortError");
    }
  };
  if (edmGrid) {
    // the Karras denoiser D = c_skip x + c_out F(c_in x, τ(σ)); CFG acts on D, as the reference
    const xIn = Tensor.zeros(latentShape), dUncond = Tensor.zeros(latentShape);
    let label = "";
    const denoise: EdmDenoiser = async (xs, sigma, out) => {
      const { cSkip, cOut, cIn } = edmScalings(sigma, den.prediction);
      const t = edmTimestep(edmGrid, sigma);
      backend.combine(xIn, [[cIn, xs]]);
      const toDenoised = (o: Tensor, unconditional: boolean) =>
        backend.combine(unconditional ? dUncond : out, [[cOut, o], [cSkip, xs]]);
      return await guidedPass(xIn, t, `${label} (t=${t})`, toDenoised, cfgScaleAt(t));
    };
    backend.combine(x, [[edmInitialScale(edmGrid), x]]);
    label = `step 1/${steps}`;
    await edmSample(denoise, backend, x, edmGrid, edmSolver!, edmSettings, noise, {
      check,
      onStep: (i, n, denoised) => {
        label = `step ${i + 1}/${n}`;
        progress(i, denoised, n);
      },
    });
  } else if (dpmOrder) {
    // the reference's model_wrapper: the output to noise, CFG on noise, then x0 = (x − σ ε)/α
    const vp = vpSchedule(den.schedule);
    const noiseC = Tensor.zeros(latentShape), noiseU = Tensor.zeros(latentShape);
    let step = 1;
    const predict: DataPredictor = async (xs, t, out) => {
      const { alpha, sigma } = vpMarginals(vp, t), tIn = dpmModelTime(vp, t);
      const toNoise = (o: Tensor, into: Tensor) =>
        den.prediction === "v"
          ? backend.combine(into, [[alpha, o], [sigma, xs]])
          : backend.combine(into, [[1, o]]);
      const label = `step ${step}/${steps} (t=${tIn.toFixed(1)})`;
      // this wrapper rescales whenever asked, not only above 1
      const scale = options.rescaleCfg ? rescaledCfgScale(cfg, tIn) : cfg;
      const eps = await guidedPass(
        xs,
        tIn,
        label,
        (o, unconditional) => toNoise(o, unconditional ? noiseU : noiseC),
        scale,
      );
      return backend.combine(out, [[1 / alpha, xs], [-sigma / alpha, eps]]);
    };
    await dpmSolverSample(predict, backend, x, vp, steps, dpmOrder, {
      check,
      onStep: (i, n, x0Now) => {
        step = i + 1;
        progress(i, x0Now, n);
      },
    });
  } else if (samplerName === "spaced") {
    const s = spacedSchedule(den.schedule, steps);
    for (let k = steps - 1; k >= 0; k--) {
      check();
      const t = s.timesteps[k];
      const out = await guidedOutput(x, t, `step ${steps - k}/${steps} (t=${t})`);
      predictX0(backend, x0, x, out, s.alphaBar[k], den.prediction);
      if (guidance) applyLatentGuidance(backend, x0, target, s.coef1[k], t, guidance);
      backend.randn(z, noise);
      spacedStep(backend, x, x0, s, k, z);
      progress(steps - k, x0);
    }
  } else {
    const s = ddimSchedule(den.schedule, steps);
    const scratch = { eps: Tensor.zeros(latentShape), x0 };
    for (let k = s.timesteps.length - 1; k >= 0; k--) {
      check();
      const t = s.timesteps[k];
      const out = await guidedOutput(x, t, `step ${draws - k}/${draws} (t=${t})`);
      backend.randn(z, noise);
      ddimStep(backend, x, out, s, k, options.eta ?? 0, den.prediction, z, scratch);
      progress(draws - k, x0);
    }
  }

  // decode, then the colour fix
  await caller.finish();
  await backend.read(x);
  const image = await decode(x);
  const fixedAtSize = colorFix === "wavelet"
    ? await backend.read(waveletReconstruction(image, clean, backend))
    : colorFix === "adain"
    ? adainColorFix(image, clean)
    : image;
  const fixed = fixedAtSize.h === outputSize[0] && fixedAtSize.w === outputSize[1]
    ? fixedAtSize
    : resizeBicubicAntialias(fixedAtSize, outputSize[0], outputSize[1]);
  return {
    image: fixed,
    model: typeof options.model === "string" ? options.model : models.denoiser.name,
    runtime: models.denoiser.runtime,
    backend: backend.name,
    calls: models.denoiser.stats.calls,
    seconds: (performance.now() - t0) / 1000,
  };
}
