/**
 * Tiled processing as DiffBIR does it: sliding windows and the Gaussian tile weights of
 * mixture-of-diffusers/CCSR (with the reference's asymmetric vertical midpoint).
 *
 * @module
 */

import { Tensor } from "../lib/tensor.ts";

/** A tile's origin. */
export interface TileOrigin {
  /** Top row. */
  y: number;
  /** Left column. */
  x: number;
}

/**
 * Tile origins: 0, stride, 2·stride, ... ≤ size_total − tile, plus a last one flush with the
 * border when the stride does not land there; all (y, x) pairs, row-major.
 *
 * @param h Height.
 * @param w Width.
 * @param tile Tile size (clipped to the image).
 * @param stride Stride.
 * @returns The origins.
 */
export function slidingWindows(h: number, w: number, tile: number, stride: number): TileOrigin[] {
  const starts = (n: number) => {
    const t = Math.min(tile, n);
    const s: number[] = [];
    for (let p = 0; p <= n - t; p += stride) s.push(p);
    if (s[s.length - 1] !== n - t) s.push(n - t);
    return s;
  };
  const out: TileOrigin[] = [];
  for (const y of starts(h)) for (const x of starts(w)) out.push({ y, x });
  return out;
}

/**
 * Gaussian tile weights (var 0.01): w_x(i) = exp(−(i − (W−1)/2)²/(2·0.01·W²))/√(2π·0.01) and
 * w_y(j) likewise with midpoint H/2 (the reference's asymmetric quirk); weight = w_y ⊗ w_x.
 *
 * @param width Tile width.
 * @param height Tile height.
 * @returns height x width weights, row-major.
 */
export function gaussianWeights(width: number, height: number): Float32Array {
  const v = 0.01, norm = Math.sqrt(2 * Math.PI * v);
  const wx = Array.from(
    { length: width },
    (_, i) => Math.exp(-((i - (width - 1) / 2) ** 2) / (width * width) / (2 * v)) / norm,
  );
  const wy = Array.from(
    { length: height },
    (_, j) => Math.exp(-((j - height / 2) ** 2) / (height * height) / (2 * v)) / norm,
  );
  const out = new Float32Array(width * height);
  for (let j = 0; j < height; j++) {
    for (let i = 0; i < width; i++) out[j * width + i] = wy[j] * wx[i];
  }
  return out;
}

/**
 * Copy a tile out of an [n, C, H, W] tensor.
 *
 * @param t The tensor.
 * @param y Top row.
 * @param x Left column.
 * @param th Tile height.
 * @param tw Tile width.
 * @returns The tile, [n, C, th, tw].
 */
export function cropTile(t: Tensor, y: number, x: number, th: number, tw: number): Tensor {
  const [n, c, h, w] = t.shape;
  const out = Tensor.zeros([n, c, th, tw]);
  for (let p = 0; p < n * c; p++) {
    for (let i = 0; i < th; i++) {
      const src = p * h * w + (y + i) * w + x;
      out.data.set(t.data.subarray(src, src + tw), p * th * tw + i * tw);
    }
  }
  return out;
}

/**
 * acc[tile region] += w ⊙ tile and wsum[tile region] += w (weights broadcast over n and C).
 *
 * @param acc Accumulator [n, C, H, W].
 * @param wsum Weight sums, H·W.
 * @param tile The tile's values [n, C, th, tw].
 * @param weights th·tw weights.
 * @param y Top row.
 * @param x Left column.
 */
export function accumulateTile(
  acc: Tensor,
  wsum: Float32Array,
  tile: Tensor,
  weights: Float32Array,
  y: number,
  x: number,
): void {
  const [n, c, h, w] = acc.shape;
  const [, , th, tw] = tile.shape;
  for (let i = 0; i < th; i++) {
    for (let j = 0; j < tw; j++) wsum[(y + i) * w + x + j] += weights[i * tw + j];
  }
  for (let p = 0; p < n * c; p++) {
    for (let i = 0; i < th; i++) {
      const o = p * h * w + (y + i) * w + x, s = p * th * tw + i * tw;
      for (let j = 0; j < tw; j++) acc.data[o + j] += weights[i * tw + j] * tile.data[s + j];
    }
  }
}

/**
 * acc ← acc / wsum per pixel (the weighted average of overlapping tiles).
 *
 * @param acc Accumulator, modified.
 * @param wsum Weight sums.
 * @returns acc.
 */
export function normalizeTiles(acc: Tensor, wsum: Float32Array): Tensor {
  const plane = wsum.length;
  for (let i = 0; i < acc.size; i++) acc.data[i] /= wsum[i % plane];
  return acc;
}

/**
 * Apply `fn` tile by tile and blend with Gaussian weights: tiles of `tile` x `tile` input
 * pixels at `stride`, outputs scaled by `scale` (1/8 for a VAE encoder, 8 for a decoder).
 * Memory is bounded by the tile size, whatever the image size.
 *
 * @param input [1, C, H, W].
 * @param tile Tile size in input pixels.
 * @param stride Stride in input pixels.
 * @param scale Output pixels per input pixel.
 * @param fn The per-tile function.
 * @returns The blended output.
 */
export async function tiledApply(
  input: Tensor,
  tile: number,
  stride: number,
  scale: number,
  fn: (t: Tensor) => Promise<Tensor>,
): Promise<Tensor> {
  const [, , h, w] = input.shape;
  const th = Math.min(tile, h), tw = Math.min(tile, w);
  const origins = slidingWindows(h, w, tile, stride);
  let acc: Tensor | null = null;
  let wsum: Float32Array | null = null;
  const oth = Math.round(th * scale), otw = Math.round(tw * scale);
  const weights = gaussianWeights(otw, oth);
  for (const o of origins) {
    const out = await fn(cropTile(input, o.y, o.x, th, tw));
    if (!acc) {
      acc = Tensor.zeros([out.n, out.c, Math.round(h * scale), Math.round(w * scale)]);
      wsum = new Float32Array(acc.h * acc.w);
    }
    accumulateTile(acc, wsum!, out, weights, Math.round(o.y * scale), Math.round(o.x * scale));
  }
  return normalizeTiles(acc!, wsum!);
}
