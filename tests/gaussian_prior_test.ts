import assert from "node:assert/strict";
import { loadModel } from "../model/builtin_models.ts";
import { gaussianPriorEps, priorSpectrum } from "../model/priors/gaussian_prior.ts";
import { GAUSSIAN_PRIOR_PARAMS as P } from "../model/priors/gaussian_prior_params.ts";
import { alphaBarFloat32, betaSchedule } from "../schedules/beta_schedule.ts";
import { Tensor } from "../lib/tensor.ts";
import { GaussianNoise } from "../lib/noise.ts";
import { dct2 } from "../lib/dct.ts";
import { randomValues } from "./_graphs.ts";

const table = alphaBarFloat32(betaSchedule("linear"));

Deno.test("Gaussian prior: ONNX noise prediction equals the closed form on random inputs", async () => {
  for (const runtime of ["native", "wasm"] as const) {
    const model = await loadModel("builtin:gaussian", { runtime });
    for (const [h, w, seed] of [[16, 24, 1], [32, 32, 2], [8, 40, 3]]) {
      const x = new Tensor([1, 3, h, w], randomValues(3 * h * w, seed, 1.5));
      for (const t of [0, 10, 250, 640, 990, 999]) {
        const got = await model.run({ x, t });
        const want = gaussianPriorEps(P, x, table[t]);
        let scale = 1, err = 0;
        for (let i = 0; i < want.size; i++) {
          scale = Math.max(scale, Math.abs(want.data[i]));
          err = Math.max(err, Math.abs(got.data[i] - want.data[i]));
        }
        assert.ok(
          err <= 1e-4 * scale,
          `${runtime} ${h}x${w} t=${t}: max |d| ${err} (scale ${scale})`,
        );
      }
    }
    await model.release();
  }
});

Deno.test("Gaussian prior: closed form is the exact posterior mean (pure-noise and clean limits)", () => {
  const x = new Tensor([1, 3, 8, 8], randomValues(192, 5));
  // ā → 0: the state is pure noise, so ε̂ = x_t
  const noise = gaussianPriorEps(P, x, 1e-12);
  for (let i = 0; i < 192; i++) assert.ok(Math.abs(noise.data[i] - x.data[i]) < 1e-5);
  // DC coefficient: P(0) is large, so x0's mean is taken from the data and ε̂ has almost no DC
  const eps = gaussianPriorEps(P, x, 0.5);
  const mean = eps.data.reduce((a, b) => a + b, 0) / 192;
  assert.ok(Math.abs(mean) < 0.05, `DC of eps ${mean}`);
});

Deno.test("Gaussian prior: unconditional DDPM samples have the fitted spectrum", async () => {
  const model = await loadModel("builtin:gaussian", { runtime: "native" });
  const n = 8, h = 32, w = 32, plane = h * w;
  const noise = new GaussianNoise(123);
  const x = new Tensor([n, 3, h, w], new Float32Array(n * 3 * plane));
  noise.fill(x.data);
  const z = new Float32Array(x.size);
  const betas = betaSchedule("linear");
  // ancestral DDPM (Ho et al. 2020, Alg. 2) with the posterior variance β̃
  for (let t = 999; t >= 0; t--) {
    const eps = await model.run({ x, t });
    const ab = table[t], abPrev = t > 0 ? table[t - 1] : 1, beta = betas[t];
    const c1 = Math.sqrt(abPrev) * beta / (1 - ab),
      c2 = Math.sqrt(1 - beta) * (1 - abPrev) / (1 - ab);
    const sd = Math.sqrt(beta * (1 - abPrev) / (1 - ab));
    noise.fill(z);
    for (let i = 0; i < x.size; i++) {
      const x0 = (x.data[i] - Math.sqrt(1 - ab) * eps.data[i]) / Math.sqrt(ab);
      x.data[i] = c1 * x0 + c2 * x.data[i] + (t > 0 ? sd * z[i] : 0);
    }
  }
  // For a Gaussian prior the ancestral chain is linear in each coefficient, so the exact
  // variance the sampler produces, V0(P), follows from V_{t-1} = m_t² V_t + sd_t², V_T = 1.
  const chainVariance = (p: number) => {
    let v = 1;
    for (let t = 999; t >= 0; t--) {
      const ab = table[t], abPrev = t > 0 ? table[t - 1] : 1, beta = betas[t];
      const c1 = Math.sqrt(abPrev) * beta / (1 - ab),
        c2 = Math.sqrt(1 - beta) * (1 - abPrev) / (1 - ab);
      const m = c1 * Math.sqrt(ab) * p / (ab * p + 1 - ab) + c2;
      v = m * m * v + (t > 0 ? beta * (1 - abPrev) / (1 - ab) : 0);
    }
    return v;
  };
  // radially binned DCT power of Q(x0 - μ), against V0(P) and against the fitted P(f)
  const bins = 6;
  const vsChain = Array.from({ length: 3 }, () => new Float64Array(bins));
  const vsPrior = Array.from({ length: 3 }, () => new Float64Array(bins));
  const bias = Array.from({ length: 3 }, () => new Float64Array(bins));
  const counts = new Float64Array(bins);
  for (let b = 0; b < n; b++) {
    for (let k = 0; k < 3; k++) {
      const r = new Float64Array(plane);
      for (let c = 0; c < 3; c++) {
        for (let i = 0; i < plane; i++) {
          r[i] += P.basis[k][c] * (x.data[(b * 3 + c) * plane + i] - P.mean[c]);
        }
      }
      const coef = dct2(r, h, w);
      for (let ky = 0; ky < h; ky++) {
        for (let kx = 0; kx < w; kx++) {
          if (ky + kx === 0) continue;
          const f2 = (ky / (2 * h)) ** 2 + (kx / (2 * w)) ** 2;
          const bin = Math.min(bins - 1, Math.floor(Math.sqrt(f2) / 0.71 * bins));
          const p = priorSpectrum(P, k, f2);
          const v0 = chainVariance(p);
          vsChain[k][bin] += coef[ky * w + kx] ** 2 / v0;
          vsPrior[k][bin] += coef[ky * w + kx] ** 2 / p;
          bias[k][bin] += v0 / p;
          if (k === 0) counts[bin]++;
        }
      }
    }
  }
  for (let k = 0; k < 3; k++) {
    for (let bin = 0; bin < bins; bin++) {
      const se = Math.sqrt(2 / counts[bin]); // each term is χ²₁ / 1 with mean 1
      const m = vsChain[k][bin] / counts[bin];
      assert.ok(
        Math.abs(m - 1) < 5 * se,
        `channel ${k} bin ${bin}: power / V0(P) = ${m.toFixed(3)} (se ${se.toFixed(3)})`,
      );
      // where the sampler's own discretisation bias is small, the power is the fitted spectrum
      if (Math.abs(bias[k][bin] / counts[bin] - 1) < 0.02) {
        const mp = vsPrior[k][bin] / counts[bin];
        assert.ok(
          Math.abs(mp - 1) < 0.03 + 5 * se,
          `channel ${k} bin ${bin}: power / P = ${mp.toFixed(3)}`,
        );
      }
    }
  }
  // the low-frequency half of the luminance spectrum is checked against P directly
  assert.ok(Math.abs(bias[0][0] / counts[0] - 1) < 0.02);
  await model.release();
});
