/**
 * The discrete VP schedule of `dpm_solver_pytorch` (DiffBIR HEAD's DPM-Solver++): log α at
 * continuous times, its marginals, the sampling times and the network's timestep (docs/diffbir.md).
 *
 * @module
 */

import { betaSchedule, betasFromAlphaBar } from "./beta_schedule.ts";
import { type ScheduleSpec, trainingAlphaBar } from "./training_schedule.ts";

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
 * import assert from "node:assert/strict";
 * import { vpSchedule } from "@diffrestore/sampler/schedules";
 *
 * const v = vpSchedule({ beta: "scaled_linear", betaStart: 0.00085, betaEnd: 0.012, trainSteps: 1000 });
 * assert.equal(v.total, 1000);
 * assert.equal(v.times[999], 1);
 * ```
 *
 * @param s The training schedule.
 * @returns The schedule.
 */
export function vpSchedule(s: ScheduleSpec): VpSchedule {
  const betas = s.zeroTerminalSnr
    ? betasFromAlphaBar(trainingAlphaBar(s))
    : betaSchedule(s.beta, s);
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
