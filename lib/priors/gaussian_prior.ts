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

import { GraphBuilder } from "../onnx_graph.ts";
import type { ModelManifest } from "../manifest.ts";
import { parseManifest } from "../manifest.ts";
import { alphaBarFloat32, betaSchedule } from "../../samplers/beta_schedule.ts";
import { dct2, dctMatrix } from "../dct.ts";
import { Tensor } from "../tensor.ts";

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

function _dctInGraph(g: GraphBuilder, n: string): { d: string; k: string; nf: string } {
  const nf = g.node("Cast", [n], { to: 1 });
  const k = g.node("Cast", [
    g.node("Range", [g.constant("zero", [0], []), n, g.constant("one", [1], [])]),
  ], { to: 1 });
  const j2 = g.node("Add", [
    g.node("Mul", [k, g.constant("two", new Float32Array([2]), [])]),
    g.constant("onef", new Float32Array([1]), []),
  ]);
  const axis1 = g.constant("ax1", [1], [1]);
  const axis0 = g.constant("ax0", [0], [1]);
  const outer = g.node("Mul", [g.node("Unsqueeze", [k, axis1]), g.node("Unsqueeze", [j2, axis0])]);
  const step = g.node("Div", [g.constant("halfpi", new Float32Array([Math.PI / 2]), []), nf]);
  const cos = g.node("Cos", [g.node("Mul", [outer, step])]);
  const rowScale = g.node("Where", [
    g.node("Equal", [k, g.constant("zerof", new Float32Array([0]), [])]),
    g.node("Sqrt", [g.node("Reciprocal", [nf])]),
    g.node("Sqrt", [g.node("Div", [g.constant("twof", new Float32Array([2]), []), nf])]),
  ]);
  return { d: g.node("Mul", [cos, g.node("Unsqueeze", [rowScale, axis1])]), k, nf };
}

/**
 * The prior's ε-predictor as an ONNX graph that works at any image size.
 *
 * The DCT matrices and the spectrum are computed inside the graph from the input's shape,
 * so one file serves every size. Inputs `x` [n,3,H,W] and `t` [n] (float32 timestep of the
 * 1000-step linear schedule); output `eps` [n,3,H,W].
 *
 * @param p The fitted parameters.
 * @returns The `.onnx` bytes.
 */
export function gaussianPriorGraph(p: GaussianPriorParams): Uint8Array {
  const g = new GraphBuilder("gaussian_prior");
  const x = g.input("x", "float32", ["n", 3, "h", "w"]);
  const t = g.input("t", "float32", ["n"]);
  const table = alphaBarFloat32(
    betaSchedule("linear", { betaStart: 1e-4, betaEnd: 0.02, trainSteps: 1000 }),
  );
  const ab = g.node("Reshape", [
    g.node("Gather", [g.constant("alphabar", table, [1000]), g.node("Cast", [t], { to: 7 })], {
      axis: 0,
    }),
    g.constant("shape4", [-1, 1, 1, 1], [4]),
  ]);
  const oneMinus = g.node("Sub", [g.constant("one", new Float32Array([1]), []), ab]);
  const mu = g.constant("mean", new Float32Array(p.mean), [1, 3, 1, 1]);
  const centred = g.node("Sub", [x, g.node("Mul", [g.node("Sqrt", [ab]), mu])]);
  const q = g.constant("basis", new Float32Array(p.basis.flat()), [3, 3, 1, 1]);
  const qt = g.constant(
    "basisT",
    new Float32Array([0, 1, 2].flatMap((i) => [0, 1, 2].map((k) => p.basis[k][i]))),
    [3, 3, 1, 1],
  );
  const rotated = g.node("Conv", [centred, q]);
  const shape = g.node("Shape", [x]);
  const h = g.node("Gather", [shape, g.constant("i2", [2], [])], { axis: 0 });
  const w = g.node("Gather", [shape, g.constant("i3", [3], [])], { axis: 0 });
  const dh = _dctInGraph(g, h);
  const dw = _dctInGraph(g, w);
  const coeffs = g.node("MatMul", [
    g.node("MatMul", [dh.d, rotated]),
    g.node("Transpose", [dw.d], { perm: [1, 0] }),
  ]);
  // squared frequency of coefficient (ky, kx): (ky / 2H)² + (kx / 2W)²
  const fy = g.node("Div", [
    dh.k,
    g.node("Mul", [dh.nf, g.constant("two", new Float32Array([2]), [])]),
  ]);
  const fx = g.node("Div", [
    dw.k,
    g.node("Mul", [dw.nf, g.constant("two", new Float32Array([2]), [])]),
  ]);
  const f2 = g.node("Add", [
    g.node("Unsqueeze", [g.node("Mul", [fy, fy]), g.constant("ax1", [1], [1])]),
    g.node("Unsqueeze", [g.node("Mul", [fx, fx]), g.constant("ax0", [0], [1])]),
  ]);
  const spectrum = g.node("Add", [
    g.node("Mul", [
      g.constant("amp", new Float32Array(p.amplitude), [3, 1, 1]),
      g.node("Pow", [
        g.node("Add", [f2, g.constant("f0sq", new Float32Array([p.f0 * p.f0]), [])]),
        g.constant("expo", new Float32Array(p.alpha.map((a) => -a / 2)), [3, 1, 1]),
      ]),
    ]),
    g.constant("floor", new Float32Array(p.floor), [3, 1, 1]),
  ]);
  const gain = g.node("Div", [
    g.node("Sqrt", [oneMinus]),
    g.node("Add", [g.node("Mul", [ab, spectrum]), oneMinus]),
  ]);
  const filtered = g.node("Mul", [coeffs, gain]);
  const back = g.node("MatMul", [
    g.node("MatMul", [g.node("Transpose", [dh.d], { perm: [1, 0] }), filtered]),
    dw.d,
  ]);
  g.output(g.node("Conv", [back, qt]), "eps", "float32", ["n", 3, "h", "w"]);
  return g.toBytes();
}

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
