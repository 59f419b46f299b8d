/**
 * `restoreDiffbir`'s options, DiffBIR's sampler names, and the checks that run before any
 * network loads (each a one-line {@linkcode UserError}).
 *
 * @module
 */

import { UserError } from "../lib/errors.ts";
import { EDM_DEFAULTS, EDM_SOLVERS, type EdmSettings, type EdmSolver } from "../samplers/edm.ts";
import type { DiffbirModels } from "./diffbir_pipeline.ts";
import type { RunOptions } from "./run.ts";

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
  /** Text context for the denoiser's `context` input (overrides `prompt`). */
  context?: { data: Float32Array; dims: readonly number[] };
  /** The negative context (CFG; overrides `negativePrompt`). */
  negativeContext?: { data: Float32Array; dims: readonly number[] };
  /** The prompt, encoded by the pipeline's text encoder (default: the pipeline's, else ""). */
  prompt?: string;
  /** The negative prompt for CFG (default: the pipeline's, else DiffBIR v2's). */
  negativePrompt?: string;
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

function _checkEdmSettings(s: EdmSettings): void {
  const bad = (name: string, value: number, rule: string) => {
    throw new UserError(`${name} must be ${rule}, got ${value}`);
  };
  if (!(s.eta >= 0) || !Number.isFinite(s.eta)) bad("eta", s.eta, ">= 0");
  if (!(s.sChurn >= 0) || !Number.isFinite(s.sChurn)) bad("sChurn", s.sChurn, ">= 0");
  if (!(s.sNoise >= 0) || !Number.isFinite(s.sNoise)) bad("sNoise", s.sNoise, ">= 0");
  if (Number.isNaN(s.sTmin) || Number.isNaN(s.sTmax)) bad("sTmin/sTmax", NaN, "numbers");
  if (!Number.isInteger(s.order) || s.order < 1 || s.order > 4) {
    bad("order", s.order, "an integer in [1, 4]");
  }
}

/** The sampler settings a DiffBIR run resolves from its options. */
export interface DiffbirSampling {
  /** Sampling steps. */
  steps: number;
  /** The sampler. */
  sampler: DiffbirSamplerName;
  /** The EDM solver (`edm_*` samplers), or null. */
  edmSolver: EdmSolver | null;
  /** The DPM-Solver++ order (`dpm++_m*`), or 0. */
  dpmOrder: 0 | 1 | 2 | 3;
  /** The EDM solvers' settings (DiffBIR's defaults where not given). */
  edm: EdmSettings;
  /** The CFG scale. */
  cfg: number;
  /** The input's bicubic upscale. */
  upscale: number;
  /** The colour fix. */
  colorFix: "wavelet" | "adain" | "none";
  /** Whether restoration guidance is on. */
  guiding: boolean;
}

/**
 * Check a DiffBIR run's options and resolve its sampler settings (before any network loads).
 *
 * @example
 * ```ts
 * import { resolveDiffbirSampling } from "./diffbir_options.ts";
 * const s = resolveDiffbirSampling({ model: "pipeline.json", sampler: "edm_dpm++_3m_sde", steps: 10 });
 * console.log(s.edmSolver, s.edm.eta); // dpm++_3m_sde 1
 * ```
 *
 * @param options The run's options.
 * @returns The resolved settings.
 */
export function resolveDiffbirSampling(options: DiffbirRestoreOptions): DiffbirSampling {
  const steps = options.steps ?? 50;
  const samplerName = options.sampler ?? "spaced";
  if (!DIFFBIR_SAMPLERS.includes(samplerName)) {
    throw new UserError(
      `sampler must be one of ${DIFFBIR_SAMPLERS.join(", ")}, got '${samplerName}'`,
    );
  }
  const edmSolver = samplerName.startsWith("edm_") ? samplerName.slice(4) as EdmSolver : null;
  const dpmOrder = samplerName.startsWith("dpm++_m")
    ? Number(samplerName.slice(7)) as 1 | 2 | 3
    : 0;
  if (dpmOrder && steps < dpmOrder) {
    throw new UserError(`sampler ${samplerName} needs --steps >= ${dpmOrder}`);
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
    throw new UserError(`eta must be in [0, 1] for ddim, got ${options.eta}`);
  }
  if (edmSolver) _checkEdmSettings(edmSettings);
  if (options.startPoint !== undefined && !["noise", "cond"].includes(options.startPoint)) {
    throw new UserError(`startPoint must be noise or cond, got '${options.startPoint}'`);
  }
  if (!Number.isInteger(steps) || steps < 1 || steps > 1000) {
    throw new UserError(`steps must be an integer in [1, 1000], got ${steps}`);
  }
  if (samplerName === "spaced" && steps < 2) {
    throw new UserError(
      "the spaced sampler needs --steps >= 2 (one step has no respacing, as DiffBIR #172)",
    );
  }
  const cfg = options.cfg ?? 1;
  if (!(cfg >= 0) || !Number.isFinite(cfg)) throw new UserError(`cfg must be >= 0, got ${cfg}`);
  if (
    !(options.minSize === undefined || (Number.isInteger(options.minSize) && options.minSize >= 0))
  ) {
    throw new UserError(`minSize must be an integer >= 0, got ${options.minSize}`);
  }
  const upscale = options.upscale ?? 1;
  if (!(upscale >= 1) || !Number.isFinite(upscale)) {
    throw new UserError(`upscale must be >= 1, got ${upscale}`);
  }
  const colorFix = options.colorFix ?? "wavelet";
  if (!["wavelet", "adain", "none"].includes(colorFix)) {
    throw new UserError(`colorFix must be wavelet, adain or none, got '${colorFix}'`);
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
    throw new UserError(`guidanceRepeat must be an integer >= 1, got ${g!.repeat}`);
  }
  if (options.tile) {
    const { size, stride } = options.tile;
    if (!Number.isInteger(size) || size < 8 || size % 8 !== 0) {
      throw new UserError(`tileSize must be a multiple of 8, got ${size}`);
    }
    if (!Number.isInteger(stride) || stride < 8 || stride % 8 !== 0 || stride > size) {
      throw new UserError(`tileStride must be a multiple of 8 in [8, tile size], got ${stride}`);
    }
  }
  return {
    steps,
    sampler: samplerName,
    edmSolver,
    dpmOrder,
    edm: edmSettings,
    cfg,
    upscale,
    colorFix: colorFix as DiffbirSampling["colorFix"],
    guiding,
  };
}

/**
 * Check the loaded networks against the run's options: the noise-augmentation step, what the
 * EDM and DPM-Solver samplers need of the denoiser, the contexts CFG needs.
 *
 * @param models The pipeline.
 * @param options The run's options.
 * @param sampling The resolved sampler settings.
 */
export function checkDiffbirModels(
  models: DiffbirModels,
  options: DiffbirRestoreOptions,
  sampling: DiffbirSampling,
): void {
  if ((options.prompt !== undefined || options.negativePrompt !== undefined) && !models.text) {
    throw new UserError(
      "prompt needs a pipeline with a text encoder (tools/export/diffbir.py exports one); or give --context f.npy",
    );
  }
  const den = models.denoiser.manifest, name = models.denoiser.name;
  const { sampler, edmSolver, dpmOrder, cfg } = sampling;
  const augmentAt = options.noiseAug ?? 0;
  if (!Number.isInteger(augmentAt) || augmentAt < 0 || augmentAt >= den.schedule.trainSteps) {
    throw new UserError(
      `noiseAug must be an integer in [0, ${den.schedule.trainSteps - 1}], got ${options.noiseAug}`,
    );
  }
  if ((edmSolver || dpmOrder) && den.prediction !== "eps" && den.prediction !== "v") {
    throw new UserError(
      `sampler ${sampler} needs an eps or v denoiser; ${name} predicts ${den.prediction}`,
    );
  }
  if (dpmOrder && den.timestepDtype !== "float32") {
    throw new UserError(
      `sampler ${sampler} feeds fractional timesteps: ${name} takes ${den.timestepDtype} (it needs "timestep": {"dtype": "float32"})`,
    );
  }
  if (den.inputs.context !== undefined && !options.context && !models.text) {
    throw new UserError(
      `${name} has a 'context' input: give --context f.npy (or use a pipeline with a text encoder)`,
    );
  }
  if (cfg !== 1 && !options.negativeContext && !models.text) {
    throw new UserError(`cfg ${cfg} needs both --context and --negative-context`);
  }
}
