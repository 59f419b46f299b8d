/**
 * WGSL kernels of DDNM's operators: the null-space projection x̂0 = x0 − λ A⁺(A x0 − y) and
 * DDNM+'s noise term V(d ⊙ P z + d' ⊙ P ε) for the block and mask operators, and the strided
 * matrix products and Walsh-Hadamard passes the separable and CS operators are built from.
 *
 * @module
 */

import { wgslKernel } from "../lib/wgsl_kernel.ts";

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

/** Mask projection per element: kept pixels x0 − λ(x0 − y), missing ones x0. */
export const MASK_PROJECT_SHADER: string = wgslKernel({
  params: "n: u32, plane: u32, lambda: f32",
  inputs: ["x0: array<f32>", "y: array<f32>", "mask: array<u32>"],
  bound: "p.n",
  body: /* wgsl */ `
  let v = x0[i];
  out[i] = select(v, v - p.lambda * (v - y[i]), mask[i % p.plane] == 1u);`,
});

/** Mask DDNM+ noise term per element: (k1, k2) on kept pixels, (m1, m2) on missing ones. */
export const MASK_NOISE_SHADER: string = wgslKernel({
  params: "n: u32, plane: u32, k1: f32, k2: f32, m1: f32, m2: f32",
  inputs: ["z: array<f32>", "eps: array<f32>", "mask: array<u32>"],
  bound: "p.n",
  body: /* wgsl */ `
  let kept = mask[i % p.plane] == 1u;
  out[i] = select(p.m1 * z[i] + p.m2 * eps[i], p.k1 * z[i] + p.k2 * eps[i], kept);`,
});

/**
 * out[b, i, j] = Σ_kk x[b·xPlane + i·xi + kk·xk + j·xj] · w[i·wi + j·wj + kk·wk]: one kernel
 * for L · X[b] (w = L) and X[b] · Rᵀ (w = R), chosen by the strides.
 */
export const MATMUL_SHADER: string = wgslKernel({
  params: "planes: u32, m: u32, k: u32, n: u32, xPlane: u32, xi: u32, xk: u32, xj: u32, " +
    "wi: u32, wj: u32, wk: u32",
  inputs: ["x: array<f32>", "w: array<f32>"],
  index: "o",
  bound: "p.planes * p.m * p.n",
  body: /* wgsl */ `
  let b = o / (p.m * p.n);
  let i = (o / p.n) % p.m;
  let j = o % p.n;
  let xo = b * p.xPlane + i * p.xi + j * p.xj;
  let wo = i * p.wi + j * p.wj;
  var s = 0.0;
  for (var kk = 0u; kk < p.k; kk++) { s += x[xo + kk * p.xk] * w[wo + kk * p.wk]; }
  out[o] = s;`,
});

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
