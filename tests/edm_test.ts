import assert from "node:assert/strict";
import { CpuBackend } from "../kernels/cpu_backend.ts";
import { LDM_SCHEDULE } from "./_graphs.ts";
import { GaussianNoise, type NoiseSource } from "../lib/noise.ts";
import { Tensor } from "../lib/tensor.ts";
import {
  ancestralStep,
  EDM_DEFAULTS,
  EDM_SOLVERS,
  type EdmDenoiser,
  edmDraws,
  edmInitialScale,
  edmSample,
  edmScalings,
  type EdmSettings,
  type EdmSolver,
  lmsCoefficient,
} from "../samplers/edm.ts";
import { type EdmSchedule, edmSchedule, edmTimestep } from "../schedules/edm_schedule.ts";

const LDM = LDM_SCHEDULE;
const cpu = new CpuBackend();

Deno.test("EDM grid: docs/diffbir.md's σ lists (ε and zero-SNR), σ_0, timesteps and scalings", () => {
  const close = (got: Float32Array, want: number[], what: string) =>
    want.forEach((w, k) =>
      assert.ok(Math.abs(got[k] - w) <= 1.5e-4 * w, `${what} σ_${k}: ${got[k]}`)
    );
  const s = edmSchedule(LDM, 10);
  close(s.sigmas, [
    1.0e4,
    8.3028,
    5.0878,
    3.3211,
    2.2765,
    1.6129,
    1.1606,
    0.8299,
    0.5693,
    0.3417,
    0,
  ], "eps");
  assert.deepEqual([...s.timesteps], [999, 899, 799, 699, 599, 499, 399, 299, 199, 99, 0]);
  const z = edmSchedule({ ...LDM, zeroTerminalSnr: true }, 10);
  close(z.sigmas, [
    1.0e4,
    18.130,
    7.4107,
    4.1142,
    2.6049,
    1.7681,
    1.2414,
    0.8747,
    0.5948,
    0.3550,
    0,
  ], "zsnr");
  // σ_0 = √((1 − 1e−8)/1e−8) ≈ 9999.99995 is 10000 in float32, and so is √(1 + σ_0²)
  assert.equal(s.sigmas[0], 10000);
  assert.equal(edmInitialScale(s), 10000);
  // int() truncates: N = 7 gives 999 − 142.71…·k
  assert.deepEqual([...edmSchedule(LDM, 7).timesteps], [999, 856, 713, 570, 428, 285, 142, 0]);
  // nearest grid σ, first on ties
  assert.equal(edmTimestep(s, 8.3), 899);
  assert.equal(edmTimestep(s, 0), 0);
  assert.equal(edmTimestep(s, 0.2), 99);
  assert.equal(edmTimestep(s, 0.16), 0);
  assert.equal(edmTimestep(s, 5000), 899);
  const eps = edmScalings(3, "eps"), v = edmScalings(3, "v");
  assert.deepEqual([eps.cSkip, eps.cOut], [1, -3]);
  // float32 as PyTorch: √(σ² + 1) rounded, then the division
  const root = Math.fround(Math.sqrt(10));
  assert.equal(eps.cIn, Math.fround(1 / root));
  assert.equal(v.cSkip, Math.fround(0.1));
  assert.equal(v.cOut, Math.fround(-3 / root));
  // the ancestral split keeps σ_down² + σ_up² = σ_to²; η = 0 puts everything in σ_down
  const [down, up] = ancestralStep(2, 1, 1);
  assert.ok(Math.abs(down * down + up * up - 1) < 1e-6 && up > 0);
  assert.deepEqual(ancestralStep(2, 1, 0), [1, 0]);
  // lms: order 1 is the Euler step; order 2 integrates a line exactly
  const g = s.sigmas;
  assert.ok(Math.abs(lmsCoefficient(g, 1, 3, 0) - (g[4] - g[3])) < 1e-12);
  const c0 = lmsCoefficient(g, 2, 3, 0), c1 = lmsCoefficient(g, 2, 3, 1);
  assert.ok(Math.abs(c0 + c1 - (g[4] - g[3])) < 1e-12, "the basis sums to one");
  const lineIntegral = (g[4] ** 2 - g[3] ** 2) / 2; // ∫ τ dτ
  assert.ok(Math.abs(c0 * g[3] + c1 * g[2] - lineIntegral) < 1e-9);
});

/** Exact denoiser for data x0 ~ N(m, s²) per element: D = (s² x + σ² m)/(s² + σ²). */
function gaussianDenoiser(m: Float32Array, s2: Float32Array): EdmDenoiser {
  return (x, sigma, out) => {
    const q = sigma * sigma;
    for (let i = 0; i < x.size; i++) out.data[i] = (s2[i] * x.data[i] + q * m[i]) / (s2[i] + q);
    return Promise.resolve(out);
  };
}

/** A geometric σ grid from 80 to 0.002 (then 0), for convergence checks off DiffBIR's grid. */
function geometricGrid(steps: number): EdmSchedule {
  const sigmas = new Float32Array(steps + 1);
  for (let k = 0; k < steps; k++) sigmas[k] = 80 * (0.002 / 80) ** (k / (steps - 1));
  return { sigmas, timesteps: new Int32Array(steps + 1) };
}

async function run(
  solver: EdmSolver,
  s: EdmSchedule,
  denoise: EdmDenoiser,
  start: Float32Array,
  noise: NoiseSource,
  settings: Partial<EdmSettings> = {},
): Promise<Float32Array> {
  const x = new Tensor([1, 1, 1, start.length], start.map((v) => v * edmInitialScale(s)));
  await edmSample({
    predict: denoise,
    backend: cpu,
    x,
    schedule: s,
    noise,
    settings: { ...EDM_DEFAULTS, ...settings, solver: solver },
  });
  return x.data;
}

Deno.test("EDM solvers: the deterministic ones converge to the exact probability-flow ODE at their order", async () => {
  const n = 64;
  const m = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
  const s2 = m.map((_, i) => 0.05 + (i % 7) / 10);
  const z = new Float32Array(n);
  new GaussianNoise(3).fill(z);
  const denoise = gaussianDenoiser(m, s2);
  const endPoint = async (solver: EdmSolver, steps: number, settings: Partial<EdmSettings>) =>
    await run(solver, geometricGrid(steps), denoise, z, new GaussianNoise(9), settings);
  // x(σ) − m ∝ √(s² + σ²) along the ODE, from x(σ_0) = √(1 + σ_0²) z to σ = 0
  const error = async (solver: EdmSolver, steps: number, settings: Partial<EdmSettings>) => {
    const s = geometricGrid(steps), scale = edmInitialScale(s);
    const x = await endPoint(solver, steps, settings);
    return Math.max(...x.map((v, i) => {
      const exact = m[i] + (z[i] * scale - m[i]) * Math.sqrt(s2[i] / (s2[i] + s.sigmas[0] ** 2));
      return Math.abs(v - exact);
    }));
  };
  const cases: [EdmSolver, Partial<EdmSettings>, number][] = [
    ["euler", {}, 1],
    ["lms", {}, 1],
    ["heun", {}, 2],
    ["dpm_2", {}, 2],
    ["dpm++_2m", {}, 2],
    ["dpm++_2s_a", { eta: 0 }, 2],
    ["dpm++_2m_sde", { eta: 0 }, 2],
    ["dpm++_3m_sde", { eta: 0 }, 3],
    ["lms", { order: 4 }, 3],
  ];
  for (const [solver, settings, order] of cases) {
    const [e20, e40] = [await error(solver, 20, settings), await error(solver, 40, settings)];
    const ratio = e20 / e40, what = `${solver} ${JSON.stringify(settings)}: ${e20} → ${e40}`;
    // doubling the steps divides the error by about 2^order
    if (order === 1) assert.ok(ratio > 1.8 && ratio < 2.2, what);
    else if (order === 2) assert.ok(ratio > 3.5 && e40 < 0.02, what);
    else assert.ok(ratio > 5.5 && e40 < 0.01, what);
  }
  // η = 0 removes the noise: the ancestral and SDE solvers become their deterministic twins
  const same = async (
    a: [EdmSolver, Partial<EdmSettings>],
    b: [EdmSolver, Partial<EdmSettings>],
  ) => {
    const [x, y] = [await endPoint(a[0], 20, a[1]), await endPoint(b[0], 20, b[1])];
    const d = Math.max(...x.map((v, i) => Math.abs(v - y[i])));
    assert.ok(d < 1e-5, `${a[0]} vs ${b[0]}: ${d}`);
  };
  await same(["euler_a", { eta: 0 }], ["euler", {}]);
  await same(["dpm_2_a", { eta: 0 }], ["dpm_2", {}]);
  await same(["dpm++_sde", { eta: 0 }], ["dpm++_2s_a", { eta: 0 }]);
  await same(["dpm++_2m_sde", { eta: 0 }], ["dpm++_2m", {}]);
});

Deno.test("EDM solvers: the stochastic ones recover Gaussian data's law, their bias shrinking with the step", async () => {
  const n = 40_000, mean = 0.3, variance = 0.25;
  const m = new Float32Array(n).fill(mean), s2 = new Float32Array(n).fill(variance);
  const start = new Float32Array(n);
  new GaussianNoise(11).fill(start);
  const moments = async (solver: EdmSolver, steps: number) => {
    const x = await run(
      solver,
      geometricGrid(steps),
      gaussianDenoiser(m, s2),
      start,
      new GaussianNoise(12),
    );
    let s1 = 0, sq = 0;
    for (const v of x) [s1, sq] = [s1 + v, sq + v * v];
    return [s1 / n, sq / n - (s1 / n) ** 2];
  };
  // standard errors: mean 0.0025, variance 0.0018
  for (
    const solver of [
      "euler_a",
      "dpm_2_a",
      "dpm++_2s_a",
      "dpm++_sde",
      "dpm++_2m_sde",
      "dpm++_3m_sde",
    ] as const
  ) {
    const [[mu60, var60], [mu120, var120]] = [
      await moments(solver, 60),
      await moments(solver, 120),
    ];
    const what = `${solver}: mean ${mu60} / ${mu120}, variance ${var60} / ${var120}`;
    assert.ok(Math.abs(mu60 - mean) < 0.0125 && Math.abs(mu120 - mean) < 0.0125, what);
    if (solver === "euler_a") {
      // Euler ancestral is first order and under-dispersed: the gap halves with the step
      assert.ok(Math.abs(var120 - variance) < 0.03, what);
      assert.ok(Math.abs(var120 - variance) < 0.7 * Math.abs(var60 - variance), what);
    } else {
      assert.ok(Math.abs(var120 - variance) < 0.009, what);
    }
  }
});

/** Counts the tensors drawn. */
class CountingNoise extends GaussianNoise {
  tensors = 0;
  override fill(out: Float32Array): void {
    this.tensors++;
    super.fill(out);
  }
}

/**
 * k-diffusion's loops on plain float64 arrays, written from the reference's formulas, for one
 * pixel vector: the check of every solver's algebra and of where it draws noise.
 */
async function referenceLoop(
  solver: EdmSolver,
  sig: Float32Array,
  x0: number[],
  denoise: (x: number[], sigma: number) => number[],
  noise: NoiseSource,
  p: EdmSettings,
): Promise<number[]> {
  await Promise.resolve();
  const randn = () => {
    const z = new Float32Array(x0.length);
    noise.fill(z);
    return [...z];
  };
  const add = (a: number[], ...terms: [number, number[]][]) =>
    a.map((v, k) => terms.reduce((acc, [c, t]) => acc + c * t[k], v));
  const toD = (x: number[], sigma: number, dn: number[]) => x.map((v, k) => (v - dn[k]) / sigma);
  const sigmaOf = (t: number) => Math.exp(-t), tOf = (s: number) => -Math.log(s);
  const mid = (a: number, b: number) => Math.exp((Math.log(a) + Math.log(b)) / 2);
  let x = x0;
  const n = sig.length - 1, ds: number[][] = [];
  let old: number[] | null = null, old2: number[] | null = null, h1 = 0, h2 = 0;
  for (let i = 0; i < n; i++) {
    const si = sig[i], sn = sig[i + 1];
    if (solver === "euler" || solver === "heun" || solver === "dpm_2") {
      const gamma = p.sTmin <= si && si <= p.sTmax ? Math.min(p.sChurn / n, Math.SQRT2 - 1) : 0;
      const eps = randn().map((v) => v * p.sNoise), sHat = si * (gamma + 1);
      if (gamma > 0) x = add(x, [Math.sqrt(sHat ** 2 - si ** 2), eps]);
      const d = toD(x, sHat, denoise(x, sHat)), dt = sn - sHat;
      if (sn === 0 || solver === "euler") x = add(x, [dt, d]);
      else if (solver === "heun") {
        const x2 = add(x, [dt, d]), d2 = toD(x2, sn, denoise(x2, sn));
        x = add(x, [dt / 2, d], [dt / 2, d2]);
      } else {
        const sm = mid(sHat, sn), x2 = add(x, [sm - sHat, d]);
        x = add(x, [dt, toD(x2, sm, denoise(x2, sm))]);
      }
    } else if (solver === "euler_a" || solver === "dpm_2_a" || solver === "dpm++_2s_a") {
      const dn = denoise(x, si), [down, up] = ancestralStep(si, sn, p.eta);
      if (solver === "euler_a" || down === 0) x = add(x, [down - si, toD(x, si, dn)]);
      else if (solver === "dpm_2_a") {
        const sm = mid(si, down), x2 = add(x, [sm - si, toD(x, si, dn)]);
        x = add(x, [down - si, toD(x2, sm, denoise(x2, sm))]);
      } else {
        const t = tOf(si), h = tOf(down) - t, s = t + h / 2;
        const x2 = add(x.map((v) => (sigmaOf(s) / sigmaOf(t)) * v), [-Math.expm1(-h / 2), dn]);
        x = add(x.map((v) => (sigmaOf(t + h) / sigmaOf(t)) * v), [
          -Math.expm1(-h),
          denoise(x2, sigmaOf(s)),
        ]);
      }
      if (solver === "dpm_2_a" ? down !== 0 : sn > 0) x = add(x, [p.sNoise * up, randn()]);
    } else if (solver === "dpm++_sde") {
      const dn = denoise(x, si);
      if (sn === 0) x = add(x, [sn - si, toD(x, si, dn)]);
      else {
        const t = tOf(si), h = tOf(sn) - t, s = t + h / 2;
        let [down, up] = ancestralStep(sigmaOf(t), sigmaOf(s), p.eta);
        let x2 = add(x.map((v) => (down / sigmaOf(t)) * v), [-Math.expm1(t - tOf(down)), dn]);
        const first = randn();
        x2 = add(x2, [p.sNoise * up, first]);
        const dn2 = denoise(x2, sigmaOf(s));
        [down, up] = ancestralStep(sigmaOf(t), sigmaOf(t + h), p.eta);
        x = add(x.map((v) => (down / sigmaOf(t)) * v), [-Math.expm1(t - tOf(down)), dn2]);
        // one Brownian path: W(σ_{i+1}) − W(σ_i) = (W(σ_mid) − W(σ_i)) + an independent rest
        const a = Math.abs(sigmaOf(s) - si), b = Math.abs(sn - sigmaOf(s)), rest = randn();
        const w = first.map((v, k) =>
          (Math.sqrt(a) * v + Math.sqrt(b) * rest[k]) / Math.sqrt(a + b)
        );
        x = add(x, [p.sNoise * up, w]);
      }
    } else if (solver === "lms") {
      ds.push(toD(x, si, denoise(x, si)));
      if (ds.length > p.order) ds.shift();
      const order = Math.min(i + 1, p.order);
      for (let j = 0; j < order; j++) {
        x = add(x, [lmsCoefficient(sig, order, i, j), ds[ds.length - 1 - j]]);
      }
    } else {
      const dn = denoise(x, si);
      if (solver === "dpm++_2m") {
        const t = tOf(si), h = tOf(sn) - t;
        const dd = old === null || sn === 0 ? dn : (() => {
          const r = (t - tOf(sig[i - 1])) / h;
          return add(dn.map((v) => (1 + 1 / (2 * r)) * v), [-1 / (2 * r), old]);
        })();
        x = add(x.map((v) => (sn / si) * v), [-Math.expm1(-h), dd]);
      } else if (sn === 0) x = dn;
      else {
        const h = tOf(sn) - tOf(si);
        if (solver === "dpm++_2m_sde") {
          const eh = p.eta * h;
          x = add(x.map((v) => (sn / si) * Math.exp(-eh) * v), [-Math.expm1(-h - eh), dn]);
          if (old) {
            x = add(x, [0.5 * -Math.expm1(-h - eh) * (h / h1), dn], [
              -0.5 * -Math.expm1(-h - eh) * (h / h1),
              old,
            ]);
          }
        } else {
          const he = h * (p.eta + 1), phi2 = Math.expm1(-he) / he + 1, phi3 = phi2 / he - 0.5;
          x = add(x.map((v) => Math.exp(-he) * v), [-Math.expm1(-he), dn]);
          if (old && old2) {
            const r0 = h1 / h, r1 = h2 / h;
            const d10 = dn.map((v, k) => (v - old![k]) / r0),
              d11 = old.map((v, k) => (v - old2![k]) / r1);
            const d1 = d10.map((v, k) => v + (v - d11[k]) * r0 / (r0 + r1));
            const d2 = d10.map((v, k) => (v - d11[k]) / (r0 + r1));
            x = add(x, [phi2, d1], [-phi3, d2]);
          } else if (old) x = add(x, [phi2 * h / h1, dn], [-phi2 * h / h1, old]);
        }
        if (p.eta) x = add(x, [sn * Math.sqrt(-Math.expm1(-2 * h * p.eta)) * p.sNoise, randn()]);
        [h1, h2] = [h, h1];
      }
      [old, old2] = [dn, old];
    }
  }
  return x;
}

Deno.test("EDM solvers: every one matches k-diffusion's formulas, noise draws included", async () => {
  const n = 32, s = geometricGrid(8);
  const start = new Float32Array(n);
  new GaussianNoise(21).fill(start);
  // a nonlinear denoiser, so that every evaluation point matters
  const f = (v: number, sigma: number) =>
    0.7 * Math.tanh(v / Math.sqrt(1 + sigma * sigma)) + 0.05 * Math.sin(3 * v);
  const tensorDenoiser: EdmDenoiser = (x, sigma, out) => {
    for (let i = 0; i < x.size; i++) out.data[i] = f(x.data[i], sigma);
    return Promise.resolve(out);
  };
  for (const solver of EDM_SOLVERS) {
    for (
      const settings of [EDM_DEFAULTS, {
        ...EDM_DEFAULTS,
        sChurn: 4,
        order: 3,
        eta: 0.5,
        sNoise: 1.003,
      }]
    ) {
      const noise = new CountingNoise(5);
      const got = await run(solver, s, tensorDenoiser, start, noise, settings);
      const want = await referenceLoop(
        solver,
        s.sigmas,
        [...start].map((v) => v * edmInitialScale(s)),
        (x, sigma) => x.map((v) => f(v, sigma)),
        new GaussianNoise(5),
        settings,
      );
      const err = Math.max(...got.map((v, i) => Math.abs(v - want[i])));
      assert.ok(err < 2e-5, `${solver} ${JSON.stringify(settings)}: max |d| ${err}`);
      assert.equal(noise.tensors, edmDraws(solver, s, settings), `${solver}: draws`);
    }
  }
});
