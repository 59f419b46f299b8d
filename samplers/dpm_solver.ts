/**
 * DiffBIR HEAD's `dpm++_m2` sampler: multistep DPM-Solver++ (Lu et al. 2022) on the discrete
 * VP schedule as `dpm_solver_pytorch` sets it up (`NoiseScheduleVP('discrete')`, time-uniform
 * steps from 1 to 1/N, `lower_order_final` below 10 steps, the 'dpmsolver' update form), with
 * scalars in float32 as PyTorch forms them. Orders 1 to 3 are offered (`dpm++_m1` … `dpm++_m3`).
 *
 * The network sees fractional timesteps t_input = (t − 1/N)·1000, so the denoiser needs a
 * float32 timestep input. Noise: x_T only.
 *
 * @module
 */

import type { Backend } from "../kernels/backend.ts";
import { betweenSteps, type SamplerRun } from "./sampler_run.ts";
import { Tensor } from "../lib/tensor.ts";
import { dpmTimes, vpMarginals, type VpSchedule } from "../schedules/vp_schedule.ts";

const _f = Math.fround;

/** x0 prediction at time t: writes it into `out` and returns it. */
export type DataPredictor = (x: Tensor, t: number, out: Tensor) => Promise<Tensor>;

/** Options of {@linkcode dpmSolverSample}: deterministic, so no noise; the state besides. */
export interface DpmSolverSampleOptions
  extends
    Omit<SamplerRun<DataPredictor, VpSchedule, { steps: number; order: 1 | 2 | 3 }>, "noise"> {
  /** x_T (overwritten). */
  x: Tensor;
}

/**
 * Multistep DPM-Solver++ from x_T at t = 1 down the time-uniform grid; x is updated in place.
 * The first `order − 1` steps use lower orders, and with fewer than 10 steps so do the last
 * ones (`lower_order_final`); the final step evaluates no model.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dpmSolverSample } from "@diffrestore/sampler/samplers";
 * import { vpSchedule } from "@diffrestore/sampler/schedules";
 * import { CpuBackend, GaussianNoise, Tensor } from "@diffrestore/sampler";
 *
 * const vp = vpSchedule({ beta: "scaled_linear", betaStart: 0.00085, betaEnd: 0.012, trainSteps: 1000 });
 * const x = new CpuBackend().randn(Tensor.zeros([1, 4, 2, 2]), new GaussianNoise(0));
 * await dpmSolverSample({
 *   // a data predictor that knows the answer: x0 = 0.3
 *   predict: (_x, _t, out) => Promise.resolve((out.data.fill(0.3), out)),
 *   backend: new CpuBackend(),
 *   schedule: vp,
 *   settings: { steps: 10, order: 2 },
 *   x,
 * });
 * // the solver stops at t = 1/N, where α is almost 1 and σ small
 * assert.ok(x.data.every((v) => Math.abs(v - 0.3) < 0.1));
 * ```
 *
 * @param options The data prediction x0(x, t), backend, VP schedule, steps (at least `order`)
 * and order (1, 2 or 3), hooks (progress with the latest x0 prediction), and x_T.
 * @returns x.
 */
export async function dpmSolverSample(options: DpmSolverSampleOptions): Promise<Tensor> {
  const { predict, backend, schedule: v, hooks, x } = options;
  const { steps, order } = options.settings;
  const times = dpmTimes(v, steps);
  // models[0] is the newest prediction; spare buffers rotate in as old ones drop out
  const models: Tensor[] = [await predict(x, times[0], Tensor.zeros(x.shape))];
  const at: number[] = [times[0]];
  for (let step = 1; step <= steps; step++) {
    await betweenSteps(hooks);
    const stepOrder = step < order ? step : steps < 10 ? Math.min(order, steps + 1 - step) : order;
    _update(backend, x, models, at, times[step], stepOrder, v);
    hooks?.onStep?.({ step, total: steps, x0: models[0] });
    if (step === steps) break;
    const spare = models.length >= order ? models.pop()! : Tensor.zeros(x.shape);
    models.unshift(await predict(x, times[step], spare));
    at.unshift(times[step]);
    at.length = models.length;
  }
  return x;
}

/** One multistep DPM-Solver++ update ('dpmsolver' form) of the given order to time t. */
function _update(
  backend: Backend,
  x: Tensor,
  models: Tensor[],
  at: number[],
  t: number,
  order: number,
  v: VpSchedule,
): void {
  const now = vpMarginals(v, t), p0 = vpMarginals(v, at[0]);
  const h = _f(now.lambda - p0.lambda), phi1 = _f(Math.expm1(-h));
  const xScale = _f(now.sigma / p0.sigma), a = _f(now.alpha * phi1);
  if (order === 1) {
    backend.combine(x, [[xScale, x], [-a, models[0]]]);
    return;
  }
  const p1 = vpMarginals(v, at[1]);
  const r0 = _f(_f(p0.lambda - p1.lambda) / h);
  if (order === 2) {
    // D1_0 = (m0 − m1)/r0; x_t = (σ_t/σ_0) x − α_t φ1 m0 − ½ α_t φ1 D1_0
    const c = _f(_f(0.5 * a) / r0);
    backend.combine(x, [[xScale, x], [-a - c, models[0]], [c, models[1]]]);
    return;
  }
  const p2 = vpMarginals(v, at[2]);
  const r1 = _f(_f(p1.lambda - p2.lambda) / h);
  const phi2 = _f(_f(phi1 / h) + 1), phi3 = _f(_f(phi2 / h) - 0.5);
  const u = 1 / r0, w = 1 / r1, mix = r0 / (r0 + r1), inv = 1 / (r0 + r1);
  const A = now.alpha;
  // x_t = (σ_t/σ_0) x − A φ1 m0 + A φ2 D1 − A φ3 D2 with D1, D2 expanded over m0, m1, m2
  backend.combine(x, [
    [xScale, x],
    [_f(-A * phi1 + A * phi2 * (1 + mix) * u - A * phi3 * inv * u), models[0]],
    [_f(-A * phi2 * ((1 + mix) * u + mix * w) + A * phi3 * inv * (u + w)), models[1]],
    [_f(A * phi2 * mix * w - A * phi3 * inv * w), models[2]],
  ]);
}
