/**
 * The GMM patch prior's ε-predictor as an ONNX graph that works at any image size (≥ 6):
 * Conv extracts the centred patches, MatMul projects them on every component's eigenvectors,
 * Softmax gives the responsibilities, a second MatMul applies the Wiener filters, and
 * ConvTranspose averages the overlapping patches (the statement in `gmm_prior.ts`).
 *
 * @module
 */

import { GraphBuilder } from "../onnx_graph.ts";
import { alphaBarFloat32, betaSchedule } from "../../schedules/beta_schedule.ts";
import { type GmmPriorParams, PATCH, PATCH_DIM, PATCH_SUBSPACE } from "./gmm_prior.ts";
import type { GaussianPriorParams } from "./gaussian_prior.ts";

/** Runs the patches are denoised in (bounds the size of the per-component intermediates). */
const _CHUNKS = 8;
import { gaussianPriorEpsNodes } from "./gaussian_prior_graph.ts";

/** The centring, mean and identity patch convolutions (108 outputs: 3 channels × 6×6). */
function _patchWeights(): { wc: Float32Array; wm: Float32Array; wid: Float32Array } {
  const wc = new Float32Array(PATCH_DIM * 3 * 36),
    wm = new Float32Array(3 * 3 * 36),
    wid = new Float32Array(PATCH_DIM * 3 * 36);
  for (let c = 0; c < 3; c++) {
    for (let q = 0; q < 36; q++) {
      const o = c * 36 + q;
      for (let q2 = 0; q2 < 36; q2++) wc[(o * 3 + c) * 36 + q2] = (q === q2 ? 1 : 0) - 1 / 36;
      wid[(o * 3 + c) * 36 + q] = 1;
      wm[(c * 3 + c) * 36 + q] = 1 / 36;
    }
  }
  return { wc, wm, wid };
}

/** The mixture's graph values every chunk of patches shares. */
interface _Mixture {
  vallC: string;
  vallTC: string;
  perComp: (v: string) => string;
  lamP: string;
  floorP: string;
  logdet: string;
  logPi: string;
  shrinkMinusFloor: string;
  fk: string;
  half: string;
  kr: number;
}

/** Responsibilities and Wiener filters for patches qc [n,Lc,108]: the denoised patches. */
function _wienerNodes(g: GraphBuilder, qc: string, m: _Mixture): string {
  const { vallC, vallTC, perComp, lamP, floorP, logdet, logPi, shrinkMinusFloor, fk, half } = m;
  const KR = m.kr;
  // projections on every component's eigenvectors: U [n,Lc,K·r]
  const u = g.node("MatMul", [qc, vallC]);
  const u2 = g.node("Mul", [u, u]);
  const quadEig = g.node("ReduceSum", [
    g.node("Div", [perComp(u2), lamP]),
    g.constant("r3", [3], [1]),
  ], { keepdims: 0 }); // [n,Lc,K]
  const proj = g.node("ReduceSum", [perComp(u2), g.constant("r3b", [3], [1])], { keepdims: 0 });
  const norm2 = g.node("ReduceSum", [g.node("Mul", [qc, qc]), g.constant("r2", [2], [1])], {
    keepdims: 1,
  }); // [n,Lc,1]
  const rest = g.node("Relu", [g.node("Sub", [norm2, proj])]);
  const quad = g.node("Add", [quadEig, g.node("Div", [rest, floorP])]);
  const score = g.node("Sub", [logPi, g.node("Mul", [half, g.node("Add", [quad, logdet])])]);
  const gamma = g.node("Softmax", [score], { axis: 2 }); // [n,Lc,K]
  // Wiener filters: Σ_k γ_k [V_k (s_k − f_k) V_kᵀ p] + (Σ_k γ_k f_k) p
  const coef = g.node("Mul", [
    g.node("Mul", [perComp(u), shrinkMinusFloor]),
    g.node("Unsqueeze", [gamma, g.constant("ax3c", [3], [1])]),
  ]);
  const eigPart = g.node("MatMul", [
    g.node("Reshape", [coef, g.constant("s3c", [0, 0, KR], [3])]),
    vallTC,
  ]);
  const floorPart = g.node("Mul", [
    g.node("ReduceSum", [g.node("Mul", [gamma, fk]), g.constant("r2b", [2], [1])], {
      keepdims: 1,
    }),
    qc,
  ]);
  return g.node("Add", [eigPart, floorPart]); // [n,Lc,108]
}

/** Overlap-add the denoised patches and the means, divide by the coverage, crop to x's size. */
function _overlapAdd(
  g: GraphBuilder,
  v: {
    denoised: string;
    grid: string;
    means: string;
    wid: Float32Array;
    strides: number[];
    x: string;
  },
): string {
  const { denoised, grid, means, wid, strides, x } = v;
  const f = (c: number) => g.constant("c", new Float32Array([c]), []);
  // back to [n,108,H',W']
  const back = g.node("Reshape", [g.node("Transpose", [denoised], { perm: [0, 2, 1] }), grid]);
  const wback = new Float32Array(3 * 3 * 36);
  for (let c = 0; c < 3; c++) for (let k = 0; k < 36; k++) wback[(c * 3 + c) * 36 + k] = 1;
  const sumPatches = g.node("ConvTranspose", [
    back,
    g.constant("wid", wid, [PATCH_DIM, 3, PATCH, PATCH]),
  ], { strides });
  const sumMeans = g.node("ConvTranspose", [
    means,
    g.constant("wback", wback, [3, 3, PATCH, PATCH]),
  ], { strides });
  const ones = g.node("Slice", [
    g.node("ReduceSum", [g.node("Mul", [means, f(0)]), g.constant("r1", [1], [1])], {
      keepdims: 1,
    }),
    g.constant("z0", [0], [1]),
    g.constant("z1", [1], [1]),
    g.constant("z2", [0], [1]),
  ]); // [1,1,H',W'] of zeros
  const coverage = g.node("ConvTranspose", [
    g.node("Add", [ones, f(1)]),
    g.constant("wones", new Float32Array(36).fill(1), [1, 1, PATCH, PATCH]),
  ], { strides });
  const total = g.node("Div", [g.node("Add", [sumPatches, sumMeans]), coverage]);
  const shapeX = g.node("Shape", [x]);
  const hw = g.node("Slice", [shapeX, g.constant("b2", [2], [1]), g.constant("e4", [4], [1])]);
  const x0 = g.node("Slice", [
    total,
    g.constant("st", [0, 0], [2]),
    hw,
    g.constant("axes", [2, 3], [2]),
  ]);
  return x0;
}

/**
 * Build the graph: inputs `x` [n,3,H,W] and `t` [n] (float32 timestep of the 1000-step linear
 * schedule), output `eps` [n,3,H,W].
 *
 * @param p The prior.
 * @param lowpass The Gaussian prior whose estimate supplies the patch means.
 * @param stride Patch stride (2).
 * @returns The `.onnx` bytes.
 */
export function gmmPriorGraph(
  p: GmmPriorParams,
  lowpass: GaussianPriorParams,
  stride = 2,
): Uint8Array {
  const K = p.components, r = p.rank, KR = K * r;
  const g = new GraphBuilder("gmm_prior");
  const f = (v: number) => g.constant("c", new Float32Array([v]), []);
  const x = g.input("x", "float32", ["n", 3, "h", "w"]);
  const t = g.input("t", "float32", ["n"]);
  const table = alphaBarFloat32(
    betaSchedule("linear", { betaStart: 1e-4, betaEnd: 0.02, trainSteps: 1000 }),
  );
  const ab = g.node("Reshape", [
    g.node("Gather", [g.constant("alphabar", table, [1000]), g.node("Cast", [t], { to: 7 })], {
      axis: 0,
    }),
    g.constant("s4", [-1, 1, 1, 1], [4]),
  ]);
  const sab = g.node("Sqrt", [ab]);
  const oneMinus = g.node("Sub", [f(1), ab]);
  const sigma2 = g.node("Reshape", [
    g.node("Div", [oneMinus, ab]),
    g.constant("s3", [-1, 1, 1], [3]),
  ]); // [n,1,1]
  // the image at noise level σ, edge-padded so the patch grid covers every pixel
  const y = g.node("Div", [x, sab]);
  const padded = g.node("Pad", [
    y,
    g.constant("pads", [0, 0, 0, 0, 0, 0, stride - 1, stride - 1], [8]),
  ], { mode: "edge" });
  // centred patches in one Conv: identity minus each channel's patch mean
  const { wc, wm, wid } = _patchWeights();
  const strides = [stride, stride];
  const centred = g.node("Conv", [padded, g.constant("wc", wc, [PATCH_DIM, 3, PATCH, PATCH])], {
    strides,
  });
  // the patch means come from the Gaussian prior's estimate of x0 (the patch model has none)
  const epsG = gaussianPriorEpsNodes(g, x, t, lowpass);
  const x0G = g.node("Div", [
    g.node("Sub", [x, g.node("Mul", [g.node("Sqrt", [oneMinus]), epsG])]),
    sab,
  ]);
  const paddedG = g.node("Pad", [
    x0G,
    g.constant("padsG", [0, 0, 0, 0, 0, 0, stride - 1, stride - 1], [8]),
  ], { mode: "edge" });
  const means = g.node("Conv", [paddedG, g.constant("wm", wm, [3, 3, PATCH, PATCH])], { strides });
  // [n,108,H',W'] → [n,L,108]
  const grid = g.node("Shape", [centred]);
  const flat = g.node("Reshape", [centred, g.constant("s3b", [0, PATCH_DIM, -1], [3])]);
  const q = g.node("Transpose", [flat], { perm: [0, 2, 1] });
  // projections on every component's eigenvectors: U [n,L,K·r]
  const vall = new Float32Array(PATCH_DIM * KR), vallT = new Float32Array(KR * PATCH_DIM);
  for (let kr = 0; kr < KR; kr++) {
    for (let d = 0; d < PATCH_DIM; d++) {
      vall[d * KR + kr] = p.eigenvectors[kr * PATCH_DIM + d];
      vallT[kr * PATCH_DIM + d] = p.eigenvectors[kr * PATCH_DIM + d];
    }
  }
  const vallC = g.constant("vall", vall, [PATCH_DIM, KR]),
    vallTC = g.constant("vallT", vallT, [KR, PATCH_DIM]);
  const perComp = (v: string) => g.node("Reshape", [v, g.constant("s4b", [0, 0, K, r], [4])]);
  const lamP = g.node("Add", [
    g.constant("lam", p.eigenvalues, [1, 1, K, r]),
    g.node("Unsqueeze", [sigma2, g.constant("ax3", [3], [1])]),
  ]); // [n,1,K,r]
  const floorP = g.node("Add", [g.constant("floor", p.floors, [1, 1, K]), sigma2]); // [n,1,K]
  const logdet = g.node("Add", [
    g.node("ReduceSum", [g.node("Log", [lamP]), g.constant("r3c", [3], [1])], { keepdims: 0 }),
    g.node("Mul", [f(PATCH_SUBSPACE - r), g.node("Log", [floorP])]),
  ]);
  const logPi = g.constant("logpi", p.weights.map(Math.log), [1, 1, K]);
  const shrink = g.node("Div", [g.constant("lam2", p.eigenvalues, [1, 1, K, r]), lamP]);
  const fk = g.node("Div", [g.constant("floor2", p.floors, [1, 1, K]), floorP]); // [n,1,K]
  const shrinkMinusFloor = g.node("Sub", [
    shrink,
    g.node("Unsqueeze", [fk, g.constant("ax3b", [3], [1])]),
  ]);
  const mixture: _Mixture = {
    vallC,
    vallTC,
    perComp,
    lamP,
    floorP,
    logdet,
    logPi,
    shrinkMinusFloor,
    fk,
    half: f(0.5),
    kr: KR,
  };
  const denoise = (qc: string) => _wienerNodes(g, qc, mixture);
  // the patches in _CHUNKS runs, one after the other, so the [n,L,K·r] intermediates exist for
  // one run at a time (a 256² image has 16384 patches × 768 projections per run otherwise)
  const count = g.node("Slice", [
    g.node("Shape", [q]),
    g.constant("c1", [1], [1]),
    g.constant("c2", [2], [1]),
  ]);
  const chunk = g.node("Div", [
    g.node("Add", [count, g.constant("cm", [_CHUNKS - 1], [1])]),
    g.constant("cn", [_CHUNKS], [1]),
  ]);
  const parts: string[] = [];
  for (let c = 0; c < _CHUNKS; c++) {
    const from = g.node("Mul", [chunk, g.constant("ci", [c], [1])]);
    const to = g.node("Mul", [chunk, g.constant("cj", [c + 1], [1])]);
    parts.push(denoise(g.node("Slice", [q, from, to, g.constant("ax1", [1], [1])])));
  }
  const denoised = g.node("Concat", parts, { axis: 1 }); // [n,L,108]
  const x0 = _overlapAdd(g, { denoised, grid, means, wid, strides, x });
  // ε = (x − √ā x̂0)/√(1 − ā)
  const eps = g.node("Div", [
    g.node("Sub", [x, g.node("Mul", [sab, x0])]),
    g.node("Sqrt", [oneMinus]),
  ]);
  g.output(eps, "eps", "float32", ["n", 3, "h", "w"]);
  return g.toBytes();
}
