/**
 * WGSL kernels of DDNM's block and mask operators: the null-space projection
 * x̂0 = x0 − λ A⁺(A x0 − y) and DDNM+'s noise term V(d ⊙ P z + d' ⊙ P ε).
 *
 * @module
 */

import { WORKGROUP } from "./wgsl_elementwise.ts";

/** The largest block (r² for pooling, 3 for colorization) the block kernels handle. */
export const MAX_BLOCK = 64;

/**
 * Row-block projection, one thread per block. `coef` holds row (m values), row/‖row‖² (m),
 * and the Householder w (m).
 */
export const ROW_PROJECT_SHADER: string = /* wgsl */ `
struct P { blocks: u32, m: u32, lambda: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x0: array<f32>;
@group(0) @binding(3) var<storage, read> y: array<f32>;
@group(0) @binding(4) var<storage, read> idx: array<u32>;
@group(0) @binding(5) var<storage, read> coef: array<f32>;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let b = g.x + g.y * nw.x * ${WORKGROUP}u;
  if (b >= p.blocks) { return; }
  let o = b * p.m;
  var s = 0.0;
  for (var k = 0u; k < p.m; k++) { s += coef[k] * x0[idx[o + k]]; }
  let r = p.lambda * (s - y[b]);
  for (var k = 0u; k < p.m; k++) { let j = idx[o + k]; out[j] = x0[j] - r * coef[p.m + k]; }
}`;

/** Row-block DDNM+ noise term, one thread per block (m ≤ 64). */
export const ROW_NOISE_SHADER: string = /* wgsl */ `
struct P { blocks: u32, m: u32, fixed: u32, scale: f32, r1: f32, r2: f32, n1: f32, n2: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> z: array<f32>;
@group(0) @binding(3) var<storage, read> eps: array<f32>;
@group(0) @binding(4) var<storage, read> idx: array<u32>;
@group(0) @binding(5) var<storage, read> coef: array<f32>;
fn house(v: ptr<function, array<f32, ${MAX_BLOCK}>>, m: u32, wOff: u32) {
  var d = 0.0;
  for (var k = 0u; k < m; k++) { d += coef[wOff + k] * (*v)[k]; }
  let s = d * p.scale;
  for (var k = 0u; k < m; k++) { (*v)[k] -= s * coef[wOff + k]; }
}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let b = g.x + g.y * nw.x * ${WORKGROUP}u;
  if (b >= p.blocks) { return; }
  let o = b * p.m;
  let wOff = 2u * p.m;
  var pz: array<f32, ${MAX_BLOCK}>;
  var pe: array<f32, ${MAX_BLOCK}>;
  for (var k = 0u; k < p.m; k++) { pz[k] = z[idx[o + k]]; pe[k] = eps[idx[o + k]]; }
  if (p.fixed == 1u) { house(&pz, p.m, wOff); house(&pe, p.m, wOff); }
  pz[0] = p.r1 * pz[0] + p.r2 * pe[0];
  for (var k = 1u; k < p.m; k++) { pz[k] = p.n1 * pz[k] + p.n2 * pe[k]; }
  house(&pz, p.m, wOff);
  for (var k = 0u; k < p.m; k++) { out[idx[o + k]] = pz[k]; }
}`;

/** Mask projection per element: kept pixels x0 − λ(x0 − y), missing ones x0. */
export const MASK_PROJECT_SHADER: string = /* wgsl */ `
struct P { n: u32, plane: u32, lambda: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x0: array<f32>;
@group(0) @binding(3) var<storage, read> y: array<f32>;
@group(0) @binding(4) var<storage, read> mask: array<u32>;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * ${WORKGROUP}u;
  if (i >= p.n) { return; }
  let v = x0[i];
  out[i] = select(v, v - p.lambda * (v - y[i]), mask[i % p.plane] == 1u);
}`;

/** Mask DDNM+ noise term per element. */
export const MASK_NOISE_SHADER: string = /* wgsl */ `
struct P { n: u32, plane: u32, k1: f32, k2: f32, m1: f32, m2: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> z: array<f32>;
@group(0) @binding(3) var<storage, read> eps: array<f32>;
@group(0) @binding(4) var<storage, read> mask: array<u32>;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = g.x + g.y * nw.x * ${WORKGROUP}u;
  if (i >= p.n) { return; }
  let kept = mask[i % p.plane] == 1u;
  out[i] = select(p.m1 * z[i] + p.m2 * eps[i], p.k1 * z[i] + p.k2 * eps[i], kept);
}`;

/** out[b] = L · X[b] for each plane b: L is m x k, X[b] is k x n. */
export const LEFTMUL_SHADER: string = /* wgsl */ `
struct P { planes: u32, m: u32, k: u32, n: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> l: array<f32>;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let o = g.x + g.y * nw.x * ${WORKGROUP}u;
  if (o >= p.planes * p.m * p.n) { return; }
  let b = o / (p.m * p.n);
  let i = (o / p.n) % p.m;
  let j = o % p.n;
  var s = 0.0;
  for (var kk = 0u; kk < p.k; kk++) { s += l[i * p.k + kk] * x[b * p.k * p.n + kk * p.n + j]; }
  out[o] = s;
}`;

/** out[b] = X[b] · Rᵀ for each plane b: X[b] is m x k, R is n x k. */
export const RIGHTMUL_SHADER: string = /* wgsl */ `
struct P { planes: u32, m: u32, k: u32, n: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> r: array<f32>;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let o = g.x + g.y * nw.x * ${WORKGROUP}u;
  if (o >= p.planes * p.m * p.n) { return; }
  let b = o / (p.m * p.n);
  let i = (o / p.n) % p.m;
  let j = o % p.n;
  var s = 0.0;
  for (var kk = 0u; kk < p.k; kk++) { s += x[b * p.m * p.k + i * p.k + kk] * r[j * p.k + kk]; }
  out[o] = s;
}`;

/** One butterfly pass of the Walsh-Hadamard transform over each plane (span h), optionally scaled. */
export const FWHT_PASS_SHADER: string = /* wgsl */ `
struct P { planes: u32, n: u32, h: u32, scale: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let o = g.x + g.y * nw.x * ${WORKGROUP}u;
  if (o >= p.planes * p.n) { return; }
  let b = o / p.n;
  let i = o % p.n;
  let base = b * p.n;
  let partner = i ^ p.h;
  let a = x[base + min(i, partner)];
  let c = x[base + max(i, partner)];
  out[o] = select(a + c, a - c, (i & p.h) != 0u) * p.scale;
}`;
