/**
 * DDNM's Mask-Shift loop for a model of a fixed size (docs/ddnm.md): each window is restored in
 * turn with its own operator and observation, the finished overlap of earlier windows held fixed,
 * and the results pasted into one canvas that starts as A⁺y.
 *
 * @module
 */

import { Tensor } from "../lib/tensor.ts";
import type { Backend } from "../kernels/backend.ts";
import type { DegradationOperator } from "../operators/operator.ts";
import { buildOperator, ddnmTaskSpec } from "../operators/ddnm_tasks.ts";
import type { DdnmProblem } from "../samplers/ddnm.ts";
import type { SamplerHooks, StepProgress } from "../samplers/sampler_run.ts";
import { cropWindow, pasteFinished, pasteWindow, type Window } from "../samplers/mask_shift.ts";
import type { DdnmRestoreOptions } from "./restore_ddnm.ts";

/** What the Mask-Shift loop needs of a DDNM run. */
export interface WindowedRun {
  /** The windows, in order. */
  windows: Window[];
  /** The whole output's operator. */
  fullOp: DegradationOperator;
  /** The whole observation (model units). */
  y: Float32Array;
  /** The whole warm start's clean estimate (model units, host copy current), if any. */
  warmImage?: Tensor;
  /** Carry each window's state into the next (hq_demo's reference) instead of fresh noise. */
  carry: boolean;
  /** The run's options (task, mask, variant, signal). */
  options: DdnmRestoreOptions;
  /** Where the math runs. */
  backend: Backend;
  /** The sampler on one problem. */
  sample: (problem: DdnmProblem, hooks: SamplerHooks) => Promise<Tensor>;
  /** Progress of window k. */
  onStep: (k: number, p: StepProgress) => void;
}

/**
 * Restore window by window and return the whole output (model units).
 *
 * @param r The run.
 * @returns The canvas, [1, C, H, W].
 */
export async function sampleWindows(r: WindowedRun): Promise<Tensor> {
  const { windows, fullOp, y, options, backend } = r;
  const [, channels, height, width] = fullOp.xShape;
  const variant = options.variant ?? "svd";
  const scale = ddnmTaskSpec(options.task.name).needs === "scale" ? options.task.scale! : 1;
  // the canvas starts as A⁺y; windows overwrite it as they finish
  const canvas = fullOp.pinv(y);
  const finished = new Uint8Array(height * width);
  const yImage = new Tensor([1, fullOp.yShape[1], fullOp.yShape[2], fullOp.yShape[3]], y);
  let state: Tensor | undefined;
  for (const [k, w] of windows.entries()) {
    const mask = options.mask
      ? cropWindow(Float32Array.from(options.mask), 1, height, width, w)
      : undefined;
    const op = buildOperator(
      options.task,
      channels,
      w.h,
      w.w,
      variant,
      mask ? Uint8Array.from(mask) : undefined,
    );
    const yw = cropWindow(yImage.data, yImage.c, yImage.h, yImage.w, {
      ...w,
      y: w.y / scale,
      x: w.x / scale,
      h: w.h / scale,
      w: w.w / scale,
    });
    // the finished overlap is fixed for the whole window: paste it with a device-side blend
    const done = Tensor.zeros(op.xShape), finishedCanvas = Tensor.zeros(op.xShape);
    pasteFinished(finishedCanvas.data, canvas, finished, channels, height, width, w);
    const ones = new Float32Array(canvas.length).fill(1);
    pasteFinished(done.data, ones, finished, channels, height, width, w);
    const anyDone = done.data.some((v) => v === 1);
    const problem = {
      operator: op,
      y: op.name === "inpaint" ? op.A(yw) : yw,
      init: r.carry ? state : undefined,
      warmImage: r.warmImage &&
        new Tensor(op.xShape, cropWindow(r.warmImage.data, channels, height, width, w)),
    };
    const out = await r.sample(problem, {
      signal: options.signal,
      afterProject: anyDone
        ? (x0hat) => backend.blend(x0hat, done, finishedCanvas, x0hat)
        : undefined,
      onStep: (p) => r.onStep(k, p),
    });
    await backend.read(out);
    pasteWindow(canvas, channels, height, width, w, out.data);
    for (let i = 0; i < w.h; i++) {
      finished.fill(1, (w.y + i) * width + w.x, (w.y + i) * width + w.x + w.w);
    }
    state = out;
  }
  return new Tensor([1, channels, height, width], canvas);
}
