/**
 * Built-in models that ship inside the module (no download), and `loadModel`, which takes a
 * path or a `builtin:` name.
 *
 * @module
 */

import { UserError } from "./errors.ts";
import { Model } from "./model.ts";
import type { SessionOptions } from "./ort_runtime.ts";
import { GAUSSIAN_PRIOR_MANIFEST } from "./priors/gaussian_prior.ts";
import { GAUSSIAN_PRIOR_PARAMS } from "./priors/gaussian_prior_params.ts";
import type { ModelManifest } from "./manifest.ts";

/** A built-in model: its manifest and a function producing its ONNX bytes. */
export interface BuiltinModel {
  /** One line on what it is. */
  description: string;
  /** Its manifest. */
  manifest: ModelManifest;
  /** Produce the `.onnx` bytes. */
  bytes: () => Promise<Uint8Array>;
}

/** The built-in models by name (`builtin:<name>`). */
export const BUILTIN_MODELS: Record<string, BuiltinModel> = {
  gaussian: {
    description:
      "stationary Gaussian natural-image prior (fitted 1/f^α spectrum), exact MMSE ε-predictor",
    manifest: GAUSSIAN_PRIOR_MANIFEST,
    bytes: async () =>
      (await import("./priors/gaussian_prior_graph.ts")).gaussianPriorGraph(GAUSSIAN_PRIOR_PARAMS),
  },
};

/** The model used when `--model` is absent. */
export const DEFAULT_MODEL = "builtin:gaussian";

/**
 * Load a model by path (`net.onnx`, manifest `net.json` beside it or `manifestPath`) or by
 * built-in name (`builtin:gaussian`).
 *
 * @example
 * ```ts ignore
 * import { loadModel } from "./builtin_models.ts";
 * const prior = await loadModel("builtin:gaussian", { runtime: "wasm" });
 * ```
 *
 * @param spec A path or `builtin:<name>`.
 * @param options Runtime options.
 * @param manifestPath An explicit manifest (`--model-spec`).
 * @returns The loaded model.
 */
export async function loadModel(
  spec: string,
  options: SessionOptions = {},
  manifestPath?: string,
): Promise<Model> {
  if (spec.startsWith("builtin:")) {
    const name = spec.slice("builtin:".length);
    const b = BUILTIN_MODELS[name];
    if (!b) {
      throw new UserError(
        `unknown built-in model '${spec}' (available: ${
          Object.keys(BUILTIN_MODELS).map((k) => `builtin:${k}`).join(", ")
        })`,
      );
    }
    return await Model.load({ bytes: await b.bytes(), manifest: b.manifest, name: spec }, options);
  }
  return await Model.load({ path: spec, manifestPath }, options);
}
