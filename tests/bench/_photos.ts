// Photos and degradations for the quality benches. "holdout" photos are never trained on
// (tools/train/data_list.json, split holdout): the benches judge by them. "tuning" photos are
// training photos: sampler defaults are chosen on them, never on the holdout.
import { imageToTensor, readImage } from "../../lib/image.ts";
import { Tensor } from "../../lib/tensor.ts";
import { resizeBicubic, resizeBicubicAntialias } from "../../lib/resize.ts";
import { buildOperator } from "../../operators/ddnm_tasks.ts";
export { harmonicFill } from "../../lib/harmonic_fill.ts";

const root = new URL("../../", import.meta.url).pathname;
/** tools/train/data.py's folder: the Debian photos live there, never in the repository. */
export const DATA_DIR = Deno.env.get("DIFFRESTORE_TRAIN_DATA") ??
  `${Deno.env.get("HOME")}/.cache/diffrestore/train-data`;

/** A 256x256 crop of a photo reduced to a 512 px long side (a benchmark photo's scale). */
export async function benchCrop(path: string, size = 256): Promise<Tensor> {
  let t = imageToTensor(await readImage(path), 3);
  const f = 512 / Math.max(t.h, t.w);
  if (f < 1) t = resizeBicubicAntialias(t, Math.round(t.h * f), Math.round(t.w * f));
  const y0 = Math.floor((t.h - size) / 2), x0 = Math.floor((t.w - size) / 2);
  const out = Tensor.zeros([1, 3, size, size]);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < size; i++) {
      const src = (c * t.h + y0 + i) * t.w + x0;
      out.data.set(t.data.subarray(src, src + size), (c * size + i) * size);
    }
  }
  return out;
}

const SETS = {
  holdout: [
    ["rocket", "assets/rocket_256.png"],
    ["camera", "assets/train/camera.png"],
    ["LadyBird", "@LadyBird.jpg"],
    ["Dune", "@Dune.jpg"],
  ],
  tuning: [
    ["astronaut", "assets/astronaut_256.png"],
    ["coffee", "assets/coffee_512.png"],
    ["Garden", "@Garden.jpg"],
    ["Wood", "@Wood.jpg"],
  ],
} as const;

/** The set's photos as 256x256 crops; those from the data folder are skipped (and said) when
 * tools/train/data.py has not run. */
export async function benchPhotos(set: keyof typeof SETS): Promise<[string, Tensor][]> {
  const out: [string, Tensor][] = [];
  for (const [name, where] of SETS[set]) {
    const path = where.startsWith("@") ? `${DATA_DIR}/${where.slice(1)}` : `${root}${where}`;
    try {
      out.push([name, await benchCrop(path)]);
    } catch {
      console.log(`(${name} skipped: ${path} missing; run python3 tools/train/data.py)`);
    }
  }
  return out;
}

/** SR x4 with the bicubic operator: the observation and bicubic upscaling of it. */
export function srBicubic(clean: Tensor, scale = 4): { lr: Tensor; bicubic: Tensor } {
  const op = buildOperator({ name: "sr-bicubic", scale }, 3, clean.h, clean.w, "svd");
  const lr = new Tensor(op.yShape, op.A(clean.map((v) => 2 * v - 1).data).map((v) => (v + 1) / 2));
  return { lr, bicubic: resizeBicubic(lr, clean.h, clean.w, -0.5) };
}

/** clean + sigma·N(0,1) from a seeded generator (Box-Muller over a 32-bit LCG), unclipped. */
export function addNoise(clean: Tensor, sigma: number, seed = 1): Tensor {
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
  return clean.map(() => 0).map((_, i) => {
    const z = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
    return clean.data[i] + sigma * z;
  });
}

/** The inpainting bench mask (1 = known): three boxes and a diagonal stroke, about 14 % holes. */
export function benchMask(h: number, w: number): Uint8Array {
  const m = new Uint8Array(h * w).fill(1);
  const box = (y: number, x: number, bh: number, bw: number) => {
    for (let i = y; i < Math.min(h, y + bh); i++) m.fill(0, i * w + x, i * w + Math.min(w, x + bw));
  };
  box(Math.round(h * 0.15), Math.round(w * 0.2), Math.round(h * 0.16), Math.round(w * 0.16));
  box(Math.round(h * 0.55), Math.round(w * 0.6), Math.round(h * 0.2), Math.round(w * 0.12));
  box(Math.round(h * 0.7), Math.round(w * 0.1), Math.round(h * 0.1), Math.round(w * 0.25));
  for (let i = 0; i < h; i++) {
    const x = Math.round((i / h) * w * 0.8 + w * 0.1);
    for (let d = -3; d <= 3; d++) if (x + d >= 0 && x + d < w) m[i * w + x + d] = 0;
  }
  return m;
}

/** PSNR (dB) of [0,1] images: on luma Y (BT.601, as SR papers) with `shave` border pixels cut,
 * or over all channels; `where` restricts it to pixels with where[i] = 1. */
export function psnrOf(
  a: Tensor,
  b: Tensor,
  opts: { y?: boolean; shave?: number; where?: Uint8Array } = {},
): number {
  const [, c, h, w] = a.shape, sh = opts.shave ?? 0, plane = h * w;
  const clip = (v: number) => Math.min(1, Math.max(0, v));
  const luma = (t: Tensor, i: number) =>
    (65.481 * clip(t.data[i]) + 128.553 * clip(t.data[i + plane]) +
      24.966 * clip(t.data[i + 2 * plane]) + 16) / 255;
  let se = 0, n = 0;
  for (let y = sh; y < h - sh; y++) {
    for (let x = sh; x < w - sh; x++) {
      const i = y * w + x;
      if (opts.where && !opts.where[i]) continue;
      if (opts.y) {
        se += (luma(a, i) - luma(b, i)) ** 2;
        n++;
      } else {
        for (let ch = 0; ch < c; ch++) {
          se += (clip(a.data[i + ch * plane]) - clip(b.data[i + ch * plane])) ** 2;
          n++;
        }
      }
    }
  }
  return 10 * Math.log10(1 / (se / n));
}

/** The mean of a list. */
export const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
