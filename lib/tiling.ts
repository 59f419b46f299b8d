/**
 * Tiled processing as DiffBIR does it: sliding windows and the Gaussian tile weights of
 * mixture-of-diffusers/CCSR (with the reference's asymmetric vertical midpoint).
 *
 * @module
 */

import { Tensor } from "./tensor.ts";

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
 * Copy a tile out of an [n, C, H, W] tensor into `out` ([n, C, th, tw]).
 *
 * @param out Receives the tile; its shape gives th and tw.
 * @param t The tensor.
 * @param y Top row.
 * @param x Left column.
 * @returns out.
 */
export function cropTile(out: Tensor, t: Tensor, y: number, x: number): Tensor {
  const [n, c, h, w] = t.shape;
  const [, , th, tw] = out.shape;
  for (let p = 0; p < n * c; p++) {
    for (let i = 0; i < th; i++) {
      const src = p * h * w + (y + i) * w + x;
      out.data.set(t.data.subarray(src, src + tw), p * th * tw + i * tw);
    }
  }
  return out;
}

/**
 * acc[tile region] += w ⊙ tile (weights broadcast over n and C).
 *
 * @param acc Accumulator [n, C, H, W].
 * @param tile The tile's values [n, C, th, tw].
 * @param weights th·tw weights.
 * @param y Top row.
 * @param x Left column.
 * @returns acc.
 */
export function accumulateTile(
  acc: Tensor,
  tile: Tensor,
  weights: Float32Array,
  y: number,
  x: number,
): Tensor {
  const [n, c, h, w] = acc.shape;
  const [, , th, tw] = tile.shape;
  for (let p = 0; p < n * c; p++) {
    for (let i = 0; i < th; i++) {
      const o = p * h * w + (y + i) * w + x, s = p * th * tw + i * tw;
      for (let j = 0; j < tw; j++) acc.data[o + j] += weights[i * tw + j] * tile.data[s + j];
    }
  }
  return acc;
}

/** Everything a Gaussian-weighted tiling of one image size needs, computed once. */
export interface TilePlan {
  /** Tile origins, row-major. */
  origins: TileOrigin[];
  /** Tile height (the tile size clipped to the image). */
  th: number;
  /** Tile width. */
  tw: number;
  /** th·tw Gaussian weights. */
  weights: Float32Array;
  /** 1 / Σ weights per output pixel (H·W): the normalisation of the blended sum. */
  inverseWeightSum: Float32Array;
}

const _plans = new Map<string, TilePlan>();

/**
 * The tiling of an h x w image (memoised, so device backends upload its tables once).
 *
 * @example
 * ```ts
 * import { tilePlan } from "./tiling.ts";
 * const plan = tilePlan(20, 30, 8, 4);
 * console.log(plan.origins.length, plan.th, plan.tw); // 28 8 8
 * ```
 *
 * @param h Height.
 * @param w Width.
 * @param tile Tile size.
 * @param stride Stride.
 * @returns The plan.
 */
export function tilePlan(h: number, w: number, tile: number, stride: number): TilePlan {
  const key = `${h}x${w}/${tile}/${stride}`;
  let plan = _plans.get(key);
  if (!plan) {
    const th = Math.min(tile, h), tw = Math.min(tile, w);
    const origins = slidingWindows(h, w, tile, stride);
    const weights = gaussianWeights(tw, th);
    const sum = new Float64Array(h * w);
    for (const o of origins) {
      for (let i = 0; i < th; i++) {
        for (let j = 0; j < tw; j++) sum[(o.y + i) * w + o.x + j] += weights[i * tw + j];
      }
    }
    plan = { origins, th, tw, weights, inverseWeightSum: Float32Array.from(sum, (v) => 1 / v) };
    _plans.set(key, plan);
  }
  return plan;
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
  const plan = tilePlan(h, w, tile, stride);
  const out = tilePlan(
    Math.round(h * scale),
    Math.round(w * scale),
    Math.round(tile * scale),
    Math.round(stride * scale),
  );
  // the output tiling is the input one scaled (sizes and strides are multiples of 1/scale)
  if (out.origins.length !== plan.origins.length) throw new Error("tilings do not scale");
  let acc: Tensor | null = null;
  for (const o of plan.origins) {
    const res = await fn(cropTile(Tensor.zeros([1, input.c, plan.th, plan.tw]), input, o.y, o.x));
    acc ??= Tensor.zeros([res.n, res.c, Math.round(h * scale), Math.round(w * scale)]);
    accumulateTile(acc, res, out.weights, Math.round(o.y * scale), Math.round(o.x * scale));
  }
  const inv = out.inverseWeightSum;
  for (let i = 0; i < acc!.size; i++) acc!.data[i] *= inv[i % inv.length];
  return acc!;
}
