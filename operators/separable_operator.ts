/**
 * Separable operators A X = H_h X H_wᵀ per channel, through the SVDs of the 1-D matrices:
 * DDNM's `Deblurring`/`Deblurring2D` (blur with zero padding) and `SRConv` (bicubic SR with
 * reflect padding), with the reference's quirks reproduced by default.
 *
 * @module
 */

import { jacobiSvd, type Svd } from "./svd.ts";
import { type DegradationOperator, imageAsObservation, type SpectralScale } from "./operator.ts";
import type { Shape4, Tensor } from "../lib/tensor.ts";
import { matmul, transpose } from "../lib/matmul.ts";
import { registerGpuOperator } from "./gpu_operator.ts";
import { SEPARABLE_GPU } from "./separable_operator_gpu.ts";

/** The reference's threshold below which 1-D singular values are zeroed. */
export const SINGULAR_ZERO = 3e-2;

/**
 * The 1-D blur matrix of DDNM's `Deblurring`: H[i, j] = k[j − i + k//2] for
 * j ∈ [i − k//2, i + k//2) inside the image (zero padding). Quirk: for odd k the last tap is
 * dropped (the range is half-open); `fixed` keeps it.
 *
 * @param kernel The taps.
 * @param n Signal length.
 * @param fixed Include the last tap.
 * @returns n x n, row-major.
 */
export function blurMatrix(kernel: ArrayLike<number>, n: number, fixed = false): Float64Array {
  const k = kernel.length, half = Math.floor(k / 2);
  const h = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i - half; j < i + half + (fixed && k % 2 === 1 ? 1 : 0); j++) {
      if (j < 0 || j >= n) continue;
      h[i * n + j] = Math.fround(kernel[j - i + half]);
    }
  }
  return h;
}

/**
 * The 1-D matrix of DDNM's `SRConv`: rows for i = f//2, f//2 + f, ...; taps j ∈ [i − k//2,
 * i + k//2) with reflect padding (j < 0 → −j − 1, j ≥ n → 2n − 1 − j), accumulated.
 *
 * @param kernel The taps (length 4f for bicubic).
 * @param n Signal length (a multiple of f).
 * @param stride f.
 * @returns (n/f) x n, row-major.
 */
export function strideConvMatrix(
  kernel: ArrayLike<number>,
  n: number,
  stride: number,
): Float64Array {
  const m = n / stride, half = Math.floor(kernel.length / 2);
  const h = new Float64Array(m * n);
  for (let i = Math.floor(stride / 2); i < n + Math.floor(stride / 2); i += stride) {
    for (let j = i - half; j < i + half; j++) {
      let je = j;
      if (je < 0) je = -je - 1;
      if (je >= n) je = n - 1 - (je - n);
      h[Math.floor(i / stride) * n + je] += Math.fround(kernel[j - i + half]);
    }
  }
  return h;
}

/**
 * Keys' cubic convolution kernel with a = −0.5 (MATLAB's bicubic), 4f taps at
 * x_i = (i − 2f + 0.5)/f, normalised: DDNM's `sr_bicubic` kernel.
 *
 * @param factor f.
 * @returns The taps.
 */
export function bicubicKernel(factor: number): Float64Array {
  const a = -0.5;
  const cubic = (x: number) => {
    const t = Math.abs(x);
    if (t <= 1) return (a + 2) * t ** 3 - (a + 3) * t ** 2 + 1;
    if (t < 2) return a * t ** 3 - 5 * a * t ** 2 + 8 * a * t - 4 * a;
    return 0;
  };
  const k = new Float64Array(4 * factor).map((_, i) =>
    cubic((1 / factor) * (i - Math.floor((factor * 4) / 2) + 0.5))
  );
  const sum = k.reduce((s, v) => s + v, 0);
  return k.map((v) => v / sum);
}

/**
 * A normalised Gaussian kernel with taps at −r..r (DDNM: σ = 10, r = 2 for `deblur_gauss`).
 *
 * @param sigma Standard deviation.
 * @param radius Half width.
 * @returns The taps.
 */
export function gaussianKernel(sigma: number, radius: number): Float64Array {
  const k = new Float64Array(2 * radius + 1).map((_, i) =>
    Math.fround(Math.exp(-0.5 * ((i - radius) / sigma) ** 2))
  );
  const sum = k.reduce((s, v) => s + v, 0);
  return k.map((v) => Math.fround(v / sum));
}

/** How a separable operator maps its 2-D singular values onto coordinates. */
export type SingularLayout = "aligned" | "tiled";

/** Options of a separable operator. */
export interface SeparableOptions {
  /** Task name. */
  name: string;
  /** Channels. */
  channels: number;
  /** The 1-D matrix along the height (rows x H). */
  hh: Float64Array;
  /** Its row count. */
  mh: number;
  /** The 1-D matrix along the width (rows x W). */
  hw: Float64Array;
  /** Its row count. */
  mw: number;
  /** Image height. */
  height: number;
  /** Image width. */
  width: number;
  /**
   * `tiled`: the reference's `Deblurring` quirk (sorted 2-D singulars tiled block-wise onto
   * channel-interleaved coordinates); `aligned`: each coordinate gets its own singular value.
   */
  layout: SingularLayout;
}

function _truncate(s: Float64Array): Float64Array {
  return s.map((v) => (v < SINGULAR_ZERO ? 0 : v));
}

/** Lop · X · Ropᵀ for dense row-major matrices, Lop = L or Lᵀ and Rop = R or Rᵀ. */
function _sandwich(
  left: Float64Array,
  lt: boolean,
  lRows: number,
  lCols: number,
  x: Float64Array,
  xr: number,
  xc: number,
  right: Float64Array,
  rt: boolean,
  rRows: number,
  rCols: number,
): Float64Array {
  const oRows = lt ? lCols : lRows, inner = lt ? lRows : lCols;
  if (inner !== xr) throw new RangeError("shape mismatch (left)");
  const tmp = matmul(lt ? transpose(left, lRows, lCols) : left, oRows, inner, x, xc);
  const oCols = rt ? rCols : rRows, inner2 = rt ? rRows : rCols;
  if (inner2 !== xc) throw new RangeError("shape mismatch (right)");
  return matmul(tmp, oRows, xc, rt ? right : transpose(right, rRows, rCols), oCols);
}

/**
 * The truncated 1-D matrix U diag(s) Vᵀ (m x n) or its pseudo-inverse V diag(1/s) Uᵀ (n x m),
 * zero singular values dropped.
 *
 * @param svd The SVD of the m x n matrix.
 * @param m Rows.
 * @param n Columns.
 * @param s The singular values to use (truncated).
 * @param inverse Build the pseudo-inverse instead.
 * @returns The matrix, row-major.
 */
export function truncatedMatrix(
  svd: Svd,
  m: number,
  n: number,
  s: Float64Array,
  inverse: boolean,
): Float64Array {
  const r = Math.min(m, n);
  const out = new Float64Array(m * n);
  for (let k = 0; k < r; k++) {
    if (s[k] === 0) continue;
    const c = inverse ? 1 / s[k] : s[k];
    for (let i = 0; i < m; i++) {
      const uik = svd.u[i * r + k] * c;
      if (uik === 0) continue;
      for (let j = 0; j < n; j++) {
        const v = uik * svd.v[j * n + k];
        if (inverse) out[j * m + i] += v;
        else out[i * n + j] += v;
      }
    }
  }
  return out;
}

/**
 * A separable operator through its 1-D SVDs: A X_c = U_h (Σ_c ⊙ (V_hᵀ X_c V_w)) U_wᵀ with
 * the 1-D singular values below 3e-2 zeroed, and A⁺ Y_c = V_h (Σ_c⁺ ⊙ (U_hᵀ Y_c U_w)) V_wᵀ.
 */
export class SeparableOperator implements DegradationOperator {
  /** Task name. */
  readonly name: string;
  /** Shape of x. */
  readonly xShape: Shape4;
  /** Shape of y. */
  readonly yShape: Shape4;
  /** Distinct nonzero 2-D singular values (aligned), descending. */
  readonly singularValues: readonly number[];
  /** SVD along the height. */
  readonly svdH: Svd;
  /** SVD along the width. */
  readonly svdW: Svd;
  /** Per channel, the singular value used at each 2-D spectral coordinate (i·W + j). */
  readonly effective: Float64Array[];
  /** The untruncated singular value at each coordinate (what the reference's Λ uses). */
  readonly original: Float64Array;
  #h: number;
  #w: number;
  #mh: number;
  #mw: number;
  #dense: { hh: Float64Array; hw: Float64Array; hhp: Float64Array; hwp: Float64Array } | null =
    null;

  /** Rows of the height matrix (the observation's height). */
  get rowsH(): number {
    return this.#mh;
  }

  /** Rows of the width matrix (the observation's width). */
  get rowsW(): number {
    return this.#mw;
  }

  /**
   * Build the operator (computes both 1-D SVDs).
   *
   * @param o The matrices and layout.
   */
  constructor(o: SeparableOptions) {
    this.name = o.name;
    this.#h = o.height;
    this.#w = o.width;
    this.#mh = o.mh;
    this.#mw = o.mw;
    this.xShape = [1, o.channels, o.height, o.width];
    this.yShape = [1, o.channels, o.mh, o.mw];
    this.svdH = jacobiSvd(o.hh, o.mh, o.height);
    this.svdW = jacobiSvd(o.hw, o.mw, o.width);
    const sh = _truncate(this.svdH.s), sw = _truncate(this.svdW.s);
    const h = o.height, w = o.width;
    const aligned = new Float64Array(h * w);
    this.original = new Float64Array(h * w);
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        aligned[i * w + j] = sh[i] * sw[j];
        this.original[i * w + j] = this.svdH.s[i] * this.svdW.s[j];
      }
    }
    if (o.layout === "aligned") {
      this.effective = Array.from({ length: o.channels }, () => aligned);
    } else {
      // quirk: coordinate (q, c) of the sorted, channel-interleaved vector gets s_sorted[(3q + c) mod N]
      const n = h * w;
      const perm = Array.from({ length: n }, (_, p) => p).sort((a, b) =>
        aligned[b] - aligned[a] || a - b
      );
      this.effective = Array.from({ length: o.channels }, (_, c) => {
        const e = new Float64Array(n);
        for (let q = 0; q < n; q++) e[perm[q]] = aligned[perm[(o.channels * q + c) % n]];
        return e;
      });
    }
    this.singularValues = [...new Set(aligned)].filter((v) => v > 0).sort((a, b) => b - a);
    if (o.layout === "aligned") {
      // A and A⁺ are then plain separable products with the truncated 1-D matrices
      this.#dense = {
        hh: truncatedMatrix(this.svdH, o.mh, o.height, sh, false),
        hw: truncatedMatrix(this.svdW, o.mw, o.width, sw, false),
        hhp: truncatedMatrix(this.svdH, o.mh, o.height, sh, true),
        hwp: truncatedMatrix(this.svdW, o.mw, o.width, sw, true),
      };
    }
  }

  /** V_hᵀ X V_w for one channel plane. */
  #vt(x: ArrayLike<number>): Float64Array {
    const h = this.#h, w = this.#w;
    return _sandwich(this.svdH.v, true, h, h, Float64Array.from(x), h, w, this.svdW.v, true, w, w);
  }

  /** V_h X V_wᵀ. */
  #v(x: Float64Array): Float64Array {
    const h = this.#h, w = this.#w;
    return _sandwich(this.svdH.v, false, h, h, x, h, w, this.svdW.v, false, w, w);
  }

  /**
   * y = A x.
   *
   * @param x The image.
   * @returns y.
   */
  A(x: Float32Array): Float32Array {
    const [, c] = this.xShape;
    const h = this.#h, w = this.#w, mh = this.#mh, mw = this.#mw;
    const rh = Math.min(mh, h), rw = Math.min(mw, w);
    const y = new Float32Array(c * mh * mw);
    const d = this.#dense;
    for (let ch = 0; ch < c; ch++) {
      if (d) {
        const plane = Float64Array.from(x.subarray(ch * h * w, (ch + 1) * h * w));
        y.set(_sandwich(d.hh, false, mh, h, plane, h, w, d.hw, false, mw, w), ch * mh * mw);
        continue;
      }
      const s = this.#vt(x.subarray(ch * h * w, (ch + 1) * h * w));
      const e = this.effective[ch];
      const core = new Float64Array(rh * rw);
      for (let i = 0; i < rh; i++) {
        for (let j = 0; j < rw; j++) core[i * rw + j] = e[i * w + j] * s[i * w + j];
      }
      const out = _sandwich(this.svdH.u, false, mh, rh, core, rh, rw, this.svdW.u, false, mw, rw);
      y.set(out, ch * mh * mw);
    }
    return y;
  }

  /**
   * x = A⁺ y (1/0 taken as 0).
   *
   * @param y The observation.
   * @returns x.
   */
  pinv(y: Float32Array): Float32Array {
    return this.#pinvScaled(y, null);
  }

  #pinvScaled(y: ArrayLike<number>, lambda: Float64Array | null): Float32Array {
    const [, c] = this.xShape;
    const h = this.#h, w = this.#w, mh = this.#mh, mw = this.#mw;
    const d = this.#dense;
    if (d && !lambda) {
      const x = new Float32Array(c * h * w);
      for (let ch = 0; ch < c; ch++) {
        const plane = Float64Array.from({ length: mh * mw }, (_, i) => y[ch * mh * mw + i]);
        x.set(_sandwich(d.hhp, false, h, mh, plane, mh, mw, d.hwp, false, w, mw), ch * h * w);
      }
      return x;
    }
    const rh = Math.min(mh, h), rw = Math.min(mw, w);
    const x = new Float32Array(c * h * w);
    for (let ch = 0; ch < c; ch++) {
      const plane = Float64Array.from({ length: mh * mw }, (_, i) => y[ch * mh * mw + i]);
      const core = _sandwich(this.svdH.u, true, mh, rh, plane, mh, mw, this.svdW.u, true, mw, rw);
      const full = new Float64Array(h * w);
      const e = this.effective[ch];
      for (let i = 0; i < rh; i++) {
        for (let j = 0; j < rw; j++) {
          const s = e[i * w + j];
          if (s !== 0) full[i * w + j] = (core[i * rw + j] / s) * (lambda ? lambda[i * w + j] : 1);
        }
      }
      x.set(this.#v(full), ch * h * w);
    }
    return x;
  }

  /**
   * x̂0 = x0 − Λ A⁺(A x0 − y), Λ per coordinate from the untruncated singular values (as the
   * reference's `Deblurring.Lambda`).
   * Parameters as in the `DegradationOperator` interface.
   */
  project(x0: Float32Array, y: Float32Array, scale: SpectralScale | null, out: Float32Array): void {
    const lambda = scale ? this.original.map((s) => scale.lambda(s)) : null;
    if (this.#dense) {
      const ax = this.A(x0);
      for (let i = 0; i < ax.length; i++) ax[i] -= y[i];
      const r = this.#pinvScaled(ax, lambda);
      for (let i = 0; i < out.length; i++) out[i] = x0[i] - r[i];
      return;
    }
    // U is square and orthogonal, so A⁺(A x0 − y) = V(λ ⊙ (mask ⊙ Vᵀx0 − Uᵀy/e)): the U
    // products of A and A⁺ cancel, and Uᵀy/e is the same at every step
    const [, c] = this.xShape;
    const h = this.#h, w = this.#w, rh = Math.min(this.#mh, h), rw = Math.min(this.#mw, w);
    const yCore = this.#observationCore(y);
    for (let ch = 0; ch < c; ch++) {
      const plane = x0.subarray(ch * h * w, (ch + 1) * h * w);
      const s = this.#vt(plane), e = this.effective[ch], yc = yCore[ch];
      for (let i = 0; i < h; i++) {
        for (let j = 0; j < w; j++) {
          const q = i * w + j;
          const kept = i < rh && j < rw && e[q] !== 0;
          s[q] = kept ? (s[q] - yc[q]) * (lambda ? lambda[q] : 1) : 0;
        }
      }
      const r = this.#v(s);
      for (let q = 0; q < h * w; q++) out[ch * h * w + q] = plane[q] - r[q];
    }
  }

  #yKey: Float32Array | null = null;
  #yCore: Float64Array[] = [];

  /** Uᵀ y U / e per channel on the kept coordinates (0 elsewhere), cached for an unchanged y. */
  #observationCore(y: Float32Array): Float64Array[] {
    const key = this.#yKey;
    if (key && key.length === y.length && key.every((v, i) => Object.is(v, y[i]))) {
      return this.#yCore;
    }
    const [, c] = this.xShape;
    const h = this.#h, w = this.#w, mh = this.#mh, mw = this.#mw;
    const rh = Math.min(mh, h), rw = Math.min(mw, w);
    this.#yCore = Array.from({ length: c }, (_, ch) => {
      const plane = Float64Array.from(y.subarray(ch * mh * mw, (ch + 1) * mh * mw));
      const core = _sandwich(this.svdH.u, true, mh, rh, plane, mh, mw, this.svdW.u, true, mw, rw);
      const full = new Float64Array(h * w), e = this.effective[ch];
      for (let i = 0; i < rh; i++) {
        for (let j = 0; j < rw; j++) {
          const q = i * w + j;
          if (e[q] !== 0) full[q] = core[i * rw + j] / e[q];
        }
      }
      return full;
    });
    this.#yKey = y.slice();
    return this.#yCore;
  }

  /**
   * V(d1 ⊙ P z + d2 ⊙ P ε) with d from the untruncated singular values; the reference's P is
   * the identity here (its permutation is undone before V), `fixed` uses Vᵀ.
   * Parameters as in the `DegradationOperator` interface.
   */
  lambdaNoise(
    z: Float32Array,
    eps: Float32Array,
    scale: SpectralScale,
    fixed: boolean,
    out: Float32Array,
  ): void {
    const [, c] = this.xShape;
    const n = this.#h * this.#w;
    const d = Array.from(this.original, (s) => scale.noise(s));
    for (let ch = 0; ch < c; ch++) {
      const zs = z.subarray(ch * n, (ch + 1) * n), es = eps.subarray(ch * n, (ch + 1) * n);
      const pz = fixed ? this.#vt(zs) : Float64Array.from(zs);
      const pe = fixed ? this.#vt(es) : Float64Array.from(es);
      for (let i = 0; i < n; i++) pz[i] = d[i][0] * pz[i] + d[i][1] * pe[i];
      out.set(this.#v(pz), ch * n);
    }
  }

  /**
   * y from the observed image (shape `yShape`).
   *
   * @param image The observed image.
   * @returns y.
   */
  observe(image: Tensor): Float32Array {
    return imageAsObservation(image, this.yShape, this.name);
  }
}

/**
 * DDNM's `Deblurring` (one kernel on both axes) or `Deblurring2D` (kernel `kh` along the
 * height, `kw` along the width), zero padding, reference quirks unless `fixed`.
 *
 * @param channels C.
 * @param height H.
 * @param width W.
 * @param kh Kernel along the height.
 * @param kw Kernel along the width.
 * @param fixed Keep the last tap and align the singular values (the true blur).
 * @returns The operator.
 */
export function separableBlur(
  channels: number,
  height: number,
  width: number,
  kh: ArrayLike<number>,
  kw: ArrayLike<number>,
  fixed = false,
): SeparableOperator {
  return new SeparableOperator({
    name: "deblur",
    channels,
    height,
    width,
    hh: blurMatrix(kh, height, fixed),
    mh: height,
    hw: blurMatrix(kw, width, fixed),
    mw: width,
    layout: fixed ? "aligned" : "tiled",
  });
}

/**
 * DDNM's `SRConv` with the bicubic kernel (a = −0.5): stride-f convolution with reflect
 * padding, then decimation.
 *
 * @param channels C.
 * @param height H (a multiple of f).
 * @param width W (a multiple of f).
 * @param factor f.
 * @returns The operator.
 */
export function bicubicSr(
  channels: number,
  height: number,
  width: number,
  factor: number,
): SeparableOperator {
  const k = Float64Array.from(bicubicKernel(factor), (v) => Math.fround(v));
  const sum = k.reduce((s, v) => s + v, 0);
  const kernel = k.map((v) => Math.fround(v / sum)); // the reference divides by the sum again
  return new SeparableOperator({
    name: "sr-bicubic",
    channels,
    height,
    width,
    hh: strideConvMatrix(kernel, height, factor),
    mh: height / factor,
    hw: strideConvMatrix(kernel, width, factor),
    mw: width / factor,
    layout: "aligned",
  });
}

// its WebGPU kernels, side by side with the CPU math above
registerGpuOperator(SeparableOperator, SEPARABLE_GPU);
