/**
 * WGSL element-wise kernels: linear combinations (1 to 4 terms), blend, per-pixel map, clamp, and a
 * finiteness check that records the first bad step without a readback.
 *
 * @module
 */

import { wgslKernel } from "../lib/wgsl_kernel.ts";

/**
 * out = Σ_k c_k t_k for `terms` inputs.
 *
 * @param terms 1 to 4.
 * @returns The shader.
 */
export function combineShader(terms: number): string {
  const names = ["a", "b", "c", "d"].slice(0, terms);
  return wgslKernel({
    params: "n: u32, pad0: u32, pad1: u32, pad2: u32, c: vec4f",
    inputs: names.map((n) => `${n}: array<f32>`),
    bound: "p.n",
    body: `out[i] = ${names.map((n, k) => `p.c[${k}] * ${n}[i]`).join(" + ")};`,
  });
}

/** out = mask ? a : b. */
export const BLEND_SHADER: string = wgslKernel({
  params: "n: u32",
  inputs: ["mask: array<f32>", "a: array<f32>", "b: array<f32>"],
  bound: "p.n",
  body: "out[i] = select(b[i], a[i], mask[i] != 0.0);",
});

/** out = t ⊙ map (map per pixel). */
export const MULMAP_SHADER: string = wgslKernel({
  params: "n: u32, plane: u32",
  inputs: ["t: array<f32>", "m: array<f32>"],
  bound: "p.n",
  body: "out[i] = t[i] * m[i % p.plane];",
});

/** out = min(max(t, lo), hi). */
export const CLAMP_SHADER: string = wgslKernel({
  params: "n: u32, lo: f32, hi: f32",
  inputs: ["t: array<f32>"],
  bound: "p.n",
  body: "out[i] = min(max(t[i], p.lo), p.hi);",
});

/** out[0] = min(out[0], step) when any value is NaN or ±Inf. */
export const FINITE_SHADER: string = wgslKernel({
  params: "n: u32, step: u32",
  inputs: ["t: array<f32>"],
  output: "array<atomic<u32>>",
  bound: "p.n",
  // NaN fails v == v; an infinity is larger than the largest finite f32
  body: "let v = t[i];\n  if (!(v == v) || abs(v) > 3.4028235e38) { atomicMin(&out[0], p.step); }",
});
