import assert from "node:assert/strict";
import { loadModel } from "../model/builtin_models.ts";
import {
  decodeGmmPrior,
  gmmDenoiseImage,
  gmmPriorEps,
  PATCH_DIM,
} from "../model/priors/gmm_prior.ts";
import { GMM_PRIOR_DATA } from "../model/priors/gmm_prior_params.ts";
import { GAUSSIAN_PRIOR_PARAMS } from "../model/priors/gaussian_prior_params.ts";
import { gaussianPriorEps } from "../model/priors/gaussian_prior.ts";
import { fitGmm, samplePatches } from "../tools/priors/fit_gmm_prior.ts";
import { decodeHalfBase64, encodeHalfBase64, fromHalf, toHalf } from "../lib/float16.ts";
import { alphaBarFloat32, betaSchedule } from "../schedules/beta_schedule.ts";
import { imageToTensor, readImage } from "../lib/image.ts";
import { GaussianNoise } from "../lib/noise.ts";
import { Tensor } from "../lib/tensor.ts";
import { randomValues } from "./_graphs.ts";

const prior = decodeGmmPrior(GMM_PRIOR_DATA);
const table = alphaBarFloat32(betaSchedule("linear"));

Deno.test("float16: round trips, rounding to nearest even, specials", () => {
  for (const v of [0, 1, -2.5, 65504, 2 ** -14, 2 ** -24, 0.333251953125]) {
    assert.equal(fromHalf(toHalf(v)), v);
  }
  assert.equal(fromHalf(toHalf(1 + 2 ** -11)), 1); // a tie goes to even
  assert.equal(fromHalf(toHalf(1e6)), Infinity);
  assert.ok(Number.isNaN(fromHalf(toHalf(NaN))));
  const vals = randomValues(1000, 3);
  const back = decodeHalfBase64(encodeHalfBase64(vals));
  for (let i = 0; i < vals.length; i++) {
    assert.ok(Math.abs(back[i] - vals[i]) <= 2 ** -11 * Math.abs(vals[i]) + 1e-7);
  }
});

Deno.test("GMM fit: EM's log-likelihood never decreases", async () => {
  const images = [];
  for (const name of ["chelsea", "coffee"]) {
    const im = await readImage(new URL(`../assets/train/${name}.png`, import.meta.url).pathname);
    images.push(im);
  }
  const patches = samplePatches(images, 3000, 5);
  // every patch has zero mean per channel
  for (let c = 0; c < 3; c++) {
    const s = patches.subarray(c * 36, c * 36 + 36).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(s) < 1e-4);
  }
  const fit = await fitGmm(patches, {
    components: 6,
    rank: 8,
    patches: 3000,
    iterations: 12,
    seed: 5,
  });
  assert.ok(fit.logLikelihood.length >= 3);
  for (let i = 1; i < fit.logLikelihood.length; i++) {
    assert.ok(
      fit.logLikelihood[i] >= fit.logLikelihood[i - 1] - 1e-6,
      `iteration ${i + 1}: ${fit.logLikelihood[i]} < ${fit.logLikelihood[i - 1]}`,
    );
  }
  const w = fit.params.weights.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(w - 1) < 1e-5, `weights sum to ${w}`);
  // eigenvectors are orthonormal and orthogonal to the per-channel mean directions
  const v = fit.params.eigenvectors;
  let dot = 0, norm = 0, meanDir = 0;
  for (let d = 0; d < PATCH_DIM; d++) {
    dot += v[d] * v[PATCH_DIM + d];
    norm += v[d] * v[d];
    if (d < 36) meanDir += v[d] / 6;
  }
  assert.ok(Math.abs(dot) < 1e-4 && Math.abs(norm - 1) < 1e-4 && Math.abs(meanDir) < 1e-4);
});

Deno.test("the shipped prior: at most 5 MB, weights sum to 1, positive variances", () => {
  assert.ok(GMM_PRIOR_DATA.half.length < 5e6);
  assert.ok(Math.abs(prior.weights.reduce((a, b) => a + b, 0) - 1) < 1e-2);
  assert.ok(prior.eigenvalues.every((v) => v > 0) && prior.floors.every((v) => v > 0));
});

Deno.test("GMM denoiser beats the Gaussian prior's Wiener filter on a held-out photo", async () => {
  const full = imageToTensor(
    await readImage(new URL("../assets/rocket_256.png", import.meta.url).pathname),
    3,
  );
  const side = 96, plane = side * side;
  const crop = Tensor.zeros([1, 3, side, side]);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < side; i++) {
      for (let j = 0; j < side; j++) {
        crop.data[c * plane + i * side + j] = 2 * full.data[c * 65536 + (80 + i) * 256 + 80 + j] -
          1;
      }
    }
  }
  const mse = (a: Tensor) => a.data.reduce((s, v, i) => s + (v - crop.data[i]) ** 2, 0) / a.size;
  for (const sigma of [0.05, 0.1, 0.2, 0.5]) {
    const z = new Float32Array(crop.size);
    new GaussianNoise(Math.round(sigma * 100)).fill(z);
    // x_t = √ā (x0 + σ z) at the ā with σ² = (1 − ā)/ā: the priors see x0 at noise level σ
    const ab = 1 / (1 + sigma * sigma);
    const xt = crop.map((v, i) => Math.sqrt(ab) * (v + sigma * z[i]));
    const epsG = gaussianPriorEps(GAUSSIAN_PRIOR_PARAMS, xt, ab);
    const wiener = xt.map((v, i) => (v - Math.sqrt(1 - ab) * epsG.data[i]) / Math.sqrt(ab));
    const gmm = gmmDenoiseImage(prior, xt.map((v) => v / Math.sqrt(ab)), sigma, 2, wiener);
    const [mg, mw, noisy] = [mse(gmm), mse(wiener), sigma * sigma];
    assert.ok(
      mg < mw,
      `σ=${sigma}: GMM MSE ${mg.toExponential(3)} vs Gaussian ${
        mw.toExponential(3)
      } (noisy ${noisy})`,
    );
  }
});

Deno.test("GMM prior's ONNX graph matches the TypeScript reference within 1e-4 (native and wasm)", async () => {
  for (const runtime of ["native", "wasm"] as const) {
    const model = await loadModel("builtin:gmm", { runtime });
    for (const [h, w, seed] of [[16, 16, 1], [13, 22, 2], [24, 8, 3]]) {
      const x = new Tensor([1, 3, h, w], randomValues(3 * h * w, seed, 1.2));
      for (const t of [5, 200, 600, 990]) {
        const got = await model.run({ x, t });
        const want = gmmPriorEps(prior, GAUSSIAN_PRIOR_PARAMS, x, table[t]);
        let err = 0, scale = 1;
        for (let i = 0; i < want.size; i++) {
          err = Math.max(err, Math.abs(got.data[i] - want.data[i]));
          scale = Math.max(scale, Math.abs(want.data[i]));
        }
        assert.ok(err <= 1e-4 * scale, `${runtime} ${h}x${w} t=${t}: ${err} (scale ${scale})`);
      }
    }
    await model.release();
  }
});
