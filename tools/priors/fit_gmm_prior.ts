/**
 * Fits the built-in GMM patch prior on the colour photos in `assets/train/` and writes
 * `model/priors/gmm_prior_params.ts`. Deterministic (seed 2026); run with
 * `deno run -A tools/priors/fit_gmm_prior.ts` (about a minute on 2 cores).
 *
 * EM for a mixture of probabilistic PCAs (Tipping & Bishop 1999) over 6x6x3 patches with
 * per-channel means removed: zero-mean components, each keeping its top r eigenvectors and a
 * floor equal to the mean of the remaining eigenvalues of its weighted scatter, which is the
 * exact maximum-likelihood M-step of this family, so the log-likelihood cannot decrease (the
 * script checks that it does not). The large products run in ONNX Runtime.
 *
 * @module
 */

import * as ort from "npm:onnxruntime-node@1.30.0";
import { readImage } from "../../lib/image.ts";
import { GraphBuilder } from "../../model/onnx_graph.ts";
import { philox4x32 } from "../../lib/philox.ts";
import { encodeHalfBase64 } from "../../lib/float16.ts";
import { jacobiSvd } from "../../operators/svd.ts";
import {
  type GmmPriorParams,
  PATCH,
  PATCH_DIM,
  PATCH_SUBSPACE,
} from "../../model/priors/gmm_prior.ts";

/** Settings of the fit. */
export interface GmmFitOptions {
  /** Components K. */
  components: number;
  /** Eigenvectors per component r. */
  rank: number;
  /** Patches sampled. */
  patches: number;
  /** Most EM iterations. */
  iterations: number;
  /** Seed of the patch sample and the initial assignment. */
  seed: number;
  /** Receives a line per iteration. */
  log?: (line: string) => void;
}

/** The fitted prior and the log-likelihood per patch after each iteration. */
export interface GmmFit {
  /** The prior. */
  params: GmmPriorParams;
  /** Mean log-likelihood per patch, one per iteration. */
  logLikelihood: number[];
}

let _matmul: Promise<ort.InferenceSession> | undefined;

/** C = A (m x k) · B (k x n) in ONNX Runtime. */
async function _mm(
  a: Float32Array,
  m: number,
  k: number,
  b: Float32Array,
  n: number,
): Promise<Float32Array> {
  _matmul ??= (() => {
    const g = new GraphBuilder("matmul");
    const A = g.input("a", "float32", ["m", "k"]);
    const B = g.input("b", "float32", ["k", "n"]);
    g.output(g.node("MatMul", [A, B]), "c", "float32", ["m", "n"]);
    return ort.InferenceSession.create(g.toBytes(), {
      intraOpNumThreads: navigator.hardwareConcurrency,
      logSeverityLevel: 3,
    });
  })();
  const s = await _matmul;
  const r = await s.run({
    a: new ort.Tensor("float32", a, [m, k]),
    b: new ort.Tensor("float32", b, [k, n]),
  });
  return r.c.data as Float32Array;
}

function _uniforms(seed: number, count: number): Float64Array {
  const out = new Float64Array(count);
  const w = new Uint32Array(4);
  for (let i = 0; i < count; i += 4) {
    philox4x32(i / 4, 0, 3, 0, seed >>> 0, 0, w);
    for (let j = 0; j < 4 && i + j < count; j++) out[i + j] = (w[j] + 0.5) / 4294967296;
  }
  return out;
}

/**
 * Sample mean-removed patches from images in [-1,1].
 *
 * @param images Planar RGB images with their sizes.
 * @param count Patches.
 * @param seed Seed.
 * @returns count x 108 values.
 */
export function samplePatches(
  images: { pixels: Float32Array; width: number; height: number }[],
  count: number,
  seed: number,
): Float32Array {
  const u = _uniforms(seed, 3 * count);
  const out = new Float32Array(count * PATCH_DIM);
  const areas = images.map((im) => (im.width - PATCH + 1) * (im.height - PATCH + 1));
  const total = areas.reduce((a, b) => a + b, 0);
  for (let n = 0; n < count; n++) {
    let pick = u[3 * n] * total, k = 0;
    while (pick >= areas[k]) pick -= areas[k++];
    const im = images[k], plane = im.width * im.height;
    const y0 = Math.floor(u[3 * n + 1] * (im.height - PATCH + 1)),
      x0 = Math.floor(u[3 * n + 2] * (im.width - PATCH + 1));
    for (let c = 0; c < 3; c++) {
      let s = 0;
      for (let i = 0; i < PATCH; i++) {
        for (let j = 0; j < PATCH; j++) {
          s += out[n * PATCH_DIM + c * 36 + i * 6 + j] =
            2 * im.pixels[c * plane + (y0 + i) * im.width + x0 + j] - 1;
        }
      }
      for (let q = 0; q < 36; q++) out[n * PATCH_DIM + c * 36 + q] -= s / 36;
    }
  }
  return out;
}

/** The PPCA M-step for one component from its weighted scatter. */
function _ppca(
  scatter: Float32Array,
  rank: number,
): { values: Float64Array; vectors: Float64Array; floor: number } {
  const svd = jacobiSvd(Float64Array.from(scatter), PATCH_DIM, PATCH_DIM);
  const values = svd.s.slice(0, rank);
  let rest = 0;
  for (let i = rank; i < PATCH_SUBSPACE; i++) rest += svd.s[i]; // the last 3 are the removed means
  const vectors = new Float64Array(rank * PATCH_DIM);
  for (let i = 0; i < rank; i++) {
    for (let d = 0; d < PATCH_DIM; d++) vectors[i * PATCH_DIM + d] = svd.v[d * PATCH_DIM + i];
  }
  return { values, vectors, floor: Math.max(rest / (PATCH_SUBSPACE - rank), 1e-10) };
}

/**
 * Fit the mixture by EM.
 *
 * @param patches N x 108 mean-removed patches.
 * @param o Settings.
 * @returns The prior and its log-likelihood trace.
 */
export async function fitGmm(patches: Float32Array, o: GmmFitOptions): Promise<GmmFit> {
  const N = patches.length / PATCH_DIM, K = o.components, r = o.rank;
  const norms = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let s = 0;
    for (let d = 0; d < PATCH_DIM; d++) s += patches[n * PATCH_DIM + d] ** 2;
    norms[n] = s;
  }
  // initial responsibilities: each patch to a random component
  const gamma = new Float32Array(N * K);
  const u0 = _uniforms(o.seed + 1, N);
  for (let n = 0; n < N; n++) gamma[n * K + Math.floor(u0[n] * K)] = 1;
  const weights = new Float64Array(K), eig = new Float64Array(K * r), floors = new Float64Array(K);
  const vectors = new Float64Array(K * r * PATCH_DIM);
  const ll: number[] = [];
  const qt = new Float32Array(PATCH_DIM * N);
  for (let it = 0; it < o.iterations; it++) {
    // M-step: π_k, and the PPCA fit of each weighted scatter S_k = Σ γ p pᵀ / N_k
    for (let k = 0; k < K; k++) {
      let nk = 0;
      for (let n = 0; n < N; n++) nk += gamma[n * K + k];
      weights[k] = nk / N;
      for (let n = 0; n < N; n++) {
        const sw = Math.sqrt(gamma[n * K + k] / Math.max(nk, 1e-12));
        for (let d = 0; d < PATCH_DIM; d++) qt[d * N + n] = patches[n * PATCH_DIM + d] * sw;
      }
      const q = new Float32Array(N * PATCH_DIM);
      for (let d = 0; d < PATCH_DIM; d++) {
        for (let n = 0; n < N; n++) q[n * PATCH_DIM + d] = qt[d * N + n];
      }
      const scatter = await _mm(qt, PATCH_DIM, N, q, PATCH_DIM);
      const f = _ppca(scatter, r);
      eig.set(f.values, k * r);
      vectors.set(f.vectors, k * r * PATCH_DIM);
      floors[k] = f.floor;
    }
    // E-step: u = V_kᵀ p for every component at once, then log π_k + log N(p; 0, C_k)
    const vt = new Float32Array(PATCH_DIM * K * r);
    for (let kr = 0; kr < K * r; kr++) {
      for (let d = 0; d < PATCH_DIM; d++) vt[d * K * r + kr] = vectors[kr * PATCH_DIM + d];
    }
    const proj = await _mm(patches, N, PATCH_DIM, vt, K * r);
    const consts = new Float64Array(K);
    for (let k = 0; k < K; k++) {
      let logdet = (PATCH_SUBSPACE - r) * Math.log(floors[k]);
      for (let i = 0; i < r; i++) logdet += Math.log(eig[k * r + i]);
      consts[k] = Math.log(Math.max(weights[k], 1e-300)) -
        0.5 * (logdet + PATCH_SUBSPACE * Math.log(2 * Math.PI));
    }
    let total = 0;
    const scores = new Float64Array(K);
    for (let n = 0; n < N; n++) {
      let max = -Infinity;
      for (let k = 0; k < K; k++) {
        let quad = 0, pr = 0;
        for (let i = 0; i < r; i++) {
          const v = proj[n * K * r + k * r + i];
          quad += (v * v) / eig[k * r + i];
          pr += v * v;
        }
        quad += Math.max(0, norms[n] - pr) / floors[k];
        scores[k] = consts[k] - 0.5 * quad;
        if (scores[k] > max) max = scores[k];
      }
      let sum = 0;
      for (let k = 0; k < K; k++) sum += Math.exp(scores[k] - max);
      total += max + Math.log(sum);
      for (let k = 0; k < K; k++) gamma[n * K + k] = Math.exp(scores[k] - max) / sum;
    }
    ll.push(total / N);
    o.log?.(`iteration ${it + 1}: mean log-likelihood per patch ${ll[it].toFixed(4)}`);
    if (it > 0 && ll[it] - ll[it - 1] < 1e-3) break;
  }
  return {
    params: {
      components: K,
      rank: r,
      weights: Float32Array.from(weights),
      eigenvalues: Float32Array.from(eig),
      floors: Float32Array.from(floors),
      eigenvectors: Float32Array.from(vectors),
    },
    logLikelihood: ll,
  };
}

if (import.meta.main) {
  const t0 = performance.now();
  const dir = new URL("../../assets/train/", import.meta.url);
  const images = [];
  for (
    const e of [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".png")).sort((a, b) =>
      a.name.localeCompare(b.name)
    )
  ) {
    const im = await readImage(new URL(e.name, dir).pathname);
    if (im.channels === 3) images.push(im);
  }
  const options: GmmFitOptions = {
    components: 24,
    rank: 32,
    patches: 40000,
    iterations: 40,
    seed: 2026,
    log: console.log,
  };
  const patches = samplePatches(images, options.patches, options.seed);
  const fit = await fitGmm(patches, options);
  for (let i = 1; i < fit.logLikelihood.length; i++) {
    if (fit.logLikelihood[i] < fit.logLikelihood[i - 1] - 1e-6) {
      throw new Error(`log-likelihood decreased at iteration ${i + 1}`);
    }
  }
  const p = fit.params;
  const half = encodeHalfBase64([...p.weights, ...p.eigenvalues, ...p.floors, ...p.eigenvectors]);
  const text =
    `// Generated by tools/priors/fit_gmm_prior.ts on the colour photos of assets/train/; do not edit.
// ${options.components} components, rank ${options.rank}, ${options.patches} patches, seed ${options.seed},
// ${fit.logLikelihood.length} EM iterations, final mean log-likelihood ${
      fit.logLikelihood.at(-1)!.toFixed(4)
    } per patch.
import type { GmmPriorData } from "../../model/priors/gmm_prior.ts";

/** The fitted parameters of the built-in GMM patch prior (float16, base64). */
export const GMM_PRIOR_DATA: GmmPriorData = {
  components: ${p.components},
  rank: ${p.rank},
  half: "${half}",
};
`;
  await Deno.writeTextFile(
    new URL("../../model/priors/gmm_prior_params.ts", import.meta.url),
    text,
  );
  console.log(
    `wrote model/priors/gmm_prior_params.ts (${(text.length / 1e6).toFixed(2)} MB) in ${
      ((performance.now() - t0) / 1000).toFixed(0)
    } s`,
  );
}
