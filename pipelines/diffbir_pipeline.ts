/**
 * A DiffBIR pipeline's networks, loaded from a `diffbir-pipeline` manifest (docs/manifest.md):
 * the stage-1 restorer, the VAE encoder (latent mean), the VAE decoder, the latent denoiser and,
 * when the pipeline was exported with one, the text encoder with its default prompts.
 *
 * @module
 */

import { UserError } from "../lib/errors.ts";
import { Model } from "../model/model.ts";
import { readJsonFile } from "../model/manifest.ts";
import type { SessionOptions } from "../model/ort_runtime.ts";
import { PromptEncoder } from "../model/prompt_encoder.ts";
import { cachedModelPath, isModelUrl } from "../model/model_cache.ts";

/** DiffBIR v2's negative prompt, the default when a pipeline names none. */
export const DIFFBIR_NEGATIVE_PROMPT =
  "low quality, blurry, low-resolution, noisy, unsharp, weird textures";

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
  /** The text encoder, when the pipeline has one (`textEncoder`). */
  text?: PromptEncoder;
  /** The pipeline's default prompt (DiffBIR v2: empty). */
  prompt?: string;
  /** The pipeline's default negative prompt (DiffBIR v2's {@linkcode DIFFBIR_NEGATIVE_PROMPT}). */
  negativePrompt?: string;
  /** Release every session of the pipeline. */
  release(): Promise<void>;
  /** Release every session at the end of an `await using` block. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Load a `diffbir-pipeline` manifest: keys `stage1`, `vaeEncoder`, `vaeDecoder`, `denoiser`
 * (ONNX files relative to it, each with its manifest beside it) and `scaleFactor`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadDiffbirPipeline } from "@diffrestore/sampler";
 *
 * // a pipeline exported with tools/export/diffbir.py (pipeline.json names its networks)
 * await assert.rejects(() => loadDiffbirPipeline("missing/pipeline.json"), /not found/);
 * ```
 *
 * @param path The pipeline manifest.
 * @param options Runtime, threads, notes and GPU device.
 * @returns The loaded models.
 */
export async function loadDiffbirPipeline(
  path: string,
  options: SessionOptions = {},
): Promise<DiffbirModels> {
  if (isModelUrl(path)) {
    // the pipeline and every member it names, downloaded once into the model cache
    path = await cachedModelPath(path, { onProgress: options.onDownload, onNote: options.onNote });
  }
  const json = await readJsonFile(path, "pipeline manifest");
  if (
    typeof json !== "object" || json === null ||
    (json as Record<string, unknown>).kind !== "diffbir-pipeline"
  ) {
    throw UserError.about(
      "model",
      `${path}: a DiffBIR model must be a pipeline manifest with "kind": "diffbir-pipeline"`,
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
  for (const key of ["prompt", "negativePrompt"]) {
    if (j[key] !== undefined && typeof j[key] !== "string") {
      throw new UserError(`${path}: key '${key}' must be a string`);
    }
  }
  const loaded: { release(): Promise<void> }[] = [];
  const keep = <T extends { release(): Promise<void> }>(m: T) => (loaded.push(m), m);
  const release = async () => {
    for (const m of loaded.splice(0)) await m.release();
  };
  try {
    const textPath = j.textEncoder;
    if (textPath !== undefined && typeof textPath !== "string") {
      throw new UserError(`${path}: key 'textEncoder' must be a path`);
    }
    return {
      stage1: keep(await load("stage1", "restorer")),
      encoder: keep(await load("vaeEncoder", "vae-encoder")),
      decoder: keep(await load("vaeDecoder", "vae-decoder")),
      denoiser: keep(await load("denoiser", "latent-denoiser")),
      text: textPath === undefined ? undefined : keep(
        await PromptEncoder.load(textPath.startsWith("/") ? textPath : dir + textPath, options),
      ),
      scaleFactor,
      prompt: j.prompt as string | undefined,
      negativePrompt: j.negativePrompt as string | undefined,
      release,
      [Symbol.asyncDispose]: release,
    };
  } catch (e) {
    await release(); // a pipeline that fails to load keeps no session
    throw e;
  }
}
