/**
 * WebGPU kernels of the row-block operators (average pooling, colorization): one thread per
 * block applies the block's row, its pseudo-inverse and its Householder V (blocks of at most
 * {@linkcode MAX_BLOCK} values; larger ones run their CPU math inside the backend).
 *
 * @module
 */

import { wgslKernel } from "../lib/wgsl_kernel.ts";
import type { GpuContext } from "./gpu_context.ts";
import type { GpuOperator } from "./gpu_operator.ts";
import type { RowBlockOperator } from "./row_block_operator.ts";

/** The largest block (r² for pooling, 3 for colorization) the block kernels handle. */
export const MAX_BLOCK = 64;

/** The inputs of the row-block kernels after the two tensors. */
const _ROW_TABLES = ["idx: array<u32>", "coef: array<f32>"];

/**
 * Row-block projection, one thread per block. `coef` holds row (m values), row/‖row‖² (m),
 * and the Householder w (m).
 */
export const ROW_PROJECT_SHADER: string = wgslKernel({
  params: "blocks: u32, m: u32, lambda: f32",
  inputs: ["x0: array<f32>", "y: array<f32>", ..._ROW_TABLES],
  index: "b",
  bound: "p.blocks",
  body: /* wgsl */ `
  let o = b * p.m;
  var s = 0.0;
  for (var k = 0u; k < p.m; k++) { s += coef[k] * x0[idx[o + k]]; }
  let r = p.lambda * (s - y[b]);
  for (var k = 0u; k < p.m; k++) { let j = idx[o + k]; out[j] = x0[j] - r * coef[p.m + k]; }`,
});

/** Row-block DDNM+ noise term, one thread per block (m ≤ 64). */
export const ROW_NOISE_SHADER: string = wgslKernel({
  params: "blocks: u32, m: u32, fixed: u32, scale: f32, r1: f32, r2: f32, n1: f32, n2: f32",
  inputs: ["z: array<f32>", "eps: array<f32>", ..._ROW_TABLES],
  helpers: /* wgsl */ `
fn house(v: ptr<function, array<f32, ${MAX_BLOCK}>>, m: u32, wOff: u32) {
  var d = 0.0;
  for (var k = 0u; k < m; k++) { d += coef[wOff + k] * (*v)[k]; }
  let s = d * p.scale;
  for (var k = 0u; k < m; k++) { (*v)[k] -= s * coef[wOff + k]; }
}`,
  index: "b",
  bound: "p.blocks",
  body: /* wgsl */ `
  let o = b * p.m;
  let wOff = 2u * p.m;
  var pz: array<f32, ${MAX_BLOCK}>;
  var pe: array<f32, ${MAX_BLOCK}>;
  for (var k = 0u; k < p.m; k++) { pz[k] = z[idx[o + k]]; pe[k] = eps[idx[o + k]]; }
  if (p.fixed == 1u) { house(&pz, p.m, wOff); house(&pe, p.m, wOff); }
  pz[0] = p.r1 * pz[0] + p.r2 * pe[0];
  for (var k = 1u; k < p.m; k++) { pz[k] = p.n1 * pz[k] + p.n2 * pe[k]; }
  house(&pz, p.m, wOff);
  for (var k = 0u; k < p.m; k++) { out[idx[o + k]] = pz[k]; }`,
});

/** The block index table and the coefficients (row, row/‖row‖², Householder w), uploaded once. */
function _rowTables(gpu: GpuContext, op: RowBlockOperator): [GPUBuffer, GPUBuffer] {
  const m = op.blockSize;
  const n2 = op.v.singular ** 2;
  const coef = new Float32Array(3 * m);
  for (let k = 0; k < m; k++) {
    coef[k] = op.row[k];
    coef[m + k] = op.row[k] / n2;
    coef[2 * m + k] = op.v.w[k];
  }
  const index = new Uint32Array(op.index.buffer, op.index.byteOffset, op.index.length);
  return [gpu.constant(op.index, index), gpu.constant(op, coef)];
}

/** The row-block operators' kernels. */
export const ROW_BLOCK_GPU: GpuOperator<RowBlockOperator> = {
  supports: (op) => op.blockSize <= MAX_BLOCK,
  project(gpu, op, x0, y, scale, out) {
    const params = new ArrayBuffer(16);
    new Uint32Array(params, 0, 2).set([op.blocks, op.blockSize]);
    new Float32Array(params, 8, 1)[0] = scale ? scale.lambda(op.v.singular) : 1;
    gpu.dispatch("rowProject", ROW_PROJECT_SHADER, params, [
      gpu.output(out, [x0]),
      gpu.input(x0),
      gpu.constant(y, y),
      ..._rowTables(gpu, op),
    ], op.blocks);
  },
  lambdaNoise(gpu, op, z, eps, scale, fixed, out) {
    const [r1, r2] = scale.noise(op.v.singular), [n1, n2] = scale.noise(0);
    const params = new ArrayBuffer(32);
    new Uint32Array(params, 0, 3).set([op.blocks, op.blockSize, fixed ? 1 : 0]);
    new Float32Array(params, 12, 5).set([op.v.scale, r1, r2, n1, n2]);
    const zb = gpu.input(z), eb = gpu.input(eps);
    gpu.dispatch("rowNoise", ROW_NOISE_SHADER, params, [
      gpu.output(out, [z, eps]),
      zb,
      eb,
      ..._rowTables(gpu, op),
    ], op.blocks);
  },
};
