/**
 * A DiffBIR pipeline's four networks, loaded from a `diffbir-pipeline` manifest (docs/manifest.md):
 * the stage-1 restorer, the VAE encoder (latent mean), the VAE decoder and the latent denoiser.
 *
 * @module
 */

import { UserError } from "../lib/errors.ts";
import { Model } from "../model/model.ts";
import { readJsonFile } from "../model/manifest.ts";
import type { SessionOptions } from "../model/ort_runtime.ts";

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
 * @param options Runtime, threads, notes and GPU device.
 * @returns The loaded models.
 *
 * @example
 * ```ts ignore
 * import { loadDiffbirPipeline } from "./diffbir_pipeline.ts";
 * const pipeline = await loadDiffbirPipeline("diffbir/pipeline.json", { runtime: "native" });
 * console.log(pipeline.scaleFactor); // 0.18215
 * ```
 */
export async function loadDiffbirPipeline(
  path: string,
  options: SessionOptions = {},
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
