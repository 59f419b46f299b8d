/**
 * The DDNM task table: one entry per task says which operator A it means, which parameters
 * it takes, its output size, whether its observation is an image or a measurement vector,
 * whether it is local (so Mask-Shift windows can run it) and whether the reference's
 * simplified code path has it. Task names, validation, help lines, operators and
 * observations are all derived from this one table (docs/ddnm.md, "Tasks").
 *
 * @module
 */

import { UserError } from "../lib/errors.ts";
import { grayToRgb, type Tensor } from "../lib/tensor.ts";
import type { DdnmVariant, DegradationOperator } from "./operator.ts";
import { averagePoolSr, colorization, RowBlockOperator } from "./row_block_operator.ts";
import { denoising, inpainting } from "./masking.ts";
import { bicubicSr, gaussianKernel, separableBlur } from "./separable_operator.ts";
import { seededPermutation, WalshHadamardCs } from "./walsh_hadamard.ts";
import { BlockCs } from "./block_cs.ts";

/** Blur kernels of the deblurring task. */
export type BlurKernel = "gauss" | "uniform" | "aniso";

/** The DDNM tasks (the keys of {@linkcode DDNM_TASK_TABLE}). */
export type DdnmTaskName =
  | "sr"
  | "sr-bicubic"
  | "colorize"
  | "inpaint"
  | "denoise"
  | "deblur"
  | "cs"
  | "cs-block";

/** A DDNM task and its parameters. */
export interface DdnmTask {
  /** The task. */
  name: DdnmTaskName;
  /** Super-resolution factor (sr, sr-bicubic). */
  scale?: number;
  /** Blur kernel (deblur): gauss (σ 10, 5 taps), uniform (9 taps), aniso (σ 1 x σ 20, 9 taps). */
  kernel?: BlurKernel;
  /** Compression ratio (cs, cs-block). */
  ratio?: number;
  /** Seed of the coefficient permutation (cs) or of Q (cs-block), or an explicit permutation (cs). */
  csPermutation?: number | Int32Array;
  /** Use the true blur (keep the last tap, aligned singular values) instead of the reference's. */
  fixedDeblur?: boolean;
}

/** Where an operator is built: the output size, channels, variant and inpainting mask. */
export interface OperatorSite {
  /** Model channels. */
  channels: number;
  /** Output height. */
  height: number;
  /** Output width. */
  width: number;
  /** The DDNM code path. */
  variant: DdnmVariant;
  /** Known pixels (inpaint), one per output pixel. */
  mask?: Uint8Array;
}

/** One row of the task table. */
export interface DdnmTaskSpec {
  /** One line for help texts. */
  summary: string;
  /** The parameter the task needs (checked by {@linkcode validateTask}). */
  needs?: "scale" | "ratio";
  /** The observation is a measurement vector in model units (`.npy`), not an image. */
  measured: boolean;
  /** A acts on pixel neighbourhoods, so Mask-Shift windows can run the task piece by piece. */
  local: boolean;
  /** The reference's simplified code path has this operator. */
  simplified: boolean;
  /**
   * The output size [H, W] for an observation of size [h, w] (its last two dimensions).
   *
   * @param task The task.
   * @param h Observation height.
   * @param w Observation width.
   * @returns Output height and width.
   */
  outputSize(task: DdnmTask, h: number, w: number): [number, number];
  /**
   * The operator at an output size.
   *
   * @param task The task.
   * @param site Channels, size, variant, mask.
   * @returns The operator.
   */
  build(task: DdnmTask, site: OperatorSite): DegradationOperator;
}

const _same = (_task: DdnmTask, h: number, w: number): [number, number] => [h, w];

function _divisible(f: number, site: OperatorSite): void {
  if (site.height % f !== 0 || site.width % f !== 0) {
    throw UserError.option(
      "task.scale",
      `a divisor of the image size ${site.width}x${site.height}`,
      f,
    );
  }
}

function _square(n: number, what: string): [number, number] {
  const side = Math.round(Math.sqrt(n));
  if (side * side !== n) throw new UserError(`${what} is not a square image`);
  return [side, side];
}

/** Every DDNM task, in help order. */
export const DDNM_TASK_TABLE: Readonly<Record<DdnmTaskName, DdnmTaskSpec>> = {
  "sr": {
    summary: "super-resolution by average pooling (--scale K)",
    needs: "scale",
    measured: false,
    local: true,
    simplified: true,
    outputSize: (task, h, w) => [h * task.scale!, w * task.scale!],
    build(task, site) {
      _divisible(task.scale!, site);
      return averagePoolSr(site.channels, site.height, site.width, task.scale!);
    },
  },
  "sr-bicubic": {
    summary: "super-resolution by bicubic downsampling, for real photos (--scale K)",
    needs: "scale",
    measured: false,
    local: false,
    simplified: false,
    outputSize: (task, h, w) => [h * task.scale!, w * task.scale!],
    build(task, site) {
      _divisible(task.scale!, site);
      return bicubicSr(site.channels, site.height, site.width, task.scale!);
    },
  },
  "colorize": {
    summary: "colorization of a gray image (A = 0.3333 R + 0.3334 G + 0.3333 B)",
    measured: false,
    local: true,
    simplified: true,
    outputSize: _same,
    build(_task, { channels, height, width, variant }) {
      if (channels !== 3) {
        throw new UserError(`colorize needs a 3-channel model, this one has ${channels}`);
      }
      const op = colorization(height, width);
      if (variant !== "simplified") return op;
      // the simplified path averages with weights 1/3 (docs/ddnm.md)
      const third = [1 / 3, 1 / 3, 1 / 3].map(Math.fround);
      return new RowBlockOperator("colorize", op.xShape, op.yShape, third, op.index);
    },
  },
  "inpaint": {
    summary: "inpainting (--mask M.png, white = known; or transparent pixels)",
    measured: false,
    local: true,
    simplified: true,
    outputSize: _same,
    build(_task, { channels, height, width, mask }) {
      if (!mask) {
        throw UserError.about("mask", "task inpaint needs a mask of the known pixels");
      }
      return inpainting(channels, height, width, mask);
    },
  },
  "denoise": {
    summary: "denoising (A = I; give --sigma-y for DDNM+)",
    measured: false,
    local: true,
    simplified: true,
    outputSize: _same,
    build: (_task, { channels, height, width }) => denoising(channels, height, width),
  },
  "deblur": {
    summary: "deblurring (--kernel gauss|uniform|aniso)",
    measured: false,
    local: false,
    simplified: false,
    outputSize: _same,
    build(task, { channels, height, width }) {
      const k = task.kernel ?? "gauss";
      const kh = k === "uniform"
        ? new Array(9).fill(Math.fround(1 / 9))
        : k === "aniso"
        ? gaussianKernel(1, 4)
        : gaussianKernel(10, 2);
      const kw = k === "uniform" ? kh : k === "aniso" ? gaussianKernel(20, 4) : kh;
      return separableBlur(channels, height, width, kh, kw, task.fixedDeblur ?? false);
    },
  },
  "cs": {
    summary: "Walsh-Hadamard compressed sensing (--ratio R; input: the .npy from 'degrade')",
    needs: "ratio",
    measured: true,
    local: false,
    simplified: false,
    outputSize: (task, _h, w) =>
      _square(w * task.ratio!, `cs: ${w} coefficients x ratio ${task.ratio}`),
    build(task, { channels, height, width }) {
      const n = height * width;
      if ((n & (n - 1)) !== 0) {
        throw new UserError(`cs needs H·W to be a power of two, got ${width}x${height}`);
      }
      const perm = task.csPermutation instanceof Int32Array
        ? task.csPermutation
        : seededPermutation(n, task.csPermutation ?? 0);
      if (perm.length !== n) {
        throw new UserError(`cs permutation has ${perm.length} entries, need ${n}`);
      }
      return new WalshHadamardCs(channels, height, width, task.ratio!, perm);
    },
  },
  "cs-block": {
    summary: "block compressed sensing, 32x32 blocks (--ratio R; input: the .npy from 'degrade')",
    needs: "ratio",
    measured: true,
    local: false,
    simplified: false,
    // y is [1, C, blocks, K]: the image has blocks x 1024 pixels, K = floor(1024 / R)
    outputSize(task, h, w) {
      const kept = Math.floor(1024 / task.ratio!);
      if (w !== kept) {
        throw new UserError(
          `cs-block: the measurements have ${w} values per block, ratio ${task.ratio} gives ${kept}`,
        );
      }
      return _square(h * 1024, `cs-block: ${h} blocks of 32x32`);
    },
    build(task, { channels, height, width }) {
      if (height % 32 !== 0 || width % 32 !== 0) {
        throw new UserError(`cs-block needs H and W multiples of 32, got ${width}x${height}`);
      }
      const seed = typeof task.csPermutation === "number" ? task.csPermutation : 0;
      return new BlockCs(channels, height, width, task.ratio!, seed);
    },
  },
};

/** Every task name, in help order. */
export const DDNM_TASKS: readonly DdnmTaskName[] = Object.keys(DDNM_TASK_TABLE) as DdnmTaskName[];

/**
 * The table's row of a task name, or a {@linkcode UserError} naming the tasks there are.
 *
 * @example
 * ```ts
 * import { ddnmTaskSpec } from "./ddnm_tasks.ts";
 * console.log(ddnmTaskSpec("cs-block").measured); // true
 * ```
 *
 * @param name The task's name.
 * @returns Its row.
 */
export function ddnmTaskSpec(name: string): DdnmTaskSpec {
  if (!Object.hasOwn(DDNM_TASK_TABLE, name)) {
    throw UserError.option("task.name", `one of ${DDNM_TASKS.join(", ")}`, name);
  }
  return DDNM_TASK_TABLE[name as DdnmTaskName];
}

/**
 * One help line per task, from the table.
 *
 * @param indent Spaces before each line.
 * @returns The lines.
 */
export function ddnmTaskHelp(indent = "  "): string {
  const width = Math.max(...DDNM_TASKS.map((n) => n.length));
  return DDNM_TASKS.map((n) => `${indent}${n.padEnd(width)}  ${DDNM_TASK_TABLE[n].summary}`)
    .join("\n");
}

/**
 * Check a task's parameters; throws a {@linkcode UserError} naming the problem.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateTask } from "@diffrestore/sampler/operators";
 *
 * validateTask({ name: "sr", scale: 4 }, "svd");
 * assert.throws(() => validateTask({ name: "sr" }, "svd"), /task\.scale must be an integer >= 1/);
 * ```
 *
 * @param task The task.
 * @param variant The DDNM code path.
 */
export function validateTask(task: DdnmTask, variant: DdnmVariant): void {
  const spec = ddnmTaskSpec(task.name);
  if (spec.needs === "scale" && (!Number.isInteger(task.scale) || (task.scale as number) < 1)) {
    throw UserError.option("task.scale", `an integer >= 1 for task ${task.name}`, task.scale);
  }
  if (spec.needs === "ratio" && (!Number.isInteger(task.ratio) || (task.ratio as number) < 1)) {
    throw UserError.option("task.ratio", `an integer >= 1 for task ${task.name}`, task.ratio);
  }
  if (
    task.name === "deblur" && task.kernel && !["gauss", "uniform", "aniso"].includes(task.kernel)
  ) {
    throw UserError.option("task.kernel", "gauss, uniform or aniso", task.kernel);
  }
  if (variant === "simplified" && !spec.simplified) {
    const offered = DDNM_TASKS.filter((n) => DDNM_TASK_TABLE[n].simplified).join(", ");
    throw UserError.option(
      "variant",
      `svd for task ${task.name} (the simplified path has operators for ${offered} only)`,
      variant,
    );
  }
}

/**
 * The output size [H, W] for an observation of size [h, w].
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { outputSize } from "@diffrestore/sampler/operators";
 *
 * assert.deepEqual(outputSize({ name: "sr", scale: 4 }, 64, 48), [256, 192]);
 * assert.deepEqual(outputSize({ name: "denoise" }, 64, 48), [64, 48]);
 * ```
 *
 * @param task The task.
 * @param h Observation height (for measurements: the second-to-last dimension).
 * @param w Observation width (for measurements: the last dimension).
 * @returns Output height and width.
 */
export function outputSize(task: DdnmTask, h: number, w: number): [number, number] {
  return ddnmTaskSpec(task.name).outputSize(task, h, w);
}

/**
 * Build the operator of a task at an output size.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildOperator } from "@diffrestore/sampler";
 *
 * const op = buildOperator({ name: "sr", scale: 4 }, 3, 64, 64, "svd");
 * assert.deepEqual(op.yShape, [1, 3, 16, 16]);
 * const y = op.A(new Float32Array(3 * 64 * 64).fill(0.5));
 * assert.ok(Math.abs(y[0] - 0.5) < 1e-6); // a 4x4 average keeps a flat image
 * ```
 *
 * @param task The task.
 * @param channels Model channels.
 * @param height Output height.
 * @param width Output width.
 * @param variant `svd` or `simplified` (simplified colorization uses 1/3 weights).
 * @param mask Known pixels (inpaint), per output pixel.
 * @returns The operator.
 */
export function buildOperator(
  task: DdnmTask,
  channels: number,
  height: number,
  width: number,
  variant: DdnmVariant,
  mask?: Uint8Array,
): DegradationOperator {
  return ddnmTaskSpec(task.name).build(task, { channels, height, width, variant, mask });
}

/**
 * The observation y (model units) from an observed image in [0,1]: each pixel mapped into the
 * model range; a colour image for colorize is first made gray by A itself; a measurement
 * vector (cs, cs-block) is taken as it is.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildOperator, observationFor, Tensor } from "@diffrestore/sampler";
 *
 * const op = buildOperator({ name: "sr", scale: 2 }, 3, 8, 8, "svd");
 * const y = observationFor(op, new Tensor([1, 3, 4, 4], new Float32Array(48).fill(1)), [-1, 1]);
 * assert.equal(y.length, 48);
 * assert.equal(y[0], 1); // white in [0,1] is 1 in the model's [-1, 1]
 * ```
 *
 * @param op The operator.
 * @param observed The observed image [1, C, h, w] in [0,1] (or the measurements).
 * @param range The model's range.
 * @returns y.
 */
export function observationFor(
  op: DegradationOperator,
  observed: Tensor,
  range: readonly [number, number],
): Float32Array {
  const [lo, hi] = range;
  // a user's own operator (a name outside the table) observes an image
  const measured = Object.hasOwn(DDNM_TASK_TABLE, op.name) && ddnmTaskSpec(op.name).measured;
  const toModel = (t: Tensor) => (measured ? t : t.map((v) => lo + (hi - lo) * v));
  if (op.name === "colorize" && observed.c === 3) {
    return op.A(toModel(observed).data);
  }
  const want = op.yShape[1];
  let img = observed;
  if (!measured && img.c !== want) {
    if (img.c === 1 && want === 3) img = grayToRgb(img);
    else {
      throw new UserError(`the observation has ${img.c} channels, the task needs ${want}`);
    }
  }
  try {
    return op.observe(toModel(img));
  } catch (e) {
    if (e instanceof RangeError) throw new UserError(e.message);
    throw e;
  }
}
