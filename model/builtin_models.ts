/**
 * Built-in models that ship inside the module (no download), and `loadModel`, which takes a
 * path or a `builtin:` name.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { UserError } from "../lib/errors.ts";
import { Model } from "./model.ts";
import type { SessionOptions } from "./ort_runtime.ts";
import { GAUSSIAN_PRIOR_MANIFEST } from "./priors/gaussian_prior.ts";
import { GAUSSIAN_PRIOR_PARAMS } from "./priors/gaussian_prior_params.ts";
import { parseManifest } from "./manifest.ts";
import type { ModelManifest } from "./manifest.ts";
import { cachedModelPath, isModelUrl } from "./model_cache.ts";
import UNET_MANIFEST from "./builtin/unet.json" with { type: "json" };
import UNET_EDGE_MANIFEST from "./builtin/unet_edge.json" with { type: "json" };
import IRSDE_MANIFEST from "./builtin/irsde.json" with { type: "json" };

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
  unet: _shipped("unet", UNET_MANIFEST),
  "unet-edge": _shipped("unet_edge", UNET_EDGE_MANIFEST),
  irsde: _shipped("irsde", IRSDE_MANIFEST),
  gaussian: {
    description:
      "stationary Gaussian natural-image prior (fitted 1/f^α spectrum), exact MMSE ε-predictor",
    manifest: GAUSSIAN_PRIOR_MANIFEST,
    bytes: async () =>
      (await import("./priors/gaussian_prior_graph.ts")).gaussianPriorGraph(GAUSSIAN_PRIOR_PARAMS),
  },
  gmm: {
    description:
      "learned patch prior: a mixture of 24 PPCAs over 6x6 colour patches, EPLL-style MMSE denoiser",
    manifest: parseManifest({
      kind: "ddpm",
      inputs: { x: "x", t: "t" },
      output: "eps",
      prediction: "eps",
      timestep: { dtype: "float32" },
      range: [-1, 1],
      channels: 3,
      schedule: { beta: "linear", betaStart: 0.0001, betaEnd: 0.02, trainSteps: 1000 },
      defaults: { eta: 1.0, steps: 50 },
    }, "builtin:gmm"),
    bytes: async () => {
      const [{ gmmPriorGraph }, { decodeGmmPrior }, { GMM_PRIOR_DATA }] = await Promise.all([
        import("./priors/gmm_prior_graph.ts"),
        import("./priors/gmm_prior.ts"),
        import("./priors/gmm_prior_params.ts"),
      ]);
      return gmmPriorGraph(decodeGmmPrior(GMM_PRIOR_DATA), GAUSSIAN_PRIOR_PARAMS);
    },
  },
};

/** The model used when `--model` is absent: the trained quality network (docs/priors.md). */
export const DEFAULT_MODEL = "builtin:unet";

/** The model the edge preview uses: the trained network sized for one wasm thread. */
export const PREVIEW_MODEL = "builtin:unet-edge";

/** IR-SDE's model when none is given: a trained Gaussian-noise restorer (docs/builtin_models.md). */
export const DEFAULT_IRSDE_MODEL = "builtin:irsde";

// a trained network shipped as files in model/builtin/ (tools/train/ makes them): its bytes are
// read beside this module (a file, or fetched when the package runs from JSR) and checked
// against the manifest's sha256
function _shipped(file: string, raw: { description: string; sha256: string }): BuiltinModel {
  const name = `builtin:${file.replace("_", "-")}`;
  return {
    description: raw.description,
    manifest: parseManifest(raw, name),
    bytes: async () => {
      const url = new URL(`./builtin/${file}.onnx`, import.meta.url);
      const bytes = url.protocol === "file:"
        ? await Deno.readFile(url)
        : new Uint8Array(await (await fetch(url)).arrayBuffer());
      const digest = createHash("sha256").update(bytes).digest("hex");
      if (digest !== raw.sha256) {
        throw new UserError(
          `${name}: ${url.pathname} has SHA-256 ${digest}, its manifest says ${raw.sha256} ` +
            `(a damaged install: reinstall the package)`,
        );
      }
      return bytes;
    },
  };
}

/**
 * Load a model by path (`net.onnx`, manifest `net.json` beside it or `manifestPath`), by URL
 * (downloaded once into the model cache) or by built-in name (`builtin:gaussian`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadModel } from "@diffrestore/sampler";
 *
 * const prior = await loadModel("builtin:gaussian", { runtime: "wasm" });
 * assert.equal(prior.manifest.kind, "ddpm");
 * await prior.release();
 * ```
 *
 * @param spec A path, an `https://` URL or `builtin:<name>`.
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
      throw UserError.option(
        "model",
        `one of ${Object.keys(BUILTIN_MODELS).map((k) => `builtin:${k}`).join(", ")}`,
        spec,
      );
    }
    return await Model.load({ bytes: await b.bytes(), manifest: b.manifest, name: spec }, options);
  }
  if (isModelUrl(spec)) {
    // downloaded once into the model cache, used from there afterwards (offline too)
    const path = await cachedModelPath(spec, {
      sha256: options.sha256,
      manifestUrl: manifestPath && isModelUrl(manifestPath) ? manifestPath : undefined,
      onProgress: options.onDownload,
      onNote: options.onNote,
    });
    const local = manifestPath && !isModelUrl(manifestPath) ? manifestPath : undefined;
    return await Model.load({ path, manifestPath: local }, options);
  }
  if (manifestPath && isModelUrl(manifestPath)) {
    throw UserError.about(
      "modelSpec",
      `${manifestPath}: a manifest by URL goes with a model by URL`,
    );
  }
  return await Model.load({ path: spec, manifestPath }, options);
}
