/**
 * `restore --method diffbir`: the pipeline, sampler, guidance, tiling and colour fix from the flags.
 *
 * @module
 */

import { numberFlag, UsageError } from "../args.ts";
import { readNpyFile } from "../../lib/npy.ts";
import { grayToRgb } from "../../lib/tensor.ts";
import type { RestoreResult } from "../../pipelines/run.ts";
import type { DiffbirSamplerName } from "../../pipelines/diffbir_options.ts";
import { cachedModel, checkOutputSize, type RestoreContext, runOptions } from "./context.ts";
import { stringFlag } from "./flags.ts";

async function readContext(path: string): Promise<{ data: Float32Array; dims: number[] }> {
  const a = await readNpyFile(path, `context file ${path} not found`);
  return { data: a.data, dims: a.shape };
}

/**
 * Run one image with --method diffbir.
 *
 * @param ctx The run.
 * @returns The result.
 */
export async function runDiffbir(ctx: RestoreContext): Promise<RestoreResult> {
  const v = ctx.values;
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
  checkOutputSize(ctx, upscale, `--${flag} ${upscale}`);
  if (v.task !== undefined) {
    throw new UsageError("--task applies to --method ddnm or irsde; DiffBIR is blind restoration");
  }
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
  const tileSize = v["tile-size"] === undefined
    ? undefined
    : numberFlag(v, "tile-size", 512, { integer: true, min: 8 });
  const tileStride = v["tile-stride"] === undefined
    ? undefined
    : numberFlag(v, "tile-stride", 256, { integer: true, min: 8 });
  if ((tileSize === undefined) !== (tileStride === undefined)) {
    throw new UsageError("--tile-size and --tile-stride go together");
  }
  const colorFix = stringFlag(v["color-fix"]) ?? "wavelet";
  const sampler = stringFlag(v.sampler) ?? "spaced";
  if (!sampler.startsWith("edm_")) {
    for (const flag of ["s-churn", "s-tmin", "s-tmax", "s-noise", "order"]) {
      if (v[flag] !== undefined) {
        throw new UsageError(`--${flag} applies to the edm_* samplers, not --sampler ${sampler}`);
      }
    }
  }
  // flags left out take the sampler's own defaults
  const optional = (name: string, check: Parameters<typeof numberFlag>[3] = {}) =>
    v[name] === undefined ? undefined : numberFlag(v, name, 0, check);
  const { restoreDiffbir } = await import("../../pipelines/restore_diffbir.ts"); // loaded only for DiffBIR runs
  return await restoreDiffbir(ctx.observed.c === 1 ? grayToRgb(ctx.observed) : ctx.observed, {
    model: await cachedModel(ctx, "pipeline", model),
    steps: v.steps === undefined
      ? undefined
      : numberFlag(v, "steps", 50, { integer: true, min: 1, max: 1000 }),
    sampler: sampler as DiffbirSamplerName,
    eta: v.eta === undefined ? undefined : numberFlag(v, "eta", 0, { min: 0 }),
    edm: {
      sChurn: optional("s-churn", { min: 0 }),
      sTmin: optional("s-tmin"),
      sTmax: optional("s-tmax"),
      sNoise: optional("s-noise", { min: 0 }),
      order: optional("order", { integer: true, min: 1, max: 4 }),
    },
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
    colorFix: colorFix as "wavelet" | "adain" | "none",
    upscale,
    ...runOptions(ctx),
  });
}
