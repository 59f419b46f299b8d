// hq_demo's sampler: RePaint schedule counts, λ/γ branches, and a whole run against a direct
// re-computation of docs/ddnm.md's hq_demo formulas.
import assert from "node:assert/strict";
import { ArrayNoise } from "../lib/noise.ts";
import { Tensor } from "../lib/tensor.ts";
import { CpuBackend } from "../kernels/cpu_backend.ts";
import { alphaBar, betaSchedule } from "../schedules/beta_schedule.ts";
import { timeTravelSchedule } from "../schedules/ddnm_schedule.ts";
import { buildOperator } from "../operators/ddnm_tasks.ts";
import { hqDemoCoefficients, hqDemoSample, type HqDemoSettings } from "../samplers/hq_demo.ts";
import { respacedSchedule, spaceTimesteps } from "../schedules/respacing.ts";
import { restoreDdnm } from "../pipelines/restore_ddnm.ts";
import { loadModel } from "../model/builtin_models.ts";
import { randomValues } from "./_graphs.ts";

const betas = betaSchedule("linear");
const respaced = (steps: number) =>
  respacedSchedule(alphaBar(betas), spaceTimesteps(1000, String(steps)));

Deno.test("hq_demo: RePaint schedule (100, 1, 10, 3) has 461 entries and 280 network calls", () => {
  const ts = timeTravelSchedule(100, 10, 3);
  assert.equal(ts.length, 461);
  assert.equal(ts.slice(1).filter((t, i) => t < ts[i]).length, 280);
  const s = respaced(100);
  assert.equal(s.timesteps[0], 0);
  assert.equal(s.timesteps[99], 999, "IDDPM respacing ends at the last training step");
  // the respaced chain keeps the training ā at the used steps
  const ab = alphaBar(betas);
  for (const k of [0, 37, 99]) assert.ok(Math.abs(s.alphaBar[k] - ab[s.timesteps[k]]) < 1e-12);
});

Deno.test("hq_demo: λ and γ in both branches, the reference's λ and the paper's", () => {
  const s = respaced(100);
  for (const k of [1, 50, 99]) {
    // σ_y = 0: full projection, the posterior variance as noise
    const c = hqDemoCoefficients(s, k, 0, false);
    assert.equal(c.lambda, 1);
    assert.equal(c.gamma, Math.fround(s.variance[k]));
  }
  const k = 50, a = Math.fround(s.coef1[k]), v = Math.fround(s.variance[k]);
  const sigma = Math.sqrt(v);
  // small σ_y: λ = 1 and γ = σ² − (a σ_y)²
  const small = (0.5 * sigma) / a;
  const c1 = hqDemoCoefficients(s, k, small, false);
  assert.equal(c1.lambda, 1);
  assert.ok(Math.abs(c1.gamma - 0.75 * v) < 1e-12);
  // large σ_y: no noise, λ = σ σ_y / a (reference) or σ / (a σ_y) (paper)
  const large = (4 * sigma) / a;
  const ref = hqDemoCoefficients(s, k, large, false), paper = hqDemoCoefficients(s, k, large, true);
  assert.equal(ref.gamma, 0);
  assert.ok(Math.abs(ref.lambda - (sigma * large) / a) < 1e-15);
  assert.ok(Math.abs(paper.lambda - 0.25) < 1e-12);
  // the last step adds no noise; with σ_y > 0 the reference does not project there either
  assert.deepEqual(hqDemoCoefficients(s, 0, 0, false), { lambda: 1, gamma: 0 });
  assert.equal(hqDemoCoefficients(s, 0, 0.1, false).lambda, 0);
});

Deno.test("hq_demo: a whole run equals a direct computation of the formulas", async () => {
  const N = 8, C = 3, n = C * N * N;
  const mask = new Uint8Array(N * N).map((_, i) => (i % 3 === 0 ? 0 : 1));
  const op = buildOperator({ name: "inpaint" }, C, N, N, "svd", mask);
  const truth = randomValues(n, 1).map((v) => 0.5 * v);
  const y = op.A(truth);
  const s = respaced(6);
  const settings: HqDemoSettings = {
    jumpLength: 2,
    jumpRepeat: 2,
    sigmaY: 0.05,
    paperLambda: false,
    range: [-1, 1],
  };
  const ts = timeTravelSchedule(6, 2, 2);
  const draws = randomValues(n * ts.length, 2);
  // a fixed "network": ε = 0.3 x + 0.1 sin(t)
  const eps = (x: Float32Array, t: number) => x.map((v) => 0.3 * v + 0.1 * Math.sin(t));
  const got = await hqDemoSample({
    predict: (x, t) => Promise.resolve(new Tensor(x.shape, eps(x.data, t))),
    backend: new CpuBackend(),
    operator: op,
    y,
    schedule: s,
    noise: new ArrayNoise(draws, "draws"),
    settings,
  });
  // the same chain in float64, straight from docs/ddnm.md, "hq_demo"
  let x = Float64Array.from(draws.subarray(0, n));
  let used = 1;
  for (let i = 0; i + 1 < ts.length; i++) {
    const k = ts[i];
    const z = draws.subarray(used * n, (used + 1) * n);
    used++;
    if (ts[i + 1] < k) {
      const e = eps(Float32Array.from(x), s.timesteps[k]);
      const ab = s.alphaBar[k];
      const x0 = x.map((v, j) =>
        Math.min(1, Math.max(-1, Math.sqrt(1 / ab) * v - Math.sqrt(1 / ab - 1) * e[j]))
      );
      const sigma = Math.sqrt(s.variance[k]), a = s.coef1[k];
      const [lambda, gamma] = sigma >= a * settings.sigmaY
        ? [1, k === 0 ? 0 : s.variance[k] - (a * settings.sigmaY) ** 2]
        : [(sigma * settings.sigmaY) / a, 0];
      x = x.map((v, j) => {
        const kept = mask[j % (N * N)] === 1;
        const x0hat = kept ? x0[j] - lambda * (x0[j] - y[j]) : x0[j];
        return s.coef1[k] * x0hat + s.coef2[k] * v + Math.sqrt(gamma) * z[j];
      });
    } else {
      const b = s.betas[k + 1];
      x = x.map((v, j) => Math.sqrt(1 - b) * v + Math.sqrt(b) * z[j]);
    }
  }
  let max = 0;
  for (let j = 0; j < n; j++) max = Math.max(max, Math.abs(got.data[j] - x[j]));
  assert.ok(max < 1e-5, `max |sampler − formulas| = ${max}`);
});

Deno.test("restore --sampler hq-demo: calls per schedule, kept pixels restored, seeded", async () => {
  const model = await loadModel("builtin:gaussian", { runtime: "native" });
  const N = 16;
  const mask = new Uint8Array(N * N).map((_, i) => ((i >> 2) % 3 === 0 ? 0 : 1));
  const img = new Tensor([1, 3, N, N], randomValues(3 * N * N, 3).map((v) => 0.5 + 0.2 * v));
  const run = (seed: number) =>
    restoreDdnm(img, {
      task: { name: "inpaint" },
      mask,
      model,
      sampler: "hq-demo",
      steps: 20,
      travelLength: 5,
      travelRepeat: 2,
      seed,
    });
  const before = model.stats.calls;
  const a = await run(1);
  const downs = timeTravelSchedule(20, 5, 2).filter((t, i, ts) => i > 0 && t < ts[i - 1]).length;
  assert.equal(model.stats.calls - before, downs);
  assert.equal(downs, 20 + 3 * 5, "3 jumps of 5 steps redone once");
  // σ_y = 0: the last step projects fully, so known pixels come back
  for (let i = 0; i < 3 * N * N; i++) {
    if (mask[i % (N * N)] === 1) assert.ok(Math.abs(a.image.data[i] - img.data[i]) < 1e-5);
  }
  const b = await run(1), c = await run(2);
  assert.deepEqual(a.image.data, b.image.data, "same seed, same result");
  assert.notDeepEqual(a.image.data, c.image.data);
});
