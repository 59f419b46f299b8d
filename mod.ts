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
export * from "./lib/onnx_graph.ts";
export * from "./samplers/beta_schedule.ts";
export * from "./samplers/ddnm_schedule.ts";
export * from "./samplers/respacing.ts";
export * from "./samplers/irsde_schedule.ts";
export * from "./lib/manifest.ts";
export * from "./lib/ort_runtime.ts";
export * from "./lib/model.ts";
export * from "./lib/builtin_models.ts";
export * from "./lib/dct.ts";
export * from "./lib/priors/gaussian_prior.ts";
export * from "./lib/priors/gaussian_prior_params.ts";
export * from "./lib/restore_ddnm.ts";
export * from "./lib/metrics.ts";
export * from "./lib/sheet.ts";
export * from "./kernels/backend.ts";
export * from "./kernels/cpu_backend.ts";
export * from "./samplers/ddnm.ts";
export * from "./samplers/ddnm_task.ts";
export * from "./samplers/mask_shift.ts";
export * from "./samplers/hq_demo.ts";
export * from "./samplers/operators/operator.ts";
export * from "./samplers/operators/householder.ts";
export * from "./samplers/operators/row_block_operator.ts";
export * from "./samplers/operators/masking.ts";
export * from "./samplers/operators/separable_operator.ts";
export * from "./samplers/operators/walsh_hadamard.ts";
export * from "./samplers/operators/svd.ts";
export * from "./samplers/operators/block_cs.ts";
export * from "./lib/restore_irsde.ts";
export * from "./lib/resize.ts";
export * from "./samplers/irsde.ts";
export * from "./lib/restore_diffbir.ts";
export * from "./lib/color_fix.ts";
export * from "./samplers/spaced_ddpm.ts";
export * from "./samplers/tiling.ts";
export * from "./samplers/edm.ts";
export * from "./samplers/dpm_solver.ts";
export * from "./kernels/webgpu_backend.ts";
export * from "./lib/gpu.ts";
export * from "./lib/device_calls.ts";
export * from "./lib/preview/handler.ts";
export * from "./lib/preview/limits.ts";
export * from "./lib/preview/page.ts";
export * from "./lib/priors/gaussian_prior_graph.ts";
