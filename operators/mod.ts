/**
 * DDNM's degradation operators (CPU math and WebGPU kernels side by side), the task table, and the
 * GPU-operator registry.
 *
 * Advanced entry point `@diffrestore/sampler/operators` (see ARCHITECTURE.md); most scripts need
 * only the package's main module.
 *
 * @module
 */

export * from "./block_cs.ts";
export * from "./block_cs_gpu.ts";
export * from "./ddnm_tasks.ts";
export * from "./gpu_context.ts";
export * from "./gpu_operator.ts";
export * from "./householder.ts";
export * from "./masking.ts";
export * from "./masking_gpu.ts";
export * from "./operator.ts";
export * from "./row_block_operator.ts";
export * from "./row_block_operator_gpu.ts";
export * from "./separable_operator.ts";
export * from "./separable_operator_gpu.ts";
export * from "./svd.ts";
export * from "./walsh_hadamard.ts";
export * from "./walsh_hadamard_gpu.ts";
