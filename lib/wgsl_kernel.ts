/**
 * The frame every WGSL compute kernel of the WebGPU backend shares: a uniform `p`, the output
 * buffer at binding 1, read-only inputs from binding 2 on, and a flat index over a 2-D grid of
 * workgroups (so more than 65535 · 256 threads can run).
 *
 * @module
 */

/** Workgroup size of every kernel. */
export const WORKGROUP = 256;

/** What a kernel declares; {@linkcode wgslKernel} writes the rest. */
export interface KernelSpec {
  /** Fields of the uniform struct `P`, e.g. `"n: u32, lambda: f32"`. */
  params: string;
  /** Read-only storage inputs from binding 2 on, e.g. `["x: array<f32>", "idx: array<u32>"]`. */
  inputs: readonly string[];
  /** Type of the output buffer `out` (default `array<f32>`). */
  output?: string;
  /** Helper functions placed before the entry point. */
  helpers?: string;
  /** Name of the flat thread index (default `i`). */
  index?: string;
  /** Expression the index must stay below, e.g. `"p.n"`. */
  bound: string;
  /** Body of the entry point after the bounds check. */
  body: string;
}

/**
 * The WGSL of one compute kernel.
 *
 * @example
 * ```ts
 * import { wgslKernel } from "./wgsl_kernel.ts";
 * const scale = wgslKernel({
 *   params: "n: u32, s: f32",
 *   inputs: ["x: array<f32>"],
 *   bound: "p.n",
 *   body: "out[i] = p.s * x[i];",
 * });
 * console.log(scale.includes("@binding(2) var<storage, read> x")); // true
 * ```
 *
 * @param spec The kernel's parameters, inputs and body.
 * @returns The shader source.
 */
export function wgslKernel(spec: KernelSpec): string {
  const index = spec.index ?? "i";
  const inputs = spec.inputs.map((decl, k) => {
    const [name, type] = decl.split(/:\s*/, 2);
    return `@group(0) @binding(${k + 2}) var<storage, read> ${name}: ${type};`;
  }).join("\n");
  return /* wgsl */ `
struct P { ${spec.params} }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> out: ${spec.output ?? "array<f32>"};
${inputs}
${spec.helpers ?? ""}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let ${index} = g.x + g.y * nw.x * ${WORKGROUP}u;
  if (${index} >= ${spec.bound}) { return; }
  ${spec.body}
}`;
}
