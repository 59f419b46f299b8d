/**
 * Where the per-step math runs: the {@linkcode Backend} interface the samplers call, the CPU
 * backend, the WebGPU backend (device memory, WGSL kernels, zero-copy network calls) and the
 * backend policy. The kernels themselves stay inside.
 *
 * Advanced entry point `@diffrestore/sampler/kernels` (see ARCHITECTURE.md); most scripts need
 * only the package's main module.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CpuBackend } from "@diffrestore/sampler/kernels";
 * import { Tensor } from "@diffrestore/sampler";
 *
 * const backend = new CpuBackend();
 * const x = new Tensor([1, 1, 1, 2], new Float32Array([1, 2]));
 * backend.combine(x, [[2, x]]);
 * assert.deepEqual([...x.data], [2, 4]);
 * ```
 *
 * @module
 */

export type { Backend, BackendStats, Term } from "./backend.ts";
export { chooseBackend } from "./choose_backend.ts";
export { CpuBackend } from "./cpu_backend.ts";
export { WebGpuBackend, type WebGpuStats } from "./webgpu_backend.ts";
