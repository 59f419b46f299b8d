/**
 * diffrestore: image restoration with diffusion models (DDNM, IR-SDE, DiffBIR), in Deno.
 *
 * The restore functions take an observed image as a tensor in [0,1] and return the restored
 * one, with the network given as a loaded {@linkcode Model}, a path to an ONNX file with its
 * manifest, or a built-in model. The per-step math runs on the CPU or on WebGPU
 * ({@linkcode chooseBackend}); the same seed gives the same numbers on both.
 *
 * Advanced layers have their own entry points: `@diffrestore/sampler/schedules`,
 * `/operators`, `/kernels`, `/samplers` and `/model` (see ARCHITECTURE.md).
 *
 * @example
 * ```ts ignore
 * import { imageToTensor, readImage, restoreDdnm, writeImageTensor } from "@diffrestore/sampler";
 * const lq = imageToTensor(await readImage("small.png"), 3);
 * const { image } = await restoreDdnm(lq, { task: { name: "sr-bicubic", scale: 4 }, seed: 1 });
 * await writeImageTensor("big.png", image);
 * ```
 *
 * @module
 */

// restoration
export { type DdnmRestoreOptions, restoreDdnm } from "./pipelines/restore_ddnm.ts";
export { classicalRestoration } from "./pipelines/warm_start.ts";
export {
  type IrsdeRestoreOptions,
  type IrsdeTask,
  restoreIrsde,
} from "./pipelines/restore_irsde.ts";
export { restoreDiffbir } from "./pipelines/restore_diffbir.ts";
export {
  DIFFBIR_SAMPLERS,
  type DiffbirRestoreOptions,
  type DiffbirSampler,
  type DiffbirSamplerName,
  diffbirSamplerNamed,
} from "./pipelines/diffbir_options.ts";
export { type DiffbirModels, loadDiffbirPipeline } from "./pipelines/diffbir_pipeline.ts";
export { PromptEncoder, type TextContext } from "./model/prompt_encoder.ts";
export type { IrsdeSolver } from "./samplers/irsde.ts";
export type { EdmSettings, EdmSolver } from "./samplers/edm.ts";
export {
  type RestoreOptions,
  type RestoreProgress,
  type RestoreResult,
  type RunOptions,
} from "./pipelines/run.ts";

// tasks and their operators
export {
  type BlurKernel,
  buildOperator,
  DDNM_TASKS,
  type DdnmTask,
  type DdnmTaskName,
  observationFor,
} from "./operators/ddnm_tasks.ts";
export type { DdnmVariant, DegradationOperator } from "./operators/operator.ts";

// models
export { Model, type ModelInputs, type ModelSource, type ModelStats } from "./model/model.ts";
export { DEFAULT_MODEL, loadModel } from "./model/builtin_models.ts";
export type { ModelManifest } from "./model/manifest.ts";

// where the math runs
export type { Backend } from "./kernels/backend.ts";
export { CpuBackend } from "./kernels/cpu_backend.ts";
export { WebGpuBackend } from "./kernels/webgpu_backend.ts";
export { chooseBackend } from "./kernels/choose_backend.ts";

// images, tensors, noise
export { grayToRgb, type Shape4, Tensor } from "./lib/tensor.ts";
export {
  type DecodedImage,
  decodeImage,
  type DecodeOptions,
  imageToTensor,
  readImage,
  tensorToPng,
  writeImageTensor,
  type WriteOptions,
} from "./lib/image.ts";
export { readMask } from "./lib/mask.ts";
export { decodeNpy, encodeNpy, type NpyArray, readNpyFile } from "./lib/npy.ts";
export { ArrayNoise, GaussianNoise, type NoiseSource } from "./lib/noise.ts";
export { psnr, ssim } from "./lib/metrics.ts";
export { type OptionFault, showValue, UserError } from "./lib/errors.ts";

// schedules
export {
  betaSchedule,
  type BetaScheduleName,
  type BetaScheduleOptions,
} from "./schedules/beta_schedule.ts";
export { timeTravelSchedule } from "./schedules/ddnm_schedule.ts";
export { type SdeSettings, type ThetaScheduleName } from "./schedules/irsde_schedule.ts";

// the edge preview
export {
  createPreviewHandler,
  type PreviewHandler,
  type PreviewOptions,
} from "./preview/handler.ts";
