/**
 * The model layer: manifests and their checks, the `Model` wrapper over the three ONNX runtimes
 * (native, wasm, WebGPU), the built-in models, and the ONNX graph builder the built-in priors are
 * written with.
 *
 * Advanced entry point `@diffrestore/sampler/model` (see ARCHITECTURE.md); most scripts need only
 * the package's main module.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BUILTIN_MODELS } from "@diffrestore/sampler/model";
 *
 * assert.ok("unet" in BUILTIN_MODELS && "irsde" in BUILTIN_MODELS);
 * ```
 *
 * @module
 */

export {
  BUILTIN_MODELS,
  type BuiltinModel,
  DEFAULT_IRSDE_MODEL,
  DEFAULT_MODEL,
  loadModel,
  PREVIEW_MODEL,
} from "./builtin_models.ts";
export {
  type ModelKind,
  type ModelManifest,
  parseManifest,
  type Prediction,
  readManifest,
} from "./manifest.ts";
export { draftManifest, type ManifestDraft } from "./draft_manifest.ts";
export { Model, type ModelInputs, type ModelSource, type ModelStats } from "./model.ts";
export type { IoMeta, OrtChoice, SessionOptions } from "./ort_runtime.ts";
export type { ConvRewrite } from "./webgpu_conv_guard.ts";
export { type AttrValue, type Dim, GraphBuilder, type OnnxDType } from "./onnx_graph.ts";
