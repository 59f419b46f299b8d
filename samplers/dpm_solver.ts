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
import { betaSchedule, betasFromAlphaBar } from "../schedules/beta_schedule.ts";
import { latentAlphaBar, type LatentSchedule } from "./spaced_ddpm.ts";

const _f = Math.fround;

/** The discrete VP schedule: log α at the continuous times t_k = (k + 1)/N, k < N. */
export interface VpSchedule {
  /** log α_t = ½ Σ log(1 − β), float32, after the λ < −5.1 tail is clipped. */
  logAlpha: Float32Array;
  /** t_k = (k + 1)/N (float32). */
  times: Float32Array;
  /** N, the entries kept. */
  total: number;
}

/**
 * The discrete schedule of `dpm_solver_pytorch`: log α = ½ cumsum(log(1 − β)) in float32 (summed
 * in float64, as PyTorch's CPU cumsum), with the trailing entries whose half-log-SNR is below
 * −5.1 removed (`numerical_clip_alpha`; under zero terminal SNR this drops the last steps).
 *
 * @example
 * ```ts
 * import { vpSchedule } from "./dpm_solver.ts";
 * const v = vpSchedule({ beta: "scaled_linear", betaStart: 0.00085, betaEnd: 0.012, trainSteps: 1000 });
 * console.log(v.total, v.times[999]); // 1000 1
 * ```
 *
 * @param s The training schedule.
 * @returns The schedule.
 */
export function vpSchedule(s: LatentSchedule): VpSchedule {
  const betas = s.zeroTerminalSnr ? betasFromAlphaBar(latentAlphaBar(s)) : betaSchedule(s.beta, s);
  const all = new Float32Array(betas.length);
  let sum = 0;
  for (let i = 0; i < betas.length; i++) {
    sum += _f(Math.log(_f(1 - _f(betas[i]))));
    all[i] = _f(0.5 * _f(sum));
  }
  let total = all.length;
  while (total > 0 && _lambdaOf(all[total - 1]) < -5.1) total--;
  const times = new Float32Array(total);
  // torch.linspace(0, 1, N + 1)[1:] in float32: the first half from 0, the second from 1
  const step = _f(1 / total), halfway = Math.floor((total + 1) / 2);
  for (let k = 1; k <= total; k++) {
    times[k - 1] = k < halfway ? _f(k * step) : _f(1 - _f((total - k) * step));
  }
  return { logAlpha: all.slice(0, total), times, total };
}

/** λ = log α − log σ for a given log α. */
function _lambdaOf(logAlpha: number): number {
  return _f(logAlpha - _f(0.5 * _f(Math.log(_f(1 - _f(Math.exp(_f(2 * logAlpha))))))));
}

/** Piecewise-linear y(x) through (xs, ys), extended by the end segments (`interpolate_fn`). */
function _interpolate(x: number, xs: Float32Array, ys: Float32Array): number {
  const n = xs.length, ascending = xs[n - 1] > xs[0];
  // the segment [k, k + 1] holding x, or an end segment outside
  let lo = 0, hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((xs[mid] <= x) === ascending) lo = mid;
    else hi = mid;
  }
  return _f(ys[lo] + _f(_f(_f(x - xs[lo]) * _f(ys[hi] - ys[lo])) / _f(xs[hi] - xs[lo])));
}

/**
 * log α_t at continuous time t.
 *
 * @param v The schedule.
 * @param t Time in (0, 1].
 * @returns log α_t.
 */
export function vpLogAlpha(v: VpSchedule, t: number): number {
  return _interpolate(t, v.times, v.logAlpha);
}

/**
 * (α_t, σ_t, λ_t) at continuous time t.
 *
 * @param v The schedule.
 * @param t Time.
 * @returns α, σ and the half-log-SNR λ.
 */
export function vpMarginals(
  v: VpSchedule,
  t: number,
): { alpha: number; sigma: number; lambda: number } {
  const la = vpLogAlpha(v, t);
  return {
    alpha: _f(Math.exp(la)),
    sigma: _f(Math.sqrt(_f(1 - _f(Math.exp(_f(2 * la)))))),
    lambda: _lambdaOf(la),
  };
}

/**
 * The sampling times: torch.linspace(1, 1/N, steps + 1) in float32 ('time_uniform').
 *
 * @param v The schedule.
 * @param steps Steps.
 * @returns steps + 1 times, descending.
 */
export function dpmTimes(v: VpSchedule, steps: number): Float32Array {
  const start = 1, end = _f(1 / v.total), step = _f(_f(end - start) / steps);
  const halfway = Math.floor((steps + 1) / 2);
  return Float32Array.from(
    { length: steps + 1 },
    (_, i) => i < halfway ? _f(start + _f(i * step)) : _f(end - _f((steps - i) * step)),
  );
}

/**
 * The network's timestep for continuous time t: (t − 1/N)·1000 (fractional).
 *
 * @param v The schedule.
 * @param t Time.
 * @returns The model input time.
 */
export function dpmModelTime(v: VpSchedule, t: number): number {
  return _f(_f(t - _f(1 / v.total)) * 1000);
}

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
