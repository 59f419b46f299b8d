/**
 * WebGPU kernels of the separable operators (blur, bicubic SR): A and A⁺ as per-plane matrix
 * products L · X · Rᵀ through the 1-D SVDs, and DDNM+'s Λ and d as per-pixel maps over the
 * singular values (docs/ddnm.md).
 *
 * @module
 */

import { Tensor } from "../lib/tensor.ts";
import { transpose } from "../lib/matmul.ts";
import type { GpuContext } from "./gpu_context.ts";
import type { GpuOperator } from "./gpu_operator.ts";
import { type SeparableOperator, SINGULAR_ZERO, truncatedMatrix } from "./separable_operator.ts";

/** A separable operator's matrices and singular-value maps on the device. */
interface _SeparableGpu {
  h: number;
  w: number;
  mh: number;
  mw: number;
  mats: Record<string, GPUBuffer>;
  /** Per-channel effective singular values (C·h·w), zero outside the kept block. */
  e: GPUBuffer;
  /** Their reciprocals (0 where zero). */
  invE: Float32Array;
  invEBuffer: GPUBuffer;
}

function _constants(gpu: GpuContext, op: SeparableOperator): _SeparableGpu {
  return gpu.cached(op, "separable", () => {
    const [, planes, h, w] = op.xShape;
    const mh = op.rowsH, mw = op.rowsW;
    const pad = (u: Float64Array, rows: number, r: number, cols: number) => {
      const o = new Float64Array(rows * cols);
      for (let i = 0; i < rows; i++) for (let j = 0; j < r; j++) o[i * cols + j] = u[i * r + j];
      return o;
    };
    const trunc = (v: Float64Array) => v.map((x) => (x < SINGULAR_ZERO ? 0 : x));
    const uhF = pad(op.svdH.u, mh, Math.min(mh, h), h),
      uwF = pad(op.svdW.u, mw, Math.min(mw, w), w);
    const mats: Record<string, ArrayLike<number>> = {
      vhT: transpose(op.svdH.v, h, h),
      vh: op.svdH.v,
      vwT: transpose(op.svdW.v, w, w),
      vw: op.svdW.v,
      uhF,
      uhFT: transpose(uhF, mh, h),
      uwF,
      uwFT: transpose(uwF, mw, w),
      hh: truncatedMatrix(op.svdH, mh, h, trunc(op.svdH.s), false),
      hw: truncatedMatrix(op.svdW, mw, w, trunc(op.svdW.s), false),
      hhp: truncatedMatrix(op.svdH, mh, h, trunc(op.svdH.s), true),
      hwp: truncatedMatrix(op.svdW, mw, w, trunc(op.svdW.s), true),
    };
    const e = new Float32Array(planes * h * w);
    op.effective.forEach((m, ch) => {
      for (let i = 0; i < Math.min(mh, h); i++) {
        for (let j = 0; j < Math.min(mw, w); j++) e[ch * h * w + i * w + j] = m[i * w + j];
      }
    });
    const invE = e.map((v) => (v === 0 ? 0 : 1 / v));
    return {
      h,
      w,
      mh,
      mw,
      mats: Object.fromEntries(
        Object.entries(mats).map(([k, v]) => [k, gpu.constant({}, Float32Array.from(v))]),
      ),
      e: gpu.constant(e, e),
      invE,
      invEBuffer: gpu.constant(invE, invE),
    };
  });
}

/** out = L · x · Rᵀ per plane (x: planes x rows x cols; L: outRows x rows; R: outCols x cols). */
function _sandwich(
  gpu: GpuContext,
  x: Tensor,
  l: GPUBuffer,
  r: GPUBuffer,
  rows: number,
  cols: number,
  outRows: number,
  outCols: number,
): Tensor {
  const left = gpu.matmul(x, l, true, outRows, rows, cols);
  return gpu.matmul(left, r, false, outRows, cols, outCols);
}

/** The separable operators' kernels. */
export const SEPARABLE_GPU: GpuOperator<SeparableOperator> = {
  project(gpu, op, x0, y, scale, out) {
    const c = _constants(gpu, op), { h, w, mh, mw, mats } = c;
    const plane = op.xShape[1] * h * w;
    // a dense product when every channel has the same singular values and Λ = I
    const dense = op.effective.every((m) => m === op.effective[0]) && !scale;
    let ax: Tensor;
    if (dense) {
      ax = _sandwich(gpu, x0, mats.hh, mats.hw, h, w, mh, mw);
    } else {
      const s = _sandwich(gpu, x0, mats.vhT, mats.vwT, h, w, h, w);
      gpu.mulMap(s, s, c.e, plane);
      ax = _sandwich(gpu, s, mats.uhF, mats.uwF, h, w, mh, mw);
    }
    gpu.combine(ax, [[1, ax], [-1, gpu.observation(y, ax.shape)]]);
    let back: Tensor;
    if (dense) {
      back = _sandwich(gpu, ax, mats.hhp, mats.hwp, mh, mw, h, w);
    } else {
      const core = _sandwich(gpu, ax, mats.uhFT, mats.uwFT, mh, mw, h, w);
      if (scale) {
        const map = c.invE.map((v, i) => v * scale.lambda(op.original[i % (h * w)]));
        gpu.mulMap(core, core, gpu.stepBuffer(op, "lambda", map), map.length);
      } else gpu.mulMap(core, core, c.invEBuffer, plane);
      back = _sandwich(gpu, core, mats.vh, mats.vw, h, w, h, w);
    }
    gpu.combine(out, [[1, x0], [-1, back]]);
  },
  lambdaNoise(gpu, op, z, eps, scale, fixed, out) {
    const { h, w, mats } = _constants(gpu, op);
    const d = Array.from(op.original, (v) => scale.noise(v));
    const rotate = (t: Tensor) => (fixed ? _sandwich(gpu, t, mats.vhT, mats.vwT, h, w, h, w) : t);
    const scaled = (t: Tensor, k: 0 | 1) =>
      gpu.mulMap(
        Tensor.zeros(z.shape),
        rotate(t),
        gpu.stepBuffer(op, `noise${k}`, Float32Array.from(d, (x) => x[k])),
        d.length,
      );
    const pz = scaled(z, 0), pe = scaled(eps, 1);
    const u = gpu.combine(pz, [[1, pz], [1, pe]]);
    gpu.combine(out, [[1, _sandwich(gpu, u, mats.vh, mats.vw, h, w, h, w)]]);
  },
};
