import assert from "node:assert/strict";
import { CpuBackend } from "../kernels/cpu_backend.ts";
import { LDM_SCHEDULE } from "./_graphs.ts";
import { GaussianNoise } from "../lib/noise.ts";
import { Tensor } from "../lib/tensor.ts";
import { type DataPredictor, dpmSolverSample } from "../samplers/dpm_solver.ts";
import { trainingAlphaBar } from "../schedules/training_schedule.ts";
import {
  dpmModelTime,
  dpmTimes,
  vpLogAlpha,
  vpMarginals,
  vpSchedule,
} from "../schedules/vp_schedule.ts";

const LDM = LDM_SCHEDULE;
const cpu = new CpuBackend();

Deno.test("DPM-Solver schedule: log α = ½ log ā, the λ < −5.1 tail clipped, time-uniform grid, model times", () => {
  const v = vpSchedule(LDM), ab = trainingAlphaBar(LDM);
  assert.equal(v.total, 1000, "no clipping for the plain schedule (λ_999 = −2.68)");
  for (const k of [0, 1, 500, 999]) {
    assert.ok(
      Math.abs(v.logAlpha[k] - 0.5 * Math.log(ab[k])) < 2e-6 * (1 + Math.abs(Math.log(ab[k]))),
    );
    assert.equal(v.times[k], Math.fround((k + 1) / 1000));
    assert.equal(vpLogAlpha(v, v.times[k]), v.logAlpha[k], "interpolation through the keypoints");
  }
  const mid = vpLogAlpha(v, (v.times[10] + v.times[11]) / 2);
  assert.ok(Math.abs(mid - (v.logAlpha[10] + v.logAlpha[11]) / 2) < 1e-7, "linear between them");
  // zero terminal SNR: ā' → 0 at the end, so entries with ½ log(ā/(1 − ā)) < −5.1 go
  const z = vpSchedule({ ...LDM, zeroTerminalSnr: true }),
    abz = trainingAlphaBar({ ...LDM, zeroTerminalSnr: true });
  const lambda = (a: number) => 0.5 * Math.log(a / (1 - a));
  assert.ok(
    z.total < 1000 && lambda(abz[z.total - 1]) >= -5.1 && lambda(abz[z.total]) < -5.1,
    `${z.total}`,
  );
  assert.equal(z.times[z.total - 1], 1);
  // 10 steps: 1, 0.9001, ..., 0.001; the network sees (t − 1/N)·1000
  const t = dpmTimes(v, 10);
  assert.deepEqual([...t].map((x) => x.toFixed(4)), [
    "1.0000",
    "0.9001",
    "0.8002",
    "0.7003",
    "0.6004",
    "0.5005",
    "0.4006",
    "0.3007",
    "0.2008",
    "0.1009",
    "0.0010",
  ]);
  assert.equal(dpmModelTime(v, t[0]), 999);
  assert.ok(Math.abs(dpmModelTime(v, t[1]) - 899.1) < 1e-3);
  const m = vpMarginals(v, 0.5);
  assert.ok(
    Math.abs(m.alpha ** 2 + m.sigma ** 2 - 1) < 1e-6 &&
      Math.abs(m.lambda - Math.log(m.alpha / m.sigma)) < 1e-5,
  );
});

/** Exact x0 prediction for data x0 ~ N(m, s²) per element under x_t = α x0 + σ ε. */
function gaussianData(
  v: ReturnType<typeof vpSchedule>,
  m: Float32Array,
  s2: Float32Array,
): DataPredictor {
  return (x, t, out) => {
    const { alpha, sigma } = vpMarginals(v, t);
    for (let i = 0; i < x.size; i++) {
      out.data[i] = m[i] +
        (alpha * s2[i] / (alpha * alpha * s2[i] + sigma * sigma)) * (x.data[i] - alpha * m[i]);
    }
    return Promise.resolve(out);
  };
}

Deno.test("DPM-Solver++: orders 1, 2 and 3 converge to the exact probability-flow ODE of Gaussian data at their order", async () => {
  const v = vpSchedule(LDM), n = 64;
  const m = Float32Array.from({ length: n }, (_, i) => Math.sin(i)),
    s2 = m.map((_, i) => 0.05 + (i % 7) / 10);
  const z = new Float32Array(n);
  new GaussianNoise(3).fill(z);
  const error = async (order: 1 | 2 | 3, steps: number) => {
    const x = new Tensor([1, 1, 1, n], z.slice());
    await dpmSolverSample({
      predict: gaussianData(v, m, s2),
      backend: cpu,
      x,
      schedule: v,
      settings: { steps, order },
    });
    const times = dpmTimes(v, steps),
      T = vpMarginals(v, times[0]),
      E = vpMarginals(v, times[steps]);
    // (x − α m)/√(α² s² + σ²) is constant along the ODE
    return Math.max(...x.data.map((val, i) => {
      const exact = E.alpha * m[i] + (z[i] - T.alpha * m[i]) *
          Math.sqrt((E.alpha ** 2 * s2[i] + E.sigma ** 2) / (T.alpha ** 2 * s2[i] + T.sigma ** 2));
      return Math.abs(val - exact);
    }));
  };
  const ratio = async (order: 1 | 2 | 3) => (await error(order, 200)) / (await error(order, 400));
  const [r1, r2, r3] = [await ratio(1), await ratio(2), await ratio(3)];
  assert.ok(r1 > 1.9 && r1 < 2.1, `order 1: ${r1}`);
  assert.ok(r2 > 3.2, `order 2: ${r2}`);
  assert.ok(r3 > 5.5, `order 3: ${r3}`);
  assert.ok((await error(2, 400)) < 2.5e-3 && (await error(3, 400)) < 5e-4);
});

Deno.test("DPM-Solver++: the update formulas, lower orders first and (below 10 steps) last, no final evaluation", async () => {
  const v = vpSchedule(LDM), n = 16;
  const start = new Float32Array(n);
  new GaussianNoise(8).fill(start);
  const f = (val: number, t: number) => 0.8 * Math.tanh(val) + 0.1 * Math.cos(5 * t);
  for (
    const [order, steps] of [[1, 6], [2, 6], [3, 6], [2, 12], [3, 12]] as [1 | 2 | 3, number][]
  ) {
    const seen: number[] = [];
    const x = new Tensor([1, 1, 1, n], start.slice());
    await dpmSolverSample({
      predict: (xs, t, out) => {
        seen.push(t);
        for (let i = 0; i < n; i++) out.data[i] = f(xs.data[i], t);
        return Promise.resolve(out);
      },
      backend: cpu,
      x,
      schedule: v,
      settings: { steps, order },
    });
    // the reference loop in float64 from the formulas of multistep DPM-Solver++ ('dpmsolver' form)
    const times = dpmTimes(v, steps);
    let y = [...start];
    const ms: number[][] = [y.map((val) => f(val, times[0]))], ts = [times[0]];
    for (let step = 1; step <= steps; step++) {
      const k = step < order ? step : steps < 10 ? Math.min(order, steps + 1 - step) : order;
      const now = vpMarginals(v, times[step]), [p0, p1, p2] = ts.map((t) => vpMarginals(v, t));
      const h = now.lambda - p0.lambda, phi1 = Math.expm1(-h);
      y = y.map((val, i) => {
        let out = (now.sigma / p0.sigma) * val - now.alpha * phi1 * ms[0][i];
        if (k >= 2) {
          const r0 = (p0.lambda - p1.lambda) / h, d10 = (ms[0][i] - ms[1][i]) / r0;
          if (k === 2) out -= 0.5 * now.alpha * phi1 * d10;
          else {
            const r1 = (p1.lambda - p2.lambda) / h, d11 = (ms[1][i] - ms[2][i]) / r1;
            const d1 = d10 + (r0 / (r0 + r1)) * (d10 - d11), d2 = (d10 - d11) / (r0 + r1);
            const phi2 = phi1 / h + 1, phi3 = phi2 / h - 0.5;
            out += now.alpha * phi2 * d1 - now.alpha * phi3 * d2;
          }
        }
        return out;
      });
      if (step === steps) break;
      ms.unshift(y.map((val) => f(val, times[step])));
      ts.unshift(times[step]);
      ms.length = ts.length = Math.min(ms.length, order);
    }
    assert.deepEqual(
      seen,
      [...times.slice(0, steps)],
      `order ${order}, ${steps} steps: evaluation times`,
    );
    const err = Math.max(...x.data.map((val, i) => Math.abs(val - y[i])));
    assert.ok(err < 1e-4, `order ${order}, ${steps} steps: ${err}`);
  }
});
