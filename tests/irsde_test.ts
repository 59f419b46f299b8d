import assert from "node:assert/strict";
import { CpuBackend } from "../kernels/cpu_backend.ts";
import { Model } from "../model/model.ts";
import { parseManifest } from "../model/manifest.ts";
import { GraphBuilder } from "../model/onnx_graph.ts";
import { ArrayNoise, GaussianNoise } from "../lib/noise.ts";
import { Tensor } from "../lib/tensor.ts";
import { resizeBicubic } from "../lib/resize.ts";
import { type IrsdeSchedule, irsdeSchedule } from "../schedules/irsde_schedule.ts";
import {
  denoisingStartStep,
  forwardStep,
  irsdeNoiseCount,
  irsdeSample,
  irsdeStep,
  marginalMean,
  meanDecay,
  type NoisePredictor,
  posteriorCoefficients,
  x0FromNoise,
} from "../samplers/irsde.ts";
import { randomValues } from "./_graphs.ts";

const backend = new CpuBackend();
const sched = irsdeSchedule({ maxSigma: 10, T: 100, schedule: "cosine", eps: 0.005 });

Deno.test("posterior: B = A·C, mean at t = 1 with the true x0 is x0, variance clamp", () => {
  for (const t of [1, 2, 50, 100]) {
    const a = Math.exp(-sched.theta[t] * sched.dt);
    const b = Math.exp(-sched.thetaBar[t] * sched.dt);
    const c = Math.exp(-sched.thetaBar[t - 1] * sched.dt);
    assert.ok(Math.abs(b - a * c) < 2e-6 * b, `B = A·C at t=${t}`);
  }
  const c1 = posteriorCoefficients(sched, 1);
  assert.equal(c1.xt, 0);
  assert.ok(Math.abs(c1.x0 - 1) < 1e-6, `term2 at t=1: ${c1.x0}`);
  assert.ok(c1.std < 1e-9 && c1.std > 0, `t=1 std ≈ λ√(1e−20·dt): ${c1.std}`);
  const mu = new Tensor([1, 3, 4, 4], randomValues(48, 1));
  const x0 = new Tensor([1, 3, 4, 4], randomValues(48, 2));
  const xt = new Tensor([1, 3, 4, 4], randomValues(48, 3));
  const x = xt.clone();
  // with ε̂ = the noise that makes x0FromNoise return the true x0, the t = 1 step lands on x0
  const eps = xt.map((v, i) =>
    (v - mu.data[i] - (x0.data[i] - mu.data[i]) * meanDecay(sched, 1)) / sched.sigmaBar[1]
  );
  irsdeStep(backend, "posterior", x, eps, mu, sched, 1, {
    z: Tensor.zeros(mu.shape),
    x0: Tensor.zeros(mu.shape),
  });
  for (let i = 0; i < 48; i++) {
    assert.ok(Math.abs(x.data[i] - x0.data[i]) < 1e-4, `${x.data[i]} vs ${x0.data[i]}`);
  }
});

Deno.test("x0 from noise inverts the forward marginal exactly", () => {
  const mu = new Tensor([1, 3, 8, 8], randomValues(192, 4));
  const x0 = new Tensor([1, 3, 8, 8], randomValues(192, 5));
  const eps = new Tensor([1, 3, 8, 8], randomValues(192, 6));
  for (const t of [1, 10, 57, 100]) {
    const xt = marginalMean(backend, Tensor.zeros(mu.shape), x0, mu, sched, t);
    backend.combine(xt, [[1, xt], [sched.sigmaBar[t], eps]]);
    const back = x0FromNoise(backend, Tensor.zeros(mu.shape), xt, eps, mu, sched, t);
    let err = 0;
    for (let i = 0; i < 192; i++) err = Math.max(err, Math.abs(back.data[i] - x0.data[i]));
    assert.ok(err < 1e-3 * Math.exp(sched.thetaBar[t] * sched.dt) * 1e-3 + 1e-5, `t=${t}: ${err}`);
  }
});

Deno.test("forward simulation reaches the stationary law μ + N(0, λ²)", () => {
  const n = 64 * 64;
  const mu = new Tensor([1, 1, 64, 64], new Float32Array(n).fill(0.3));
  const x = new Tensor([1, 1, 64, 64], new Float32Array(n).fill(0.9));
  const z = Tensor.zeros(x.shape);
  const g = new GaussianNoise(9);
  for (let t = 1; t <= 100; t++) {
    g.fill(z.data);
    forwardStep(backend, x, mu, sched, t, z);
  }
  const mean = x.data.reduce((s, v) => s + v, 0) / n;
  const sd = Math.sqrt(x.data.reduce((s, v) => s + (v - mean) ** 2, 0) / n);
  assert.ok(Math.abs(mean - 0.3 - 0.6 * 0.005) < 5 * sched.lambda / Math.sqrt(n), `mean ${mean}`);
  assert.ok(Math.abs(sd / sched.lambda - 1) < 0.05, `sd ${sd} vs λ ${sched.lambda}`);
});

/** The exact noise predictor for x0 ~ N(m, s²) per pixel: ε̂ = σ̄(x − μ − (m − μ)B)/(B²s² + σ̄²). */
function gaussianOracle(s: IrsdeSchedule, m: number, sd: number): Uint8Array {
  const g = new GraphBuilder("irsde_oracle");
  const x = g.input("x", "float32", ["n", 3, "h", "w"]);
  const mu = g.input("mu", "float32", ["n", 3, "h", "w"]);
  const t = g.input("t", "float32", ["n"]);
  const T = s.settings.T;
  const bTab = Float32Array.from({ length: T + 1 }, (_, i) => meanDecay(s, i));
  const ti = g.node("Cast", [t], { to: 7 });
  const shape = g.constant("s", [-1, 1, 1, 1], [4]);
  const b = g.node("Reshape", [
    g.node("Gather", [g.constant("b", bTab, [T + 1]), ti], { axis: 0 }),
    shape,
  ]);
  const sb = g.node("Reshape", [
    g.node("Gather", [g.constant("sb", s.sigmaBar, [T + 1]), ti], { axis: 0 }),
    shape,
  ]);
  const mean = g.node("Add", [
    mu,
    g.node("Mul", [g.node("Sub", [g.constant("m", new Float32Array([m]), []), mu]), b]),
  ]);
  const varX = g.node("Add", [
    g.node("Mul", [g.node("Mul", [b, b]), g.constant("s2", new Float32Array([sd * sd]), [])]),
    g.node("Mul", [sb, sb]),
  ]);
  g.output(
    g.node("Div", [g.node("Mul", [sb, g.node("Sub", [x, mean])]), varX]),
    "noise",
    "float32",
    ["n", 3, "h", "w"],
  );
  return g.toBytes();
}

/**
 * The exact law of a sampler's output for x0 ~ N(m, sd²) and the exact ε̂: both chains are
 * linear in x, so mean and variance follow by recursion from x_T ~ N(μ, λ²).
 */
function chainLaw(
  solver: "sde" | "posterior",
  s: IrsdeSchedule,
  m: number,
  sd: number,
  mu: number,
) {
  let mean = 0, v = s.lambda ** 2; // mean of x − μ
  for (let t = s.settings.T; t >= 1; t--) {
    const B = meanDecay(s, t), sb = s.sigmaBar[t];
    const k = sb / (B * B * sd * sd + sb * sb), a = (m - mu) * B; // ε̂ = k (x − μ − a)
    let g: number, h: number, noiseVar: number;
    if (solver === "sde") {
      const w = (s.sigma[t] ** 2 / sb) * s.dt * k;
      g = 1 + s.theta[t] * s.dt - w;
      h = w * a;
      noiseVar = s.sigma[t] ** 2 * s.dt;
    } else {
      const c = posteriorCoefficients(s, t), e = Math.exp(s.thetaBar[t] * s.dt);
      g = c.xt + c.x0 * e * (1 - sb * k);
      h = c.x0 * e * sb * k * a;
      noiseVar = c.std ** 2;
    }
    mean = g * mean + h;
    v = g * g * v + noiseVar;
  }
  return { mean: mu + mean, variance: v };
}

async function sampleLaw(
  s: IrsdeSchedule,
  solver: "sde" | "posterior" | "ode",
  m: number,
  sd: number,
  seed: number,
) {
  const manifest = parseManifest({
    kind: "irsde",
    inputs: { x: "x", mu: "mu", t: "t" },
    output: "noise",
    range: [0, 1],
    sde: s.settings,
  }, "oracle");
  const model = await Model.load({ bytes: gaussianOracle(s, m, sd), manifest, name: "oracle" }, {
    runtime: "native",
  });
  const predict: NoisePredictor = (x, mu, t, l) => model.run({ x, mu, t }, l);
  const n = 3 * 48 * 48;
  const mu = new Tensor([1, 3, 48, 48], new Float32Array(n).fill(0.5));
  const out = await irsdeSample({
    predict,
    backend,
    mu,
    schedule: s,
    noise: new GaussianNoise(seed),
    settings: { solver },
  });
  await model.release();
  const mean = out.data.reduce((a, v) => a + v, 0) / n;
  const variance = out.data.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1);
  return { mean, variance, n };
}

Deno.test("exact score for a Gaussian x0: both samplers give their chain's exact law; the SDE recovers x0's", async () => {
  const m = 0.6, sd = 0.02; // x0 ~ N(0.6, 0.02²) per pixel, μ = 0.5
  for (const solver of ["sde", "posterior"] as const) {
    const law = chainLaw(solver, sched, m, sd, 0.5);
    const got = await sampleLaw(sched, solver, m, sd, solver === "sde" ? 1 : 2);
    const seMean = Math.sqrt(law.variance / got.n),
      seVar = law.variance * Math.sqrt(2 / (got.n - 1));
    assert.ok(
      Math.abs(got.mean - law.mean) < 5 * seMean,
      `${solver}: mean ${got.mean} vs exact ${law.mean}`,
    );
    assert.ok(
      Math.abs(got.variance - law.variance) < 5 * seVar,
      `${solver}: variance ${got.variance} vs exact ${law.variance}`,
    );
    assert.ok(
      Math.abs(law.mean - m) < 2e-3,
      `${solver}: chain mean ${law.mean} (discretisation bias only)`,
    );
  }
  // the SDE's discretisation bias vanishes with more steps: at T = 400 it recovers N(m, sd²)
  const fine = irsdeSchedule({ maxSigma: 10, T: 400, schedule: "cosine", eps: 0.005 });
  const sd2 = 0.05;
  assert.ok(Math.abs(chainLaw("sde", fine, m, sd2, 0.5).variance / (sd2 * sd2) - 1) < 0.005);
  const got = await sampleLaw(fine, "sde", m, sd2, 4);
  const se = sd2 * sd2 * Math.sqrt(2 / (got.n - 1));
  assert.ok(Math.abs(got.mean - m) < 5 * sd2 / Math.sqrt(got.n), `T=400 sde mean ${got.mean}`);
  assert.ok(
    Math.abs(got.variance - sd2 * sd2) < 5 * se + 0.005 * sd2 * sd2,
    `T=400 sde variance ${got.variance} vs ${sd2 * sd2}`,
  );
  // the reference's posterior sampler uses a point estimate of x0, so it under-disperses by a few percent
  assert.ok(chainLaw("posterior", fine, m, sd2, 0.5).variance < 0.99 * sd2 * sd2);
});

Deno.test("the probability-flow ODE draws only the initial noise and keeps the mean", async () => {
  const manifest = parseManifest({
    kind: "irsde",
    inputs: { x: "x", mu: "mu", t: "t" },
    output: "noise",
    range: [0, 1],
    sde: sched.settings,
  }, "oracle");
  const model = await Model.load({
    bytes: gaussianOracle(sched, 0.6, 0.02),
    manifest,
    name: "oracle",
  }, { runtime: "native" });
  const n = 3 * 48 * 48;
  const mu = new Tensor([1, 3, 48, 48], new Float32Array(n).fill(0.5));
  const draws = new ArrayNoise(randomValues(n, 3).map((v) => v * 1.7), "z");
  const ode = await irsdeSample({
    predict: (x, m, t, l) => model.run({ x, mu: m, t }, l),
    backend,
    mu,
    schedule: sched,
    noise: draws,
    settings: { solver: "ode" },
  });
  assert.equal(draws.drawn, irsdeNoiseCount("ode", 100, n));
  const om = ode.data.reduce((s, v) => s + v, 0) / n;
  assert.ok(Math.abs(om - 0.6) < 2e-3, `ode mean ${om}`);
  await model.release();
});

Deno.test("noise draw order: initial noise, then one per step (sde, posterior), none more (ode)", () => {
  assert.equal(irsdeNoiseCount("sde", 100, 10), 1010);
  assert.equal(irsdeNoiseCount("posterior", 100, 10), 1010);
  assert.equal(irsdeNoiseCount("ode", 100, 10), 10);
});

Deno.test("DenoisingSDE start step matches the noise level; bicubic resize keeps constants and ramps", () => {
  const d = irsdeSchedule({ maxSigma: 70, T: 100, schedule: "cosine", eps: 0.04 });
  for (const sigma of [15, 25, 50]) {
    const t = denoisingStartStep(d, sigma);
    // σ̄ at the start step is the closest to the known noise level
    const dist = (k: number) => Math.abs(d.sigmaBar[k] - sigma / 255);
    assert.ok(
      dist(t) <= dist(t - 1) + 1e-4 && dist(t) <= dist(Math.min(100, t + 1)) + 1e-4,
      `σ ${sigma}: t ${t}`,
    );
  }
  const flat = resizeBicubic(new Tensor([1, 1, 3, 3], new Float32Array(9).fill(0.25)), 12, 12);
  assert.ok(flat.data.every((v) => Math.abs(v - 0.25) < 1e-6));
  const ramp = new Tensor([1, 1, 1, 8], Float32Array.from({ length: 8 }, (_, i) => i));
  // with a = −0.5 cubic convolution reproduces linear functions away from the clamped border
  const keys = resizeBicubic(ramp, 1, 32, -0.5);
  for (let j = 8; j < 24; j++) {
    assert.ok(Math.abs(keys.data[j] - ((j + 0.5) / 4 - 0.5)) < 1e-5, `ramp at ${j}`);
  }
  // PyTorch's a = −0.75 does not: at source 1.625 the weights are c2(1.625), c1(0.625),
  // c1(0.375), c2(1.375) = −0.065918, 0.426270, 0.749512, −0.109863 (by hand), so 1.595703
  const torch = resizeBicubic(ramp, 1, 32);
  assert.ok(Math.abs(torch.data[8] - 1.595703) < 1e-5, `${torch.data[8]}`);
});

Deno.test("progress: each step's x0 estimate inverts the marginal at the state it started from", async () => {
  const size = 48, mu = new Tensor([1, 3, 4, 4], randomValues(size, 71).map((v) => 0.5 + 0.2 * v));
  const eps = new Tensor(mu.shape, randomValues(size, 72));
  const s = irsdeSchedule({ maxSigma: 10, T: 6, schedule: "cosine", eps: 0.005 });
  for (const solver of ["sde", "ode", "posterior"] as const) {
    const states: Tensor[] = [], estimates: Tensor[] = [];
    const predict: NoisePredictor = (x) => {
      states.push(x.clone());
      return Promise.resolve(eps);
    };
    await irsdeSample({
      predict,
      backend,
      mu,
      schedule: s,
      noise: new GaussianNoise(3),
      hooks: {
        onStep: (p) => estimates.push(p.x0!.clone()),
        estimates: true,
      },
      settings: { solver },
    });
    // unasked, only the posterior step (which forms x̂0 anyway) reports one
    let reported = false;
    await irsdeSample({
      predict: () => Promise.resolve(eps),
      backend,
      mu,
      schedule: s,
      noise: new GaussianNoise(3),
      hooks: {
        onStep: (p) => (reported ||= p.x0 !== undefined),
      },
      settings: { solver },
    });
    assert.equal(reported, solver === "posterior", solver);
    assert.equal(estimates.length, 6);
    for (let k = 0; k < 6; k++) {
      const t = 6 - k, e = Math.exp(s.thetaBar[t] * s.dt);
      for (let i = 0; i < size; i += 7) {
        const want = (states[k].data[i] - mu.data[i] - s.sigmaBar[t] * eps.data[i]) * e +
          mu.data[i];
        assert.ok(Math.abs(estimates[k].data[i] - want) < 1e-5, `${solver} t=${t}`);
      }
    }
  }
});
