/**
 * WGSL kernels of DiffBIR's image-space steps: tile crop and Gaussian-weighted tile
 * accumulation (tiled sampling), and the dilated blur of the wavelet colour fix.
 *
 * @module
 */

import { wgslKernel } from "../lib/wgsl_kernel.ts";

/** out[p, i, j] = t[p, y + i, x + j], one thread per tile element. */
export const CROP_SHADER: string = wgslKernel({
  params: "n: u32, h: u32, w: u32, th: u32, tw: u32, y: u32, x: u32",
  inputs: ["t: array<f32>"],
  bound: "p.n",
  body: /* wgsl */ `
  let plane = i / (p.th * p.tw);
  let r = (i / p.tw) % p.th;
  out[i] = t[plane * p.h * p.w + (p.y + r) * p.w + p.x + i % p.tw];`,
});

/** out[p, y + i, x + j] += weights[i, j] · tile[p, i, j] in place, one thread per tile element. */
export const ACCUMULATE_SHADER: string = wgslKernel({
  params: "n: u32, h: u32, w: u32, th: u32, tw: u32, y: u32, x: u32",
  inputs: ["tile: array<f32>", "weights: array<f32>"],
  bound: "p.n",
  body: /* wgsl */ `
  let plane = i / (p.th * p.tw);
  let r = (i / p.tw) % p.th;
  let o = plane * p.h * p.w + (p.y + r) * p.w + p.x + i % p.tw;
  out[o] = out[o] + weights[i % (p.th * p.tw)] * tile[i];`,
});

/** Depthwise 3x3 [[1,2,1],[2,4,2],[1,2,1]]/16 with dilation r and replicate padding. */
export const WAVELET_BLUR_SHADER: string = wgslKernel({
  params: "n: u32, h: u32, w: u32, r: i32",
  inputs: ["t: array<f32>"],
  bound: "p.n",
  body: /* wgsl */ `
  let base = (i / (p.h * p.w)) * p.h * p.w;
  let row = i32((i / p.w) % p.h);
  let col = i32(i % p.w);
  var s = 0.0;
  for (var di = -1; di <= 1; di++) {
    let ii = u32(clamp(row + di * p.r, 0, i32(p.h) - 1));
    for (var dj = -1; dj <= 1; dj++) {
      let jj = u32(clamp(col + dj * p.r, 0, i32(p.w) - 1));
      let k = f32((2 - abs(di)) * (2 - abs(dj))) * 0.0625;
      s += k * t[base + ii * p.w + jj];
    }
  }
  out[i] = s;`,
});
