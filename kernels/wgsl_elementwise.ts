/**
 * WGSL element-wise kernels: linear combinations (1 to 4 terms), blend, per-pixel map, and a
 * finiteness check that records the first bad step without a readback.
 *
 * @module
 */

/** Workgroup size of every element-wise kernel. */
export const WORKGROUP = 256;

const _INDEX = /* wgsl */ `
fn flat(g: vec3u, nw: vec3u) -> u32 { return g.x + g.y * nw.x * ${WORKGROUP}u; }
`;

/**
 * out = Σ_k c_k t_k for `terms` inputs.
 *
 * @param terms 1 to 4.
 * @returns The shader.
 */
export function combineShader(terms: number): string {
  const names = ["a", "b", "c", "d"].slice(0, terms);
  const bindings = names.map((n, k) =>
    `@group(0) @binding(${k + 2}) var<storage, read> ${n}: array<f32>;`
  ).join("\n");
  const sum = names.map((n, k) => `p.c[${k}] * ${n}[i]`).join(" + ");
  return /* wgsl */ `
struct P { n: u32, pad0: u32, pad1: u32, pad2: u32, c: vec4f }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
${bindings}
${_INDEX}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = flat(g, nw);
  if (i >= p.n) { return; }
  out[i] = ${sum};
}`;
}

/** out = mask ? a : b. */
export const BLEND_SHADER: string = /* wgsl */ `
struct P { n: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> mask: array<f32>;
@group(0) @binding(3) var<storage, read> a: array<f32>;
@group(0) @binding(4) var<storage, read> b: array<f32>;
${_INDEX}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = flat(g, nw);
  if (i >= p.n) { return; }
  out[i] = select(b[i], a[i], mask[i] != 0.0);
}`;

/** out = t ⊙ map (map per pixel). */
export const MULMAP_SHADER: string = /* wgsl */ `
struct P { n: u32, plane: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> t: array<f32>;
@group(0) @binding(3) var<storage, read> m: array<f32>;
${_INDEX}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = flat(g, nw);
  if (i >= p.n) { return; }
  out[i] = t[i] * m[i % p.plane];
}`;

/** flag = min(flag, step) when any value is NaN or ±Inf. */
export const FINITE_SHADER: string = /* wgsl */ `
struct P { n: u32, step: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> flag: array<atomic<u32>>;
@group(0) @binding(2) var<storage, read> t: array<f32>;
${_INDEX}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = flat(g, nw);
  if (i >= p.n) { return; }
  let v = t[i];
  // NaN fails v == v; an infinity is larger than the largest finite f32
  if (!(v == v) || abs(v) > 3.4028235e38) { atomicMin(&flag[0], p.step); }
}`;
