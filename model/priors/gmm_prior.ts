/**
 * The learned built-in prior: a mixture of probabilistic PCAs over 6x6 colour patches with
 * their per-channel means removed (a 105-dimensional space), and its patch-averaging MMSE
 * denoiser (EPLL-style, one pass), used as a DDPM noise predictor.
 *
 * Component k is a zero-mean Gaussian with covariance C_k = V_k Λ_k V_kᵀ + f_k (P − V_k V_kᵀ)
 * on the patch subspace P: the top r eigenvectors V_k with eigenvalues Λ_k and one floor f_k
 * for the other 105 − r directions (the maximum-likelihood PPCA form). For a noisy patch
 * p = x + n, n ~ N(0, σ²), the posterior mean is Σ_k γ_k W_k p with γ_k ∝ π_k N(p; 0, C_k + σ²)
 * and W_k = V_k diag(λ/(λ + σ²)) V_kᵀ + f_k/(f_k + σ²)(P − V_k V_kᵀ). Overlapping patches
 * (stride 2) are denoised so and averaged. The patch model has nothing to say about patch
 * means (low frequencies), so they are taken from the stationary Gaussian prior's estimate,
 * which knows the large-scale spectrum: without it, holes and chroma drift to saturated blobs.
 *
 * @module
 */

import { Tensor } from "../../lib/tensor.ts";
import { decodeHalfBase64 } from "../../lib/float16.ts";
import { gaussianPriorEps, type GaussianPriorParams } from "./gaussian_prior.ts";

/** Patch side. */
export const PATCH = 6;
/** Values per patch (6 x 6 x 3), channel-major: index c·36 + i·6 + j. */
export const PATCH_DIM = PATCH * PATCH * 3;
/** Dimension of the mean-removed patch space (3 channel means removed). */
export const PATCH_SUBSPACE = PATCH_DIM - 3;

/** A mixture of PPCAs over patches. */
export interface GmmPriorParams {
  /** Components K. */
  components: number;
  /** Eigenvectors kept per component, r. */
  rank: number;
  /** Mixture weights π_k (K). */
  weights: Float32Array;
  /** Eigenvalues, K x r. */
  eigenvalues: Float32Array;
  /** Floors f_k (K). */
  floors: Float32Array;
  /** Eigenvectors, K x r x 108 (row = one eigenvector). */
  eigenvectors: Float32Array;
}

/** The stored form of the parameters (float16, base64). */
export interface GmmPriorData {
  /** Components K. */
  components: number;
  /** Eigenvectors per component. */
  rank: number;
  /** π, Λ, f, V as half-precision base64, concatenated in that order. */
  half: string;
}

/** The variance of 8-bit quantisation in [-1,1] units, (2/255)²/12, added to every variance. */
export const QUANTIZATION_VARIANCE: number = (2 / 255) ** 2 / 12;

/**
 * Decode stored parameters. The fitted variances get the 8-bit quantisation variance added
 * (the photos were 8-bit; without it a component fitted to clipped, perfectly flat patches
 * would have zero variance).
 *
 * @param d The stored form.
 * @returns The parameters.
 */
export function decodeGmmPrior(d: GmmPriorData): GmmPriorParams {
  const v = decodeHalfBase64(d.half);
  const K = d.components, r = d.rank;
  let o = 0;
  const take = (n: number) => v.slice(o, o += n);
  const weights = take(K);
  const eigenvalues = take(K * r).map((x) => x + QUANTIZATION_VARIANCE);
  const floors = take(K).map((x) => x + QUANTIZATION_VARIANCE);
  return {
    components: K,
    rank: r,
    weights,
    eigenvalues,
    floors,
    eigenvectors: take(K * r * PATCH_DIM),
  };
}

/** Per-patch log-likelihood terms of every component under noise σ², for a mean-removed patch. */
function _responsibilities(
  p: GmmPriorParams,
  patch: Float64Array,
  sigma2: number,
  u: Float64Array,
): Float64Array {
  const K = p.components, r = p.rank;
  let norm2 = 0;
  for (let d = 0; d < PATCH_DIM; d++) norm2 += patch[d] * patch[d];
  const scores = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    let quad = 0, logdet = 0, proj = 0;
    for (let i = 0; i < r; i++) {
      const row = (k * r + i) * PATCH_DIM;
      let s = 0;
      for (let d = 0; d < PATCH_DIM; d++) s += p.eigenvectors[row + d] * patch[d];
      u[k * r + i] = s;
      const lam = p.eigenvalues[k * r + i] + sigma2;
      quad += (s * s) / lam;
      logdet += Math.log(lam);
      proj += s * s;
    }
    const f = p.floors[k] + sigma2;
    quad += Math.max(0, norm2 - proj) / f;
    logdet += (PATCH_SUBSPACE - r) * Math.log(f);
    scores[k] = Math.log(p.weights[k]) - 0.5 * (quad + logdet);
  }
  let max = -Infinity;
  for (const s of scores) max = Math.max(max, s);
  let sum = 0;
  for (let k = 0; k < K; k++) sum += scores[k] = Math.exp(scores[k] - max);
  for (let k = 0; k < K; k++) scores[k] /= sum;
  return scores;
}

/**
 * The MMSE estimate of one mean-removed patch under the mixture, with noise variance σ².
 *
 * @param p The prior.
 * @param patch 108 values, channel-major, each channel with mean 0.
 * @param sigma2 σ².
 * @returns The denoised patch (mean still removed).
 */
export function gmmDenoisePatch(
  p: GmmPriorParams,
  patch: Float64Array,
  sigma2: number,
): Float64Array {
  const K = p.components, r = p.rank;
  const u = new Float64Array(K * r);
  const g = _responsibilities(p, patch, sigma2, u);
  const out = new Float64Array(PATCH_DIM);
  let floorWeight = 0;
  for (let k = 0; k < K; k++) {
    const fk = p.floors[k] / (p.floors[k] + sigma2);
    floorWeight += g[k] * fk;
    for (let i = 0; i < r; i++) {
      const lam = p.eigenvalues[k * r + i];
      // W_k p = V (s − f) Vᵀp + f p, so each eigen-direction gets g_k (s_i − f_k) u_i
      const c = g[k] * (lam / (lam + sigma2) - fk) * u[k * r + i];
      const row = (k * r + i) * PATCH_DIM;
      for (let d = 0; d < PATCH_DIM; d++) out[d] += c * p.eigenvectors[row + d];
    }
  }
  for (let d = 0; d < PATCH_DIM; d++) out[d] += floorWeight * patch[d];
  return out;
}

/**
 * The patch-averaging denoiser on a whole image ([-1,1] units): every 6x6 patch at the stride
 * (the last row and column of patches flush with the border), its per-channel means removed,
 * denoised, the means put back, and the overlapping estimates averaged.
 *
 * @param p The prior.
 * @param x The noisy image, [1, 3, H, W].
 * @param sigma The noise standard deviation.
 * @param stride Patch stride (2).
 * @param meanSource The image whose patch means are put back (default: x itself).
 * @returns The denoised image.
 */
export function gmmDenoiseImage(
  p: GmmPriorParams,
  x: Tensor,
  sigma: number,
  stride = 2,
  meanSource: Tensor = x,
): Tensor {
  // edge-pad stride − 1 pixels at the bottom and right so the patch grid covers every pixel
  const [, , h0, w0] = x.shape;
  const h = h0 + stride - 1, w = w0 + stride - 1;
  const plane = h * w;
  const pad = (t: Tensor) => {
    const out = new Float64Array(3 * plane);
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < h; i++) {
        for (let j = 0; j < w; j++) {
          out[c * plane + i * w + j] =
            t.data[c * h0 * w0 + Math.min(i, h0 - 1) * w0 + Math.min(j, w0 - 1)];
        }
      }
    }
    return out;
  };
  const src = pad(x), meanSrc = meanSource === x ? src : pad(meanSource);
  const acc = new Float64Array(3 * plane), count = new Float64Array(plane);
  const patch = new Float64Array(PATCH_DIM);
  for (let y0 = 0; y0 + PATCH <= h; y0 += stride) {
    for (let x0 = 0; x0 + PATCH <= w; x0 += stride) {
      const means = [0, 0, 0];
      for (let c = 0; c < 3; c++) {
        let s = 0, sm = 0;
        for (let i = 0; i < PATCH; i++) {
          for (let j = 0; j < PATCH; j++) {
            s += patch[c * 36 + i * 6 + j] = src[c * plane + (y0 + i) * w + x0 + j];
            sm += meanSrc[c * plane + (y0 + i) * w + x0 + j];
          }
        }
        for (let k = 0; k < 36; k++) patch[c * 36 + k] -= s / 36;
        means[c] = sm / 36;
      }
      const den = gmmDenoisePatch(p, patch, sigma * sigma);
      for (let c = 0; c < 3; c++) {
        for (let i = 0; i < PATCH; i++) {
          for (let j = 0; j < PATCH; j++) {
            acc[c * plane + (y0 + i) * w + x0 + j] += den[c * 36 + i * 6 + j] + means[c];
          }
        }
      }
      for (let i = 0; i < PATCH; i++) {
        for (let j = 0; j < PATCH; j++) count[(y0 + i) * w + x0 + j]++;
      }
    }
  }
  const out = Tensor.zeros(x.shape);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < h0; i++) {
      for (let j = 0; j < w0; j++) {
        out.data[c * h0 * w0 + i * w0 + j] = acc[c * plane + i * w + j] / count[i * w + j];
      }
    }
  }
  return out;
}

/**
 * The prior as a DDPM noise predictor (linear schedule): x̂0 = D(x_t/√ā, √((1−ā)/ā)), the patch
 * means taken from the Gaussian prior's estimate x̂0_G, and ε = (x_t − √ā x̂0)/√(1 − ā).
 *
 * @param p The prior.
 * @param lowpass The Gaussian prior that supplies the patch means.
 * @param x The state x_t, [1, 3, H, W].
 * @param alphaBar ā at the timestep.
 * @param stride Patch stride.
 * @returns ε̂.
 */
export function gmmPriorEps(
  p: GmmPriorParams,
  lowpass: GaussianPriorParams,
  x: Tensor,
  alphaBar: number,
  stride = 2,
): Tensor {
  const s = Math.sqrt(alphaBar);
  const epsG = gaussianPriorEps(lowpass, x, alphaBar);
  const x0G = x.map((v, i) => (v - Math.sqrt(1 - alphaBar) * epsG.data[i]) / s);
  const x0 = gmmDenoiseImage(
    p,
    x.map((v) => v / s),
    Math.sqrt((1 - alphaBar) / alphaBar),
    stride,
    x0G,
  );
  return x.map((v, i) => (v - s * x0.data[i]) / Math.sqrt(1 - alphaBar));
}
