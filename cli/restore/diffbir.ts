/**
 * `restore --method diffbir`: the pipeline, sampler, guidance, tiling and colour fix from the flags.
 *
 * @module
 */

import { numberFlag, type NumberRule, type ParsedArgs, UsageError } from "../args.ts";
import { readNpyFile } from "../../lib/npy.ts";
import { grayToRgb } from "../../lib/tensor.ts";
import {
  type DiffbirRestoreOptions,
  type DiffbirSampler,
  diffbirSamplerNamed,
  resolveDiffbirSampling,
} from "../../pipelines/diffbir_options.ts";
import type { EdmSettings } from "../../samplers/edm.ts";
import { cachedModel, checkOutputSize, type MethodRunner, runOptions } from "./context.ts";
import { stringFlag } from "./flags.ts";

async function readContext(path: string): Promise<{ data: Float32Array; dims: number[] }> {
  const a = await readNpyFile(path, `context file ${path} not found`);
  return { data: a.data, dims: a.shape };
}

/**
 * Check --method diffbir's flags and settings (before the pipeline loads) and return the runner of
 * one image.
 *
 * @param v Parsed flags.
 * @returns The runner.
 */
export async function planDiffbir(v: ParsedArgs["values"]): Promise<MethodRunner> {
  const model = stringFlag(v.model);
  if (!model) {
    throw new UsageError(
      '--method diffbir needs --model pipeline.json (a "diffbir-pipeline" manifest)',
    );
  }
  // --scale, as the other methods say it; --upscale, as DiffBIR says it
  if (v.scale !== undefined && v.upscale !== undefined) {
    throw new UsageError("--scale and --upscale are the same setting: give one");
  }
  const flag = v.scale !== undefined ? "scale" : "upscale";
  const upscale = numberFlag(v, flag, 1, { min: 1 });
  if (v.task !== undefined) {
    throw new UsageError("--task applies to --method ddnm or irsde; DiffBIR is blind restoration");
  }
  if (v.mask !== undefined) throw new UsageError("--mask applies to --method ddnm or irsde");
  const space = stringFlag(v["guidance-space"]) ?? "latent";
  if (space !== "latent") {
    throw new UsageError(
      `--guidance-space ${space}: only latent guidance is offered (rgb guidance needs the VAE decoder's gradient, which an ONNX inference graph does not give)`,
    );
  }
  const loss = stringFlag(v["guidance-loss"]) ?? "mse";
  if (loss !== "mse" && loss !== "wmse") {
    throw new UsageError(`--guidance-loss must be mse or wmse, got '${loss}'`);
  }
  // flags left out take the sampler's own defaults
  const optional = (name: string, rule: NumberRule = {}) => numberFlag(v, name, undefined, rule);
  const tileSize = optional("tile-size", { integer: true, min: 8 });
  const tileStride = optional("tile-stride", { integer: true, min: 8 });
  if ((tileSize === undefined) !== (tileStride === undefined)) {
    throw new UsageError("--tile-size and --tile-stride go together");
  }
  const sampler = stringFlag(v.sampler) ?? "spaced";
  if (!sampler.startsWith("edm_")) {
    for (const flag of ["s-churn", "s-tmin", "s-tmax", "s-noise", "order"]) {
      if (v[flag] !== undefined) {
        throw new UsageError(`--${flag} applies to the edm_* samplers, not --sampler ${sampler}`);
      }
    }
  }
  const options: DiffbirRestoreOptions = {
    model,
    steps: optional("steps", { integer: true, min: 1, max: 1000 }),
    sampler: _sampler(sampler, {
      eta: optional("eta", { min: 0 }),
      sChurn: optional("s-churn", { min: 0 }),
      sTmin: optional("s-tmin"),
      sTmax: optional("s-tmax"),
      sNoise: optional("s-noise", { min: 0 }),
      order: optional("order", { integer: true, min: 1, max: 4 }),
    }),
    cfg: numberFlag(v, "cfg", 1, { min: 0 }),
    rescaleCfg: v["rescale-cfg"] === true,
    context: typeof v.context === "string" ? await readContext(v.context) : undefined,
    negativeContext: typeof v["negative-context"] === "string"
      ? await readContext(v["negative-context"])
      : undefined,
    strength: numberFlag(v, "strength", 1, { min: 0 }),
    prompt: stringFlag(v.prompt),
    negativePrompt: stringFlag(v["negative-prompt"]),
    guidance: {
      scale: numberFlag(v, "guidance-scale", 0, { min: 0 }),
      start: numberFlag(v, "guidance-start", 1001),
      stop: numberFlag(v, "guidance-stop", -1),
      repeat: numberFlag(v, "guidance-repeat", 1, { integer: true, min: 1 }),
      loss,
    },
    startPoint: (stringFlag(v["start-point"]) ?? "noise") as "noise" | "cond",
    noiseAug: optional("noise-aug", { integer: true, min: 0, max: 999 }),
    minSize: optional("min-size", { integer: true, min: 0, max: 4096 }),
    tile: tileSize === undefined ? undefined : { size: tileSize, stride: tileStride! },
    colorFix: (stringFlag(v["color-fix"]) ?? "wavelet") as "wavelet" | "adain" | "none",
    upscale,
  };
  resolveDiffbirSampling(options); // every check that needs no network, now
  const { restoreDiffbir } = await import("../../pipelines/restore_diffbir.ts"); // loaded only for DiffBIR runs
  return async (ctx) => {
    checkOutputSize(ctx, upscale, `--${flag} ${upscale}`);
    return await restoreDiffbir(ctx.observed.c === 1 ? grayToRgb(ctx.observed) : ctx.observed, {
      ...options,
      model: await cachedModel(ctx, "pipeline", model),
      ...runOptions(ctx),
    });
  };
}

/** The sampler union from --sampler NAME and the flags that tune it. */
function _sampler(name: string, tuning: Partial<EdmSettings>): DiffbirSampler {
  const sampler = diffbirSamplerNamed(name);
  if (sampler.name === "edm") return { ...sampler, ...tuning };
  if (sampler.name === "ddim") return { ...sampler, eta: tuning.eta };
  if (tuning.eta !== undefined) {
    throw new UsageError(`--eta applies to the ddim and edm_* samplers, not --sampler ${name}`);
  }
  return sampler;
}
