/**
 * The built-in natural-image prior: a Gaussian with a fitted 1/f^α spectrum, and its exact
 * MMSE noise predictor for the linear DDPM schedule, as a real ONNX graph.
 *
 * The prior: x0 = μ + Qᵀ z, where Q is an orthonormal colour basis (fitted by PCA) and each
 * colour channel z_k is a Gaussian field that is diagonal in the 2-D DCT-II basis with
 * variance P_k(f) = A_k (f² + f0²)^(−α_k/2) + B_k at frequency f (cycles per pixel). For
 * x_t = √ā x0 + √(1−ā) ε the posterior-mean noise is, per colour channel and DCT coefficient,
 * ε̂ = G · DCT[Q(x_t − √ā μ)] with G = √(1−ā) / (ā P + 1 − ā), mapped back by DCTᵀ and Qᵀ.
 *
 * It is a smooth, coherent prior for demos, tests and previews: its samples are cloud-like
 * textures with the right spectrum, not photographs.
 *
 * @module
 */

import type { ModelManifest } from "../manifest.ts";
import { parseManifest } from "../manifest.ts";
import { dct2, dctMatrix } from "../../lib/dct.ts";
import { Tensor } from "../../lib/tensor.ts";

/** The fitted parameters of the Gaussian prior. */
export interface GaussianPriorParams {
  /** Mean colour in [-1,1] model units (R, G, B). */
  mean: [number, number, number];
  /** Orthonormal colour basis, row k = channel k's weights on (R, G, B). */
  basis: [number, number, number][];
  /** Spectrum amplitude A_k per colour channel. */
  amplitude: [number, number, number];
  /** Spectrum exponent α_k. */
  alpha: [number, number, number];
  /** Spectrum floor B_k. */
  floor: [number, number, number];
  /** The low-frequency cut-off f0 (cycles per pixel). */
  f0: number;
}

/**
 * The spectrum P_k(f) of colour channel k at frequency f.
 *
 * @param p The parameters.
 * @param k Colour channel.
 * @param f2 Squared frequency (cycles per pixel)².
 * @returns The variance of that DCT coefficient.
 */
export function priorSpectrum(p: GaussianPriorParams, k: number, f2: number): number {
  return p.amplitude[k] * Math.pow(f2 + p.f0 * p.f0, -p.alpha[k] / 2) + p.floor[k];
}

/** The manifest of the Gaussian prior's graph. */
export const GAUSSIAN_PRIOR_MANIFEST: ModelManifest = parseManifest({
  kind: "ddpm",
  inputs: { x: "x", t: "t" },
  output: "eps",
  prediction: "eps",
  learnedSigma: false,
  timestep: { dtype: "float32" },
  range: [-1, 1],
  channels: 3,
  schedule: { beta: "linear", betaStart: 0.0001, betaEnd: 0.02, trainSteps: 1000 },
  defaults: { eta: 0.85 },
}, "builtin:gaussian");

/**
 * The same ε-predictor in closed form (float64), the test oracle for the graph.
 *
 * @param p The fitted parameters.
 * @param x The state x_t, [1, 3, H, W].
 * @param alphaBar ā at the timestep.
 * @returns ε̂.
 */
export function gaussianPriorEps(p: GaussianPriorParams, x: Tensor, alphaBar: number): Tensor {
  const [, , h, w] = x.shape;
  const plane = h * w;
  const dh = dctMatrix(h);
  const dw = dctMatrix(w);
  const sab = Math.sqrt(alphaBar);
  const rotated: Float64Array[] = [0, 1, 2].map((k) => {
    const out = new Float64Array(plane);
    for (let c = 0; c < 3; c++) {
      const wgt = p.basis[k][c];
      for (let i = 0; i < plane; i++) out[i] += wgt * (x.data[c * plane + i] - sab * p.mean[c]);
    }
    return out;
  });
  const filtered = rotated.map((r, k) => {
    const y = dct2(r, h, w, false, dh, dw);
    for (let ky = 0; ky < h; ky++) {
      for (let kx = 0; kx < w; kx++) {
        const f2 = (ky / (2 * h)) ** 2 + (kx / (2 * w)) ** 2;
        const pk = priorSpectrum(p, k, f2);
        y[ky * w + kx] *= Math.sqrt(1 - alphaBar) / (alphaBar * pk + 1 - alphaBar);
      }
    }
    return dct2(y, h, w, true, dh, dw);
  });
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    for (let k = 0; k < 3; k++) {
      const wgt = p.basis[k][c];
      for (let i = 0; i < plane; i++) out[c * plane + i] += wgt * filtered[k][i];
    }
  }
  return new Tensor([1, 3, h, w], out);
}
