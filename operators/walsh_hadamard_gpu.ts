/**
 * WebGPU kernels of Walsh-Hadamard compressed sensing: the orthonormal transform as log2(N)
 * butterfly passes, the projection in coefficient space and DDNM+'s noise mix on the kept
 * coefficients.
 *
 * @module
 */

import { Tensor } from "../lib/tensor.ts";
import { wgslKernel } from "../lib/wgsl_kernel.ts";
import type { GpuContext } from "./gpu_context.ts";
import type { GpuOperator } from "./gpu_operator.ts";
import { mixKeptNoiseGpu } from "./masking_gpu.ts";
import type { WalshHadamardCs } from "./walsh_hadamard.ts";

/** One butterfly pass of the Walsh-Hadamard transform over each plane (span h), optionally scaled. */
export const FWHT_PASS_SHADER: string = wgslKernel({
  params: "planes: u32, n: u32, h: u32, scale: f32",
  inputs: ["x: array<f32>"],
  index: "o",
  bound: "p.planes * p.n",
  body: /* wgsl */ `
  let base = (o / p.n) * p.n;
  let i = o % p.n;
  let partner = i ^ p.h;
  let a = x[base + min(i, partner)];
  let c = x[base + max(i, partner)];
  out[o] = select(a + c, a - c, (i & p.h) != 0u) * p.scale;`,
});

/** The orthonormal Walsh-Hadamard transform of each plane of n values, into a new tensor. */
function _fwht(gpu: GpuContext, x: Tensor, n: number): Tensor {
  let cur = x;
  for (let hh = 1; hh < n; hh *= 2) {
    const next = Tensor.zeros(x.shape);
    const params = new ArrayBuffer(16);
    new Uint32Array(params, 0, 3).set([x.size / n, n, hh]);
    new Float32Array(params, 12, 1)[0] = hh * 2 === n ? 1 / Math.sqrt(n) : 1;
    gpu.dispatch(
      "fwht",
      FWHT_PASS_SHADER,
      params,
      [gpu.output(next, [cur]), gpu.input(cur)],
      x.size,
    );
    cur = next;
  }
  return cur;
}

/** The kept-coefficient mask (float for maps, u32 for the mix kernel) and the plane size. */
interface _WhtGpu {
  mask: GPUBuffer;
  maskU32: GPUBuffer;
  n: number;
}

function _constants(gpu: GpuContext, op: WalshHadamardCs): _WhtGpu {
  return gpu.cached(op, "walshHadamard", () => {
    const n = op.xShape[2] * op.xShape[3];
    const mask = new Float32Array(n);
    for (let q = 0; q < op.kept; q++) mask[op.perm[q]] = 1;
    return {
      mask: gpu.constant(mask, mask),
      maskU32: gpu.constant(op.perm, Uint32Array.from(mask)),
      n,
    };
  });
}

/** y scattered into coefficient space (zeros at the unmeasured coefficients), once per y. */
function _scattered(gpu: GpuContext, op: WalshHadamardCs, y: Float32Array, x0: Tensor): Tensor {
  const n = op.xShape[2] * op.xShape[3];
  const full = gpu.cached(y, "scattered", () => {
    const full = new Float32Array(x0.size);
    for (let ch = 0; ch < op.xShape[1]; ch++) {
      for (let q = 0; q < op.kept; q++) full[ch * n + op.perm[q]] = y[ch * op.kept + q];
    }
    return full;
  });
  return gpu.observation(full, x0.shape);
}

/** Walsh-Hadamard CS's kernels. */
export const WALSH_HADAMARD_GPU: GpuOperator<WalshHadamardCs> = {
  // x0 − λ fwht(M ⊙ fwht(x0) − y scattered)
  project(gpu, op, x0, y, scale, out) {
    const { mask, n } = _constants(gpu, op);
    const f = _fwht(gpu, x0, n);
    gpu.mulMap(f, f, mask, n);
    gpu.combine(f, [[1, f], [-1, _scattered(gpu, op, y, x0)]]);
    const back = _fwht(gpu, f, n);
    gpu.combine(out, [[1, x0], [-(scale ? scale.lambda(1) : 1), back]]);
  },
  // fwht(D1 ⊙ P z + D2 ⊙ P ε), P the identity (the reference's quirk) or fwht
  lambdaNoise(gpu, op, z, eps, scale, fixed, out) {
    const { maskU32, n } = _constants(gpu, op);
    const pz = fixed ? _fwht(gpu, z, n) : z, pe = fixed ? _fwht(gpu, eps, n) : eps;
    const a = mixKeptNoiseGpu(gpu, maskU32, n, scale, pz, pe, Tensor.zeros(z.shape));
    gpu.combine(out, [[1, _fwht(gpu, a, n)]]);
  },
};
