/**
 * Where the per-step math runs: the Backend interface, the CPU backend, the WebGPU backend (device
 * memory, WGSL kernels, zero-copy network calls) and the backend policy.
 *
 * Advanced entry point `@diffrestore/sampler/kernels` (see ARCHITECTURE.md); most scripts need
 * only the package's main module.
 *
 * @module
 */

export * from "./backend.ts";
export * from "./choose_backend.ts";
export * from "./cpu_backend.ts";
export * from "./device_calls.ts";
export * from "./webgpu_backend.ts";
export * from "./webgpu_memory.ts";
export * from "./wgsl_elementwise.ts";
export * from "./wgsl_image.ts";
export * from "./wgsl_matmul.ts";
export * from "./wgsl_philox.ts";
