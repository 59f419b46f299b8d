/**
 * DiffBIR HEAD's EDM sampler (docs/diffbir.md, "EDM"): the σ grid from the training ā, the Karras
 * denoiser D(x, σ) = c_skip x + c_out F(c_in x, τ(σ)) and the k-diffusion solvers it wires up
 * (`edm_euler` … `edm_dpm++_3m_sde`), with scalar coefficients in float32 as PyTorch forms them.
 * The solvers only call a denoiser and a {@linkcode Backend}, so they run on either backend.
 *
 * Noise: x_T, then one draw wherever the reference asks its noise sampler (or `randn_like`),
 * in order: euler, heun, dpm_2 one per step (drawn even at s_churn = 0, as the reference);
 * euler_a and dpm++_2s_a one per step with σ_{i+1} > 0; dpm_2_a one per step with σ_down > 0;
 * dpm++_sde two per step with σ_{i+1} > 0; dpm++_2m_sde and dpm++_3m_sde one per step with
 * σ_{i+1} > 0 when η ≠ 0; lms and dpm++_2m none. The reference's SDE solvers draw from a
 * Brownian tree, whose normalised increments are standard normal: the same law, not the same
 * numbers. dpm++_sde asks the tree for two overlapping increments, σ_i → σ_mid and σ_i →
 * σ_{i+1}; here the second is built from the first and a fresh draw, so the pair has the tree's
 * joint law.
 *
 * @module
 */

import type { Backend } from "../kernels/backend.ts";
import { betweenSteps, type SamplerRun } from "./sampler_run.ts";
import type { NoiseSource } from "../lib/noise.ts";
import type { Prediction } from "../model/manifest.ts";
import { Tensor } from "../lib/tensor.ts";
import type { EdmSchedule } from "../schedules/edm_schedule.ts";

const _f = Math.fround;

/** The k-diffusion solvers of DiffBIR's EDM sampler (`--sampler edm_<name>`). */
export type EdmSolver =
  | "euler"
  | "euler_a"
  | "heun"
  | "dpm_2"
  | "dpm_2_a"
  | "lms"
  | "dpm++_2s_a"
  | "dpm++_sde"
  | "dpm++_2m"
  | "dpm++_2m_sde"
  | "dpm++_3m_sde";

/** Every solver name. */
export const EDM_SOLVERS: readonly EdmSolver[] = [
  "euler",
  "euler_a",
  "heun",
  "dpm_2",
  "dpm_2_a",
  "lms",
  "dpm++_2s_a",
  "dpm++_sde",
  "dpm++_2m",
  "dpm++_2m_sde",
  "dpm++_3m_sde",
];

/** Solver settings (DiffBIR's defaults: s_churn 0, s_tmin 0, s_tmax 300, s_noise 1, η 1, order 1). */
export interface EdmSettings {
  /** Churn (euler, heun, dpm_2). */
  sChurn: number;
  /** Churn applies for s_tmin ≤ σ ≤ s_tmax. */
  sTmin: number;
  /** See `sTmin`. */
  sTmax: number;
  /** Noise multiplier. */
  sNoise: number;
  /** η of the ancestral and SDE solvers. */
  eta: number;
  /** lms order. */
  order: number;
}

/** DiffBIR's defaults for {@linkcode EdmSettings}. */
export const EDM_DEFAULTS: Readonly<EdmSettings> = {
  sChurn: 0,
  sTmin: 0,
  sTmax: 300,
  sNoise: 1,
  eta: 1,
  order: 1,
};

/** The Karras preconditioning of a network output. */
export interface EdmScalings {
  /** Weight of x. */
  cSkip: number;
  /** Weight of the network output. */
  cOut: number;
  /** Scale of the network input. */
  cIn: number;
}

/**
 * c_skip, c_out, c_in at σ in float32: ε: (1, −σ, 1/√(σ²+1)); v: (1/(σ²+1), −σ/√(σ²+1),
 * 1/√(σ²+1)).
 *
 * @param sigma σ.
 * @param prediction `eps` or `v`.
 * @returns The scalings.
 */
export function edmScalings(sigma: number, prediction: Prediction): EdmScalings {
  const s2p1 = _f(_f(sigma * sigma) + 1), root = _f(Math.sqrt(s2p1));
  const cIn = _f(1 / root);
  if (prediction === "v") return { cSkip: _f(1 / s2p1), cOut: _f(-sigma / root), cIn };
  return { cSkip: 1, cOut: _f(-sigma), cIn };
}

/**
 * The start state's scale √(1 + σ_0²) in float32 (x = x_T · scale).
 *
 * @param s The grid.
 * @returns The scale.
 */
export function edmInitialScale(s: EdmSchedule): number {
  return _f(Math.sqrt(_f(1 + _f(s.sigmas[0] * s.sigmas[0]))));
}

/** D(x, σ): writes the denoised estimate into `out` and returns it. */
export type EdmDenoiser = (x: Tensor, sigma: number, out: Tensor) => Promise<Tensor>;

/** k-diffusion's `get_ancestral_step` in float32: (σ_down, σ_up). */
export function ancestralStep(from: number, to: number, eta: number): [number, number] {
  if (!eta) return [to, 0];
  const t2 = _f(to * to), f2 = _f(from * from);
  const up = Math.min(to, _f(eta * _f(Math.sqrt(_f(_f(t2 * _f(f2 - t2)) / f2)))));
  return [_f(Math.sqrt(_f(t2 - _f(up * up)))), up];
}

/** σ_mid = exp(lerp(log a, log b, ½)) as torch's lerp forms it (end − ½·(end − start)). */
function _logMidpoint(a: number, b: number): number {
  const la = _f(Math.log(a)), lb = _f(Math.log(b));
  return _f(Math.exp(_f(lb - _f(_f(lb - la) * 0.5))));
}

/** lms coefficient: ∫ from σ_i to σ_{i+1} of the Lagrange basis j over σ_i, …, σ_{i−order+1}. */
export function lmsCoefficient(sigmas: Float32Array, order: number, i: number, j: number): number {
  const basis = (tau: number) => {
    let p = 1;
    for (let k = 0; k < order; k++) {
      if (k !== j) p *= (tau - sigmas[i - k]) / (sigmas[i - j] - sigmas[i - k]);
    }
    return p;
  };
  // 4-point Gauss–Legendre is exact for the degree ≤ 3 polynomials of order ≤ 4
  const nodes = [0.3399810435848563, 0.8611363115940526];
  const weights = [0.6521451548625461, 0.3478548451374538];
  const a = sigmas[i], b = sigmas[i + 1], half = (b - a) / 2, mid = (a + b) / 2;
  let sum = 0;
  for (let q = 0; q < 2; q++) {
    sum += weights[q] * (basis(mid - half * nodes[q]) + basis(mid + half * nodes[q]));
  }
  return sum * half;
}

/**
 * How many standard-normal tensors a run draws after x_T (see the module documentation).
 *
 * @param solver The solver.
 * @param s The grid.
 * @param settings Solver settings.
 * @returns The count.
 */
export function edmDraws(solver: EdmSolver, s: EdmSchedule, settings: EdmSettings): number {
  const n = s.sigmas.length - 1;
  let draws = 0;
  for (let i = 0; i < n; i++) {
    const next = s.sigmas[i + 1] > 0;
    if (solver === "euler" || solver === "heun" || solver === "dpm_2") draws++;
    else if (solver === "euler_a" || solver === "dpm++_2s_a") draws += next ? 1 : 0;
    else if (solver === "dpm_2_a") {
      draws += ancestralStep(s.sigmas[i], s.sigmas[i + 1], settings.eta)[0] > 0 ? 1 : 0;
    } else if (solver === "dpm++_sde") draws += next ? 2 : 0;
    else if (solver === "dpm++_2m_sde" || solver === "dpm++_3m_sde") {
      draws += next && settings.eta ? 1 : 0;
    }
  }
  return draws;
}

/** Options of {@linkcode edmSample}: the state and the solver besides the common ones. */
export interface EdmSampleOptions
  extends SamplerRun<EdmDenoiser, EdmSchedule, EdmSettings & { solver: EdmSolver }> {
  /** The state, already x_T · √(1 + σ_0²) (updated in place). */
  x: Tensor;
}

/** The state one solver step reads and updates. */
interface _Run {
  denoise: EdmDenoiser;
  backend: Backend;
  noise: NoiseSource;
  settings: EdmSettings;
  sigmas: Float32Array;
  /** The sampler state. */
  x: Tensor;
  /** Scratch: slope, second state, second slope, noise. */
  d: Tensor;
  x2: Tensor;
  d2: Tensor;
  z: Tensor;
  /** D at this step, then the previous two (multistep), rotated after each step. */
  den: [Tensor, Tensor, Tensor];
  /** The previous two log-σ steps h (multistep SDE solvers). */
  h: [number, number];
  /** Steps done before this one. */
  done: number;
  /** lms's recent slopes, oldest first. */
  slopes: Tensor[];
}

const _sigmaOf = (t: number) => _f(Math.exp(-t));
const _tOf = (sigma: number) => _f(-_f(Math.log(sigma)));

/** to_d: out = (x − D)/σ. */
function _slope(r: _Run, out: Tensor, x: Tensor, den: Tensor, sigma: number): Tensor {
  return r.backend.combine(out, [[_f(1 / sigma), x], [-_f(1 / sigma), den]]);
}

/** x ← x + c · t. */
function _add(r: _Run, c: number, t: Tensor): void {
  r.backend.combine(r.x, [[1, r.x], [c, t]]);
}

/** euler, heun, dpm_2: optional churn, then an Euler, Heun or midpoint step in σ. */
async function _karrasStep(r: _Run, i: number, kind: "euler" | "heun" | "dpm_2"): Promise<void> {
  const { backend, settings: p, x, d, x2, d2, z } = r, [den, scratch] = r.den;
  const si = r.sigmas[i], sn = r.sigmas[i + 1], n = r.sigmas.length - 1;
  const gamma = p.sTmin <= si && si <= p.sTmax ? Math.min(p.sChurn / n, Math.SQRT2 - 1) : 0;
  backend.randn(z, r.noise); // drawn even without churn, as the reference
  const sHat = _f(si * _f(gamma + 1));
  if (gamma > 0) _add(r, _f(p.sNoise * _f(Math.sqrt(_f(_f(sHat * sHat) - _f(si * si))))), z);
  await r.denoise(x, sHat, den);
  _slope(r, d, x, den, sHat);
  if (sn === 0 || kind === "euler") return _add(r, _f(sn - sHat), d);
  // heun evaluates at σ_{i+1}, dpm_2 at the log-midpoint
  const at = kind === "heun" ? sn : _logMidpoint(sHat, sn);
  const dt = _f(sn - sHat);
  backend.combine(x2, [[1, x], [kind === "heun" ? dt : _f(at - sHat), d]]);
  await r.denoise(x2, at, scratch);
  _slope(r, d2, x2, scratch, at);
  if (kind === "heun") backend.combine(x, [[1, x], [dt * 0.5, d], [dt * 0.5, d2]]);
  else _add(r, dt, d2);
}

/** euler_a, dpm_2_a, dpm++_2s_a: a step to σ_down, then noise of σ_up. */
async function _ancestralStep(
  r: _Run,
  i: number,
  kind: "euler_a" | "dpm_2_a" | "dpm++_2s_a",
): Promise<void> {
  const { backend, x, d, x2, d2, z } = r, [den, scratch] = r.den;
  const si = r.sigmas[i], sn = r.sigmas[i + 1];
  await r.denoise(x, si, den);
  const [down, up] = ancestralStep(si, sn, r.settings.eta);
  if (kind === "euler_a" || down === 0) {
    _add(r, _f(down - si), _slope(r, d, x, den, si));
  } else if (kind === "dpm_2_a") {
    _slope(r, d, x, den, si);
    const mid = _logMidpoint(si, down);
    backend.combine(x2, [[1, x], [_f(mid - si), d]]);
    await r.denoise(x2, mid, scratch);
    _add(r, _f(down - si), _slope(r, d2, x2, scratch, mid));
  } else {
    // DPM-Solver++(2S) in t = −log σ, through the midpoint
    const t = _tOf(si), tNext = _tOf(down), h = _f(tNext - t), sMid = _f(t + _f(h * 0.5));
    backend.combine(x2, [[_f(_sigmaOf(sMid) / _sigmaOf(t)), x], [
      -_f(Math.expm1(_f(-h * 0.5))),
      den,
    ]]);
    await r.denoise(x2, _sigmaOf(sMid), scratch);
    backend.combine(x, [[_f(_sigmaOf(tNext) / _sigmaOf(t)), x], [-_f(Math.expm1(-h)), scratch]]);
  }
  if (kind === "dpm_2_a" ? down !== 0 : sn > 0) {
    backend.randn(z, r.noise);
    _add(r, _f(r.settings.sNoise * up), z);
  }
}

/** dpm++_sde: DPM-Solver++ with ancestral noise at the midpoint and at σ_{i+1}. */
async function _dpmSdeStep(r: _Run, i: number): Promise<void> {
  const { backend, settings: p, x, d, x2, d2, z } = r, [den, scratch] = r.den;
  const si = r.sigmas[i], sn = r.sigmas[i + 1];
  await r.denoise(x, si, den);
  if (sn === 0) return _add(r, _f(sn - si), _slope(r, d, x, den, si));
  const t = _tOf(si), tNext = _tOf(sn), h = _f(tNext - t), sMid = _f(t + _f(h * 0.5));
  // step 1 to the midpoint; step 2 uses D_d = (1 − fac) D + fac D_2 with fac = 1/(2r) = 1
  let [down, up] = ancestralStep(_sigmaOf(t), _sigmaOf(sMid), p.eta);
  const sDown = _tOf(down);
  backend.combine(x2, [[_f(_sigmaOf(sDown) / _sigmaOf(t)), x], [
    -_f(Math.expm1(_f(t - sDown))),
    den,
  ]]);
  backend.randn(z, r.noise);
  backend.combine(x2, [[1, x2], [_f(p.sNoise * up), z]]);
  await r.denoise(x2, _sigmaOf(sMid), scratch);
  [down, up] = ancestralStep(_sigmaOf(t), _sigmaOf(tNext), p.eta);
  const tDown = _tOf(down);
  backend.combine(x, [[_f(_sigmaOf(tDown) / _sigmaOf(t)), x], [
    -_f(Math.expm1(_f(t - tDown))),
    scratch,
  ]]);
  // the reference's second increment is W(σ_{i+1}) − W(σ_i) of the same Brownian path:
  // it contains the first, W(σ_mid) − W(σ_i), plus an independent rest
  backend.randn(d2, r.noise);
  const first = Math.abs(_sigmaOf(sMid) - si), rest = Math.abs(sn - _sigmaOf(sMid));
  const c = _f(p.sNoise * up) / Math.sqrt(first + rest);
  backend.combine(x, [[1, x], [_f(c * Math.sqrt(first)), z], [_f(c * Math.sqrt(rest)), d2]]);
}

/** lms: linear multistep over the last `order` slopes, coefficients integrated in σ. */
async function _lmsStep(r: _Run, i: number): Promise<void> {
  const [den] = r.den, si = r.sigmas[i];
  await r.denoise(r.x, si, den);
  const slope = r.slopes.length > r.settings.order - 1
    ? r.slopes.shift()!
    : Tensor.zeros(r.x.shape);
  r.slopes.push(_slope(r, slope, r.x, den, si));
  const order = Math.min(i + 1, r.settings.order);
  const terms: [number, Tensor][] = [[1, r.x]];
  for (let j = 0; j < order; j++) {
    terms.push([_f(lmsCoefficient(r.sigmas, order, i, j)), r.slopes[r.slopes.length - 1 - j]]);
  }
  r.backend.combine(r.x, terms);
}

/** dpm++_2m: DPM-Solver++(2M), second order from the previous D. */
async function _dpm2mStep(r: _Run, i: number): Promise<void> {
  const { backend, x, d } = r, [den, previous] = r.den;
  const si = r.sigmas[i], sn = r.sigmas[i + 1];
  await r.denoise(x, si, den);
  const t = _tOf(si), tNext = sn === 0 ? Infinity : _tOf(sn), h = _f(tNext - t);
  const ratio = _f(_sigmaOf(tNext) / _sigmaOf(t)), lead = -_f(Math.expm1(-h));
  if (r.done === 0 || sn === 0) {
    backend.combine(x, [[ratio, x], [lead, den]]);
    return;
  }
  const ratioH = _f(_f(t - _tOf(r.sigmas[i - 1])) / h), half = _f(1 / _f(2 * ratioH));
  backend.combine(d, [[_f(1 + half), den], [-half, previous]]);
  backend.combine(x, [[ratio, x], [lead, d]]);
}

/** dpm++_2m_sde and dpm++_3m_sde: exponential multistep updates plus η-scaled noise. */
async function _dpmMultistepSdeStep(r: _Run, i: number, order: 2 | 3): Promise<void> {
  const { backend, settings: p, x, z } = r, [den, previous] = r.den;
  const si = r.sigmas[i], sn = r.sigmas[i + 1];
  await r.denoise(x, si, den);
  if (sn === 0) {
    backend.combine(x, [[1, den]]);
    return;
  }
  const h = _f(_tOf(sn) - _tOf(si));
  if (order === 2) {
    const etaH = _f(p.eta * h), lead = -_f(Math.expm1(_f(-h - etaH)));
    backend.combine(x, [[_f(_f(sn / si) * _f(Math.exp(-etaH))), x], [lead, den]]);
    if (r.done > 0) {
      // the midpoint correction: ½ (1 − e^{−h−ηh}) (D − D_1)/r
      const w = _f(_f(0.5 * lead) * _f(1 / _f(r.h[0] / h)));
      backend.combine(x, [[1, x], [w, den], [-w, previous]]);
    }
  } else {
    _threeMStep(backend, x, r.den, h, r.h, r.done, p.eta, [r.d, r.d2]);
  }
  if (p.eta) {
    backend.randn(z, r.noise);
    // 2M: −2·(η h); 3M: (−2 h)·η, each as the reference groups it
    const exponent = order === 2 ? _f(-2 * _f(p.eta * h)) : _f(_f(-2 * h) * p.eta);
    _add(r, _f(_f(sn * _f(Math.sqrt(-_f(Math.expm1(exponent))))) * p.sNoise), z);
  }
  r.h = [h, r.h[0]];
}

const _STEPS: Record<EdmSolver, (r: _Run, i: number) => Promise<void>> = {
  euler: (r, i) => _karrasStep(r, i, "euler"),
  heun: (r, i) => _karrasStep(r, i, "heun"),
  dpm_2: (r, i) => _karrasStep(r, i, "dpm_2"),
  euler_a: (r, i) => _ancestralStep(r, i, "euler_a"),
  dpm_2_a: (r, i) => _ancestralStep(r, i, "dpm_2_a"),
  "dpm++_2s_a": (r, i) => _ancestralStep(r, i, "dpm++_2s_a"),
  "dpm++_sde": _dpmSdeStep,
  lms: _lmsStep,
  "dpm++_2m": _dpm2mStep,
  "dpm++_2m_sde": (r, i) => _dpmMultistepSdeStep(r, i, 2),
  "dpm++_3m_sde": (r, i) => _dpmMultistepSdeStep(r, i, 3),
};

/**
 * Run a solver from x (already x_T · √(1 + σ_0²)) down the grid; x is updated in place.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EDM_DEFAULTS, edmSample } from "@diffrestore/sampler/samplers";
 * import { edmSchedule } from "@diffrestore/sampler/schedules";
 * import { CpuBackend, GaussianNoise, Tensor } from "@diffrestore/sampler";
 *
 * const grid = edmSchedule({ beta: "scaled_linear", betaStart: 0.00085, betaEnd: 0.012, trainSteps: 1000 }, 10);
 * const noise = new GaussianNoise(0);
 * const x = new CpuBackend().randn(Tensor.zeros([1, 4, 2, 2]), noise);
 * await edmSample({
 *   // a denoiser that knows the answer: D(x, σ) = 0.3
 *   predict: (_x, _sigma, out) => Promise.resolve((out.data.fill(0.3), out)),
 *   backend: new CpuBackend(),
 *   noise,
 *   schedule: grid,
 *   settings: { ...EDM_DEFAULTS, solver: "euler" },
 *   x,
 * });
 * assert.ok(x.data.every((v) => Math.abs(v - 0.3) < 1e-5)); // Euler's last step to σ = 0 lands on D
 * ```
 *
 * @param options The denoiser D(x, σ), backend, noise, σ grid, solver and its settings,
 * hooks (progress with the step's denoised estimate), and the state.
 * @returns x.
 */
export async function edmSample(options: EdmSampleOptions): Promise<Tensor> {
  const { predict: denoise, backend, noise, schedule: s, settings, hooks, x } = options;
  const solver = settings.solver;
  const like = () => Tensor.zeros(x.shape);
  const r: _Run = {
    denoise,
    backend,
    noise,
    settings,
    sigmas: s.sigmas,
    x,
    d: like(),
    x2: like(),
    d2: like(),
    z: like(),
    den: [like(), like(), like()],
    h: [NaN, NaN],
    done: 0,
    slopes: [],
  };
  const n = s.sigmas.length - 1;
  for (let i = 0; i < n; i++) {
    await betweenSteps(hooks);
    await _STEPS[solver](r, i);
    // the multistep solvers keep the last two denoised estimates
    r.den = [r.den[2], r.den[0], r.den[1]];
    r.done++;
    hooks?.onStep?.({ step: i + 1, total: n, x0: r.den[1] });
  }
  return x;
}

/** One DPM-Solver++(3M) SDE update after the first-order part (k-diffusion's formulas). */
function _threeMStep(
  backend: Backend,
  x: Tensor,
  [den, den1, den2]: [Tensor, Tensor, Tensor],
  h: number,
  [h1, h2]: [number, number],
  have: number,
  eta: number,
  [d1, d2]: [Tensor, Tensor],
): void {
  const hEta = _f(h * _f(eta + 1)), decay = _f(Math.exp(-hEta)), lead = -_f(Math.expm1(-hEta));
  backend.combine(x, [[decay, x], [lead, den]]);
  if (have === 0) return;
  const phi2 = _f(_f(_f(Math.expm1(-hEta)) / hEta) + 1);
  if (have === 1) {
    const r = _f(h1 / h);
    backend.combine(x, [[1, x], [_f(phi2 / r), den], [-_f(phi2 / r), den1]]);
    return;
  }
  const phi3 = _f(_f(phi2 / hEta) - 0.5);
  const r0 = _f(h1 / h), r1 = _f(h2 / h), sum = _f(r0 + r1);
  // d1_0 = (D − D1)/r0 into d1, d1_1 = (D1 − D2)/r1 into d2
  backend.combine(d1, [[_f(1 / r0), den], [-_f(1 / r0), den1]]);
  backend.combine(d2, [[_f(1 / r1), den1], [-_f(1 / r1), den2]]);
  // x += φ2 (d1_0 + (d1_0 − d1_1) r0/(r0 + r1)) − φ3 (d1_0 − d1_1)/(r0 + r1)
  const a = _f(r0 / sum), b = _f(1 / sum);
  backend.combine(x, [[1, x], [_f(phi2 * (1 + a) - phi3 * b), d1], [
    _f(-phi2 * a + phi3 * b),
    d2,
  ]]);
}
