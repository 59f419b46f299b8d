/**
 * The documented Gaussian generator (`lib/noise.ts`) as a WGSL kernel: Philox-4x32-10 in u32
 * arithmetic and Box-Muller with polynomial log, sin and cos (WGSL's built-ins only promise
 * about 2^-11), so the GPU gives the CPU's values to about 1e-6.
 *
 * @module
 */

import { wgslKernel } from "../lib/wgsl_kernel.ts";

/** Fills out[i] with value `offset + i` of (seed, stream). */
export const RANDN_SHADER: string = wgslKernel({
  params: "n: u32, seedLo: u32, seedHi: u32, stream: u32, offLo: u32, offHi: u32",
  inputs: [],
  bound: "p.n",
  helpers: /* wgsl */ `
fn mulhilo(a: u32, b: u32) -> vec2u {
  let al = a & 0xffffu; let ah = a >> 16u; let bl = b & 0xffffu; let bh = b >> 16u;
  let ll = al * bl; let lh = al * bh; let hl = ah * bl; let hh = ah * bh;
  let mid = (ll >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
  return vec2u(hh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u), a * b);
}

fn philox(c: vec4u, k: vec2u) -> vec4u {
  var ctr = c;
  var key = k;
  for (var r = 0u; r < 10u; r++) {
    let p0 = mulhilo(0xD2511F53u, ctr.x);
    let p1 = mulhilo(0xCD9E8D57u, ctr.z);
    ctr = vec4u(p1.x ^ ctr.y ^ key.x, p1.y, p0.x ^ ctr.w ^ key.y, p0.y);
    key = key + vec2u(0x9E3779B9u, 0xBB67AE85u);
  }
  return ctr;
}

// ln x for x in (0, 1]: x = f·2^e with f in [0.707, 1.414), ln f = 2 atanh((f − 1)/(f + 1))
fn ln01(x: f32) -> f32 {
  let fr = frexp(x);
  var f = fr.fract;
  var e = f32(fr.exp);
  if (f < 0.70710678) { f = f * 2.0; e = e - 1.0; }
  let s = (f - 1.0) / (f + 1.0);
  let s2 = s * s;
  let series = s * (2.0 + s2 * (0.6666666667 + s2 * (0.4 + s2 * (0.2857142857 + s2 * 0.2222222222))));
  return series + e * 0.69314718056;
}

// −2 ln u for u = (r + 0.5)/2^32, keeping precision near u = 1 through d = 1 − u
fn minus2ln(r: u32) -> f32 {
  if (r < 0x80000000u) {
    return -2.0 * ln01((f32(r) + 0.5) * 2.3283064365386963e-10);
  }
  let d = (f32(0xffffffffu - r) + 0.5) * 2.3283064365386963e-10;
  if (d < 0.0078125) {
    return 2.0 * d * (1.0 + d * (0.5 + d * (0.3333333333 + d * (0.25 + d * 0.2))));
  }
  return -2.0 * ln01(1.0 - d);
}

// (cos, sin) of 2π(r + 0.5)/2^32: quadrant from the top two bits, Taylor series inside it
fn cossin(r: u32) -> vec2f {
  let q = r >> 30u;
  let th = (f32(r & 0x3fffffffu) + 0.5) * 9.313225746154785e-10 * 1.5707963267948966;
  let t2 = th * th;
  let c = 1.0 - t2 / 2.0 * (1.0 - t2 / 12.0 * (1.0 - t2 / 30.0 * (1.0 - t2 / 56.0 * (1.0 - t2 / 90.0 * (1.0 - t2 / 132.0 * (1.0 - t2 / 182.0))))));
  let s = th * (1.0 - t2 / 6.0 * (1.0 - t2 / 20.0 * (1.0 - t2 / 42.0 * (1.0 - t2 / 72.0 * (1.0 - t2 / 110.0 * (1.0 - t2 / 156.0 * (1.0 - t2 / 210.0)))))));
  if (q == 0u) { return vec2f(c, s); }
  if (q == 1u) { return vec2f(-s, c); }
  if (q == 2u) { return vec2f(-c, -s); }
  return vec2f(s, -c);
}
`,
  body: /* wgsl */ `
let lo = p.offLo + i;
let hi = p.offHi + select(0u, 1u, lo < p.offLo);
let lane = lo & 3u;
let r = philox(vec4u((lo >> 2u) | (hi << 30u), hi >> 2u, p.stream, 0u), vec2u(p.seedLo, p.seedHi));
let pair = select(vec2u(r.x, r.y), vec2u(r.z, r.w), lane >= 2u);
let radius = sqrt(minus2ln(pair.x));
let cs = cossin(pair.y);
out[i] = radius * select(cs.x, cs.y, (lane & 1u) == 1u);
`,
});
