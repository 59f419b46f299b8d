/**
 * WebGPU kernels of block compressed sensing: the 32x32 blocks gathered into matrix rows,
 * measured with Q's kept rows by the per-plane matrix product, and scattered back.
 *
 * @module
 */

import { Tensor } from "../lib/tensor.ts";
import { transpose } from "../lib/matmul.ts";
import { wgslKernel } from "../lib/wgsl_kernel.ts";
import type { GpuContext } from "./gpu_context.ts";
import type { GpuOperator } from "./gpu_operator.ts";
import { mixKeptNoiseGpu } from "./masking_gpu.ts";
import type { BlockCs } from "./block_cs.ts";

/** Values in a 32x32 block. */
const _N = 1024;

/**
 * Block CS's 32x32 blocks as matrix rows and back: gather (scatter = 0) writes
 * out[c, b, q] = x[c, 32·by + q/32, 32·bx + q%32] for block b = by·bw + bx; scatter (1) inverts it.
 */
export const BLOCK_PERMUTE_SHADER: string = wgslKernel({
  params: "n: u32, h: u32, w: u32, scatter: u32",
  inputs: ["x: array<f32>"],
  index: "o",
  bound: "p.n",
  body: /* wgsl */ `
  let plane = p.h * p.w;
  let c = o / plane;
  let bw = p.w / 32u;
  var row: u32;
  var col: u32;
  var block: u32;
  if (p.scatter == 0u) {
    block = (o % plane) / 1024u;
    let q = o % 1024u;
    row = (block / bw) * 32u + q / 32u;
    col = (block % bw) * 32u + q % 32u;
    out[o] = x[c * plane + row * p.w + col];
  } else {
    row = (o / p.w) % p.h;
    col = o % p.w;
    block = (row / 32u) * bw + col / 32u;
    out[o] = x[c * plane + block * 1024u + (row % 32u) * 32u + col % 32u];
  }`,
});

/** Q's first K rows, their transpose, Q, Qᵀ and the kept-coordinate mask on the device. */
interface _BlockCsGpu {
  kept: GPUBuffer;
  keptT: GPUBuffer;
  q: GPUBuffer;
  qT: GPUBuffer;
  mask: GPUBuffer;
}

function _constants(gpu: GpuContext, op: BlockCs): _BlockCsGpu {
  return gpu.cached(op, "blockCs", () => {
    const k = op.kept, q = op.q;
    const matrix = (values: ArrayLike<number>) => gpu.constant({}, Float32Array.from(values));
    return {
      kept: matrix(q.subarray(0, k * _N)),
      keptT: matrix(transpose(q.subarray(0, k * _N), k, _N)),
      q: matrix(q),
      qT: matrix(transpose(q, _N, _N)),
      mask: gpu.constant({}, Uint32Array.from({ length: _N }, (_, r) => (r < k ? 1 : 0))),
    };
  });
}

/** Gather the 32x32 blocks into rows of a [C, blocks, 1024] tensor, or scatter them back. */
function _permute(gpu: GpuContext, op: BlockCs, t: Tensor, scatter: boolean): Tensor {
  const [, , h, w] = op.xShape;
  const out = Tensor.zeros(t.shape);
  const params = new Uint32Array([t.size, h, w, scatter ? 1 : 0]).buffer;
  gpu.dispatch("blockPermute", BLOCK_PERMUTE_SHADER, params, [
    gpu.output(out, [t]),
    gpu.input(t),
  ], t.size);
  return out;
}

/** Block CS's kernels. */
export const BLOCK_CS_GPU: GpuOperator<BlockCs> = {
  // x0 − λ Q_Kᵀ(Q_K B x0 − y) per block, with B the block gather
  project(gpu, op, x0, y, scale, out) {
    const c = _constants(gpu, op), blocks = op.yShape[2], k = op.kept;
    const rows = _permute(gpu, op, x0, false);
    const measured = gpu.matmul(rows, c.kept, false, blocks, _N, k);
    gpu.combine(measured, [[1, measured], [-1, gpu.observation(y, op.yShape)]]);
    const back = _permute(gpu, op, gpu.matmul(measured, c.keptT, false, blocks, k, _N), true);
    gpu.combine(out, [[1, x0], [-(scale ? scale.lambda(1) : 1), back]]);
  },
  // Qᵀ(d ⊙ (Q) B z, d ⊙ (Q) B ε) per block, scattered back
  lambdaNoise(gpu, op, z, eps, scale, fixed, out) {
    const c = _constants(gpu, op), blocks = op.yShape[2];
    const rotate = (t: Tensor) => {
      const rows = _permute(gpu, op, t, false);
      return fixed ? gpu.matmul(rows, c.q, false, blocks, _N, _N) : rows;
    };
    const mixed = mixKeptNoiseGpu(
      gpu,
      c.mask,
      _N,
      scale,
      rotate(z),
      rotate(eps),
      Tensor.zeros(z.shape),
    );
    const back = gpu.matmul(mixed, c.qT, false, blocks, _N, _N);
    gpu.combine(out, [[1, _permute(gpu, op, back, true)]]);
  },
};
