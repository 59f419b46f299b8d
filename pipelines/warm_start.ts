/**
 * The clean estimate a warm-started DDNM run noises (docs/ddnm.md, "Warm start"): the task's
 * classical restoration, made consistent with the observation by DDNM's own projection.
 *
 * @module
 */

import { Tensor } from "../lib/tensor.ts";
import { harmonicFill } from "../lib/harmonic_fill.ts";
import { resizeBicubic } from "../lib/resize.ts";
import type { Backend } from "../kernels/backend.ts";
import type { DdnmTask } from "../operators/ddnm_tasks.ts";
import type { DegradationOperator } from "../operators/operator.ts";

/**
 * The task's classical restoration in [0,1] image units: bicubic upscaling for `sr` and
 * `sr-bicubic`, the harmonic (Laplace) fill for `inpaint`; null for the other tasks, whose warm
 * start is A⁺y alone.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { classicalRestoration, Tensor } from "@diffrestore/sampler";
 *
 * const lq = new Tensor([1, 3, 4, 4], new Float32Array(48).fill(0.25));
 * const up = classicalRestoration({ name: "sr-bicubic", scale: 2 }, lq, 8, 8)!;
 * assert.deepEqual(up.shape, [1, 3, 8, 8]);
 * assert.ok(Math.abs(up.data[27] - 0.25) < 1e-6); // a flat image stays flat
 * ```
 *
 * @param task The DDNM task.
 * @param observed The observation, [1, C, h, w] in [0,1].
 * @param height The output's height.
 * @param width The output's width.
 * @param mask Known pixels (1 = known) for `inpaint`.
 * @returns The restoration, or null.
 */
export function classicalRestoration(
  task: DdnmTask,
  observed: Tensor,
  height: number,
  width: number,
  mask?: Uint8Array,
): Tensor | null {
  if (task.name === "sr" || task.name === "sr-bicubic") {
    return resizeBicubic(observed, height, width, -0.5);
  }
  if (task.name === "inpaint" && mask) return harmonicFill(observed, mask);
  return null;
}

/**
 * The warm start's clean estimate in model units: `guess` projected onto the observation,
 * x̂ = g − A⁺(A g − y), so its range part is A⁺y; zeros stand in for a guess that is null or not
 * of the operator's shape (a gray model given a colour guess), which leaves x̂ = A⁺y.
 *
 * @param backend Where the projection runs.
 * @param op The degradation operator.
 * @param y The observation in model units.
 * @param guess A restoration in [0,1] image units ({@linkcode classicalRestoration}), or null.
 * @param range The model's value range.
 * @returns The estimate, with its host copy current.
 */
export async function warmStartEstimate(
  backend: Backend,
  op: DegradationOperator,
  y: Float32Array,
  guess: Tensor | null,
  range: readonly [number, number],
): Promise<Tensor> {
  const [lo, hi] = range;
  const fits = guess !== null && guess.shape.every((n, i) => n === op.xShape[i]);
  const g = fits ? guess.map((v) => lo + (hi - lo) * v) : Tensor.zeros(op.xShape);
  const out = Tensor.zeros(op.xShape);
  await backend.project(op, g, y, null, out);
  return await backend.read(out);
}
