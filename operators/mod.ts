/**
 * DDNM's degradation operators behind one task table: what each task's A, A⁺ and DDNM+'s noise
 * term are, built for an image size, and the observation an image makes. Each operator keeps its
 * CPU math and its WebGPU kernel side by side inside this layer.
 *
 * Advanced entry point `@diffrestore/sampler/operators` (see ARCHITECTURE.md); most scripts need
 * only the package's main module.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildOperator } from "@diffrestore/sampler/operators";
 *
 * const op = buildOperator({ name: "sr", scale: 2 }, 3, 8, 8, "svd");
 * assert.deepEqual(op.yShape, [1, 3, 4, 4]);
 * ```
 *
 * @module
 */

export {
  type BlurKernel,
  buildOperator,
  DDNM_TASKS,
  type DdnmTask,
  type DdnmTaskName,
  observationFor,
  outputSize,
  validateTask,
} from "./ddnm_tasks.ts";
export type {
  DdnmPlusParams,
  DdnmVariant,
  DegradationOperator,
  SpectralScale,
} from "./operator.ts";
