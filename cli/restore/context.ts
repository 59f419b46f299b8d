/**
 * What a method's runner gets from `restore`'s command line, and the helpers the runners
 * share: output-size limit, mask files, run options, the per-command model cache.
 *
 * @module
 */

import { UserError } from "../../lib/errors.ts";
import type { DecodedImage } from "../../lib/image.ts";
import { readMask } from "../../lib/mask.ts";
import type { NoiseSource } from "../../lib/noise.ts";
import type { Tensor } from "../../lib/tensor.ts";
import type { OrtChoice } from "../../model/ort_runtime.ts";
import { loadModel } from "../../model/builtin_models.ts";
import type { Model } from "../../model/model.ts";
import type { Backend } from "../../kernels/backend.ts";
import { WebGpuBackend } from "../../kernels/webgpu_backend.ts";
import type { RestoreProgress, RestoreResult, RunOptions } from "../../pipelines/run.ts";
import type { DiffbirModels } from "../../pipelines/diffbir_pipeline.ts";

/** Everything a method's runner gets from the command line. */
export interface RestoreContext {
  /** The decoded input image (null for a `.npy` input). */
  image: DecodedImage | null;
  /** The input as a [1, C, h, w] tensor in [0,1] (or the raw `.npy` values). */
  observed: Tensor;
  /** The noise source when `--noise` was given. */
  noise?: NoiseSource;
  /** The seed. */
  seed: number;
  /** The tensor backend. */
  backend: Backend;
  /** The ONNX runtime choice. */
  runtime: OrtChoice;
  /** Runtime threads. */
  threads?: number;
  /** `--check-ort`: each network's first call is repeated on wasm. */
  checkOrt?: boolean;
  /** Progress callback. */
  onProgress: (p: RestoreProgress) => void;
  /** Whether progress reports should carry x0 previews (`--save-every`). */
  previews: boolean;
  /** Cancellation. */
  signal: AbortSignal;
  /** Notes for the user. */
  onNote: (message: string) => void;
  /** Maximum pixels of images read. */
  maxPixels: number;
  /** Loaded models by key, shared by the images of a batch. */
  cache?: Map<string, Promise<unknown>>;
  /** The expected SHA-256 of a model by URL (`--sha256`). */
  sha256?: string;
  /** Download progress of a model by URL. */
  onDownload?: (file: string, done: number, total: number | null) => void;
}

/** A method's runner. */
export type MethodRunner = (ctx: RestoreContext) => Promise<RestoreResult>;

/**
 * Refuse an output above --max-pixels: a mistyped scale would otherwise exhaust memory.
 *
 * @param ctx The run.
 * @param factor The output's size over the input's.
 * @param flag The flag that asked for it, for the message.
 */
export function checkOutputSize(ctx: RestoreContext, factor: number, flag: string): void {
  const w = Math.round(ctx.observed.w * factor), h = Math.round(ctx.observed.h * factor);
  if (w * h > ctx.maxPixels) {
    throw new UserError(
      `${flag} would make a ${w}x${h} output (${
        w * h
      } pixels), above the limit of ${ctx.maxPixels} (--max-pixels)`,
    );
  }
}

/**
 * A `--mask` file that must match the input's size.
 *
 * @param ctx The run.
 * @param path The mask's path.
 * @returns Known pixels (1), one per input pixel.
 */
export async function inputMask(ctx: RestoreContext, path: string): Promise<Uint8Array> {
  const m = await readMask(path, ctx.maxPixels);
  if (m.width !== ctx.observed.w || m.height !== ctx.observed.h) {
    throw new UserError(
      `mask ${path} is ${m.width}x${m.height}, the input is ${ctx.observed.w}x${ctx.observed.h}`,
    );
  }
  return m.mask;
}

/**
 * The options every method passes through from the command line.
 *
 * @param ctx The run.
 * @returns The library's run options.
 */
export function runOptions(ctx: RestoreContext): RunOptions {
  const { seed, noise, backend, runtime, threads, checkOrt, onProgress, previews, signal, onNote } =
    ctx;
  return { seed, noise, backend, runtime, threads, checkOrt, onProgress, previews, signal, onNote };
}

/** What loading a model needs of the context. */
export type LoadContext = Pick<
  RestoreContext,
  "cache" | "runtime" | "threads" | "checkOrt" | "backend" | "onNote" | "sha256" | "onDownload"
>;

/**
 * A model (or DiffBIR pipeline) loaded once per command and shared by a batch's images.
 *
 * @param ctx The run's loading settings and cache.
 * @param kind `model` or `pipeline`.
 * @param spec The model's path or name.
 * @param manifest The manifest's path (`--model-spec`).
 * @returns The loaded model.
 */
export function cachedModel(
  ctx: LoadContext,
  kind: "model",
  spec: string,
  manifest?: string,
): Promise<Model>;
export function cachedModel(
  ctx: LoadContext,
  kind: "pipeline",
  spec: string,
): Promise<DiffbirModels>;
export function cachedModel(
  ctx: LoadContext,
  kind: "model" | "pipeline",
  spec: string,
  manifest?: string,
): Promise<unknown> {
  const key = `${kind}|${spec}|${manifest ?? ""}`;
  let p = ctx.cache?.get(key);
  if (!p) {
    const options = {
      runtime: ctx.runtime,
      threads: ctx.threads,
      checkOrt: ctx.checkOrt,
      onNote: ctx.onNote,
      device: ctx.backend instanceof WebGpuBackend ? ctx.backend.device : undefined,
      sha256: ctx.sha256,
      onDownload: ctx.onDownload,
    };
    p = kind === "model"
      ? loadModel(spec, options, manifest)
      : import("../../pipelines/diffbir_pipeline.ts").then((m) =>
        m.loadDiffbirPipeline(spec, options)
      );
    p.catch(() => ctx.cache?.delete(key)); // a failed load is retried by the next image
    ctx.cache?.set(key, p);
  }
  return p;
}
