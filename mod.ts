/**
 * diffrestore: image restoration with diffusion models (DDNM, IR-SDE, DiffBIR), in Deno.
 *
 * @example
 * ```ts
 * import { timeTravelSchedule } from "@diffrestore/sampler";
 * console.log(timeTravelSchedule(10, 2, 2).length); // 27
 * ```
 *
 * @module
 */

export * from "./lib/errors.ts";
export * from "./lib/tensor.ts";
export * from "./lib/npy.ts";
export * from "./lib/image.ts";
export * from "./lib/png.ts";
export * from "./lib/jpeg.ts";
export * from "./lib/atomic_write.ts";
export * from "./lib/philox.ts";
export * from "./lib/noise.ts";
export * from "./model/onnx_graph.ts";
export * from "./schedules/beta_schedule.ts";
export * from "./schedules/ddnm_schedule.ts";
export * from "./schedules/respacing.ts";
export * from "./schedules/irsde_schedule.ts";
export * from "./model/manifest.ts";
export * from "./model/ort_runtime.ts";
export * from "./model/model.ts";
export * from "./model/builtin_models.ts";
export * from "./lib/dct.ts";
export * from "./model/priors/gaussian_prior.ts";
export * from "./model/priors/gaussian_prior_params.ts";
export * from "./pipelines/restore_ddnm.ts";
export * from "./lib/metrics.ts";
export * from "./lib/sheet.ts";
export * from "./kernels/backend.ts";
export * from "./kernels/cpu_backend.ts";
export * from "./samplers/ddnm.ts";
export * from "./operators/ddnm_tasks.ts";
export * from "./samplers/mask_shift.ts";
export * from "./samplers/hq_demo.ts";
export * from "./operators/operator.ts";
export * from "./operators/householder.ts";
export * from "./operators/row_block_operator.ts";
export * from "./operators/masking.ts";
export * from "./operators/separable_operator.ts";
export * from "./operators/walsh_hadamard.ts";
export * from "./operators/svd.ts";
export * from "./operators/block_cs.ts";
export * from "./pipelines/restore_irsde.ts";
export * from "./lib/resize.ts";
export * from "./samplers/irsde.ts";
export * from "./pipelines/restore_diffbir.ts";
export * from "./pipelines/color_fix.ts";
export * from "./samplers/spaced_ddpm.ts";
export * from "./lib/tiling.ts";
export * from "./samplers/edm.ts";
export * from "./samplers/dpm_solver.ts";
export * from "./kernels/webgpu_backend.ts";
export * from "./lib/gpu.ts";
export * from "./kernels/device_calls.ts";
export * from "./preview/handler.ts";
export * from "./preview/limits.ts";
export * from "./preview/page.ts";
export * from "./model/priors/gaussian_prior_graph.ts";
