/**
 * `restoreDiffbir`'s options, DiffBIR's sampler names, and the checks that run before any
 * network loads (each a one-line {@linkcode UserError}).
 *
 * @module
 */

import { UserError } from "../lib/errors.ts";
import { EDM_DEFAULTS, EDM_SOLVERS, type EdmSettings, type EdmSolver } from "../samplers/edm.ts";
import type { DiffbirModels } from "./diffbir_pipeline.ts";
import type { RestoreOptions } from "./run.ts";

/** DiffBIR's samplers by CLI name: spaced DDPM, DDIM, EDM with a k-diffusion solver, or DPM-Solver++. */
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

/**
 * DiffBIR's sampler, with the settings that belong to it: the spaced DDPM (DiffBIR's default),
 * DDIM with its η (default 0), EDM with a k-diffusion solver and its settings (DiffBIR's defaults:
 * η 1, s_churn 0, s_tmin 0, s_tmax 300, s_noise 1, order 1), or DPM-Solver++ multistep of an order.
 */
export type DiffbirSampler =
  | { name: "spaced" }
  | { name: "ddim"; eta?: number }
  | ({ name: "edm"; solver: EdmSolver } & Partial<EdmSettings>)
  | { name: "dpm++"; order: 1 | 2 | 3 };

/** A {@linkcode DiffbirSampler} with every setting resolved. */
export type ResolvedDiffbirSampler =
  | { name: "spaced" }
  | { name: "ddim"; eta: number }
  | { name: "edm"; solver: EdmSolver; settings: EdmSettings }
  | { name: "dpm++"; order: 1 | 2 | 3 };

/**
 * The sampler a CLI name stands for (`spaced`, `ddim`, `edm_<solver>`, `dpm++_m<order>`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { diffbirSamplerNamed } from "@diffrestore/sampler";
 *
 * assert.deepEqual(diffbirSamplerNamed("dpm++_m2"), { name: "dpm++", order: 2 });
 * assert.deepEqual(diffbirSamplerNamed("edm_heun"), { name: "edm", solver: "heun" });
 * ```
 *
 * @param name The name.
 * @returns The sampler, with its own settings left to their defaults.
 */
export function diffbirSamplerNamed(name: string): DiffbirSampler {
  if (!(DIFFBIR_SAMPLERS as readonly string[]).includes(name)) {
    throw UserError.option("sampler", `one of ${DIFFBIR_SAMPLERS.join(", ")}`, name);
  }
  if (name === "spaced" || name === "ddim") return { name };
  if (name.startsWith("edm_")) return { name: "edm", solver: name.slice(4) as EdmSolver };
  return { name: "dpm++", order: Number(name.slice(7)) as 1 | 2 | 3 };
}

/** Options of {@linkcode restoreDiffbir}: the shared {@linkcode RestoreOptions} (the model is a
 * pipeline, loaded or a pipeline manifest path, and has no default; steps default to 50; DiffBIR
 * takes no mask) and DiffBIR's own. */
export interface DiffbirRestoreOptions extends RestoreOptions<DiffbirModels | string> {
  /** The sampler and its settings (default `{ name: "spaced" }`). */
  sampler?: DiffbirSampler;
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
  const bad = (name: keyof EdmSettings, rule: string) => {
    throw UserError.option(`sampler.${name}`, rule, s[name]);
  };
  if (!(s.eta >= 0) || !Number.isFinite(s.eta)) bad("eta", ">= 0");
  if (!(s.sChurn >= 0) || !Number.isFinite(s.sChurn)) bad("sChurn", ">= 0");
  if (!(s.sNoise >= 0) || !Number.isFinite(s.sNoise)) bad("sNoise", ">= 0");
  if (Number.isNaN(s.sTmin)) bad("sTmin", "a number");
  if (Number.isNaN(s.sTmax)) bad("sTmax", "a number");
  if (!Number.isInteger(s.order) || s.order < 1 || s.order > 4) {
    bad("order", "an integer in [1, 4]");
  }
}

/** The sampler with its defaults filled in, checked against the step count. */
function _resolveSampler(sampler: DiffbirSampler, steps: number): ResolvedDiffbirSampler {
  switch (sampler.name) {
    case "spaced":
      if (steps < 2) {
        // one step has no respacing, as DiffBIR #172
        throw UserError.option("steps", "at least 2 for the spaced sampler", steps);
      }
      return sampler;
    case "ddim": {
      const eta = sampler.eta ?? 0;
      if (!(eta >= 0 && eta <= 1)) throw UserError.option("sampler.eta", "in [0, 1]", eta);
      return { name: "ddim", eta };
    }
    case "edm": {
      if (!EDM_SOLVERS.includes(sampler.solver)) {
        throw UserError.option(
          "sampler.solver",
          `one of ${EDM_SOLVERS.join(", ")}`,
          sampler.solver,
        );
      }
      const pick = (k: keyof EdmSettings) => sampler[k] ?? EDM_DEFAULTS[k];
      const settings: EdmSettings = {
        sChurn: pick("sChurn"),
        sTmin: pick("sTmin"),
        sTmax: pick("sTmax"),
        sNoise: pick("sNoise"),
        eta: pick("eta"),
        order: pick("order"),
      };
      _checkEdmSettings(settings);
      return { name: "edm", solver: sampler.solver, settings };
    }
    case "dpm++":
      if (![1, 2, 3].includes(sampler.order)) {
        throw UserError.option("sampler.order", "1, 2 or 3", sampler.order);
      }
      if (steps < sampler.order) {
        throw UserError.option(
          "steps",
          `at least ${sampler.order} for DPM-Solver++ of that order`,
          steps,
        );
      }
      return sampler;
    default:
      throw UserError.option(
        "sampler.name",
        "spaced, ddim, edm or dpm++",
        (sampler as { name: unknown }).name,
      );
  }
}

/** The sampler settings a DiffBIR run resolves from its options. */
export interface DiffbirSampling {
  /** Sampling steps. */
  steps: number;
  /** The sampler, its settings resolved. */
  sampler: ResolvedDiffbirSampler;
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
 * import assert from "node:assert/strict";
 * import { resolveDiffbirSampling } from "./diffbir_options.ts";
 *
 * const s = resolveDiffbirSampling({
 *   model: "pipeline.json",
 *   sampler: { name: "edm", solver: "dpm++_3m_sde" },
 *   steps: 10,
 * });
 * assert.equal(s.sampler.name === "edm" && s.sampler.settings.eta, 1);
 * ```
 *
 * @param options The run's options.
 * @returns The resolved settings.
 */
export function resolveDiffbirSampling(options: DiffbirRestoreOptions): DiffbirSampling {
  if (options.model === undefined) {
    throw UserError.about("model", "DiffBIR has no built-in pipeline: give a pipeline manifest");
  }
  const steps = options.steps ?? 50;
  if (!Number.isInteger(steps) || steps < 1 || steps > 1000) {
    throw UserError.option("steps", "an integer in [1, 1000]", steps);
  }
  const sampler = _resolveSampler(options.sampler ?? { name: "spaced" }, steps);
  if (options.startPoint !== undefined && !["noise", "cond"].includes(options.startPoint)) {
    throw UserError.option("startPoint", "noise or cond", options.startPoint);
  }
  if (options.mask !== undefined) throw UserError.about("mask", "DiffBIR takes no mask");
  const cfg = options.cfg ?? 1;
  if (!(cfg >= 0) || !Number.isFinite(cfg)) throw UserError.option("cfg", ">= 0", cfg);
  if (
    !(options.minSize === undefined || (Number.isInteger(options.minSize) && options.minSize >= 0))
  ) {
    throw UserError.option("minSize", "an integer >= 0", options.minSize);
  }
  const upscale = options.upscale ?? 1;
  if (!(upscale >= 1) || !Number.isFinite(upscale)) {
    throw UserError.option("upscale", ">= 1", upscale);
  }
  const colorFix = options.colorFix ?? "wavelet";
  if (!["wavelet", "adain", "none"].includes(colorFix)) {
    throw UserError.option("colorFix", "wavelet, adain or none", colorFix);
  }
  const g = options.guidance;
  const guiding = !!g && g.scale !== 0;
  if (guiding && (sampler.name === "edm" || sampler.name === "dpm++")) {
    throw UserError.about(
      "guidance",
      "restoration guidance works with the spaced and DDIM samplers only (DiffBIR's EDM and DPM-Solver samplers apply none)",
    );
  }
  if (guiding && options.tile) {
    throw UserError.about(
      "guidance",
      "restoration guidance cannot be combined with tiling (as in DiffBIR v2)",
    );
  }
  if (guiding && !(g!.repeat === undefined || (Number.isInteger(g!.repeat) && g!.repeat >= 1))) {
    throw UserError.option("guidance.repeat", "an integer >= 1", g!.repeat);
  }
  if (options.tile) {
    const { size, stride } = options.tile;
    if (!Number.isInteger(size) || size < 8 || size % 8 !== 0) {
      throw UserError.option("tile.size", "a multiple of 8", size);
    }
    if (!Number.isInteger(stride) || stride < 8 || stride % 8 !== 0 || stride > size) {
      throw UserError.option("tile.stride", "a multiple of 8 in [8, tile.size]", stride);
    }
  }
  return {
    steps,
    sampler,
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
    throw UserError.about(
      "prompt",
      "prompt needs a pipeline with a text encoder (tools/export/diffbir.py exports one), or a context",
    );
  }
  const den = models.denoiser.manifest, name = models.denoiser.name;
  const { sampler, cfg } = sampling;
  const label = sampler.name === "edm" ? `EDM (${sampler.solver})` : "DPM-Solver++";
  const augmentAt = options.noiseAug ?? 0;
  if (!Number.isInteger(augmentAt) || augmentAt < 0 || augmentAt >= den.schedule.trainSteps) {
    throw UserError.option(
      "noiseAug",
      `an integer in [0, ${den.schedule.trainSteps - 1}]`,
      options.noiseAug,
    );
  }
  const karras = sampler.name === "edm" || sampler.name === "dpm++";
  if (karras && den.prediction !== "eps" && den.prediction !== "v") {
    throw UserError.about(
      "sampler",
      `${label} needs an eps or v denoiser; ${name} predicts ${den.prediction}`,
    );
  }
  if (sampler.name === "dpm++" && den.timestepDtype !== "float32") {
    throw UserError.about(
      "sampler",
      `${label} feeds fractional timesteps: ${name} takes ${den.timestepDtype} (it needs "timestep": {"dtype": "float32"})`,
    );
  }
  if (den.inputs.context !== undefined && !options.context && !models.text) {
    throw UserError.about(
      "context",
      `${name} has a 'context' input: give a context (or use a pipeline with a text encoder)`,
    );
  }
  if (cfg !== 1 && !options.negativeContext && !models.text) {
    throw UserError.about("negativeContext", `cfg ${cfg} needs both a context and a negative one`);
  }
}
