/**
 * DDPM noise schedules as data: betas and alpha-bar.
 *
 * @module
 */

import { UserError } from "../lib/errors.ts";

/** Names of the beta schedules. */
export type BetaScheduleName =
  | "linear"
  | "scaled_linear"
  | "quad"
  | "cosine"
  | "const"
  | "jsd"
  | "sigmoid";

/** Parameters of a beta schedule. */
export interface BetaScheduleOptions {
  /** First beta (linear family). Default 1e-4. */
  betaStart?: number;
  /** Last beta (linear family). Default 0.02. */
  betaEnd?: number;
  /** Number of training steps. Default 1000. */
  trainSteps?: number;
}

/**
 * NumPy's `linspace` in float64: `start + i * step`, the last value set to `stop` exactly.
 *
 * @param start First value.
 * @param stop Last value.
 * @param num Number of values.
 * @returns The values.
 */
export function linspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  const step = num > 1 ? (stop - start) / (num - 1) : 0;
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  if (num > 1) out[num - 1] = stop;
  return out;
}

/**
 * The betas of a named schedule, in float64 as NumPy computes them.
 *
 * - `linear`: linspace(betaStart, betaEnd, n) (DDPM, DDNM).
 * - `scaled_linear` / `quad`: linspace(√betaStart, √betaEnd, n)² (LDM and DiffBIR's "linear").
 * - `cosine`: Nichol and Dhariwal's ā(t) = cos²((t/n + 0.008)/1.008 · π/2), betas capped at 0.999.
 * - `const`: betaEnd everywhere; `jsd`: 1/linspace(n, 1, n); `sigmoid`: as DDNM's configs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { betaSchedule } from "@diffrestore/sampler";
 *
 * const b = betaSchedule("scaled_linear", { betaStart: 0.00085, betaEnd: 0.012 });
 * assert.equal(b.length, 1000);
 * assert.equal(b[999].toFixed(3), "0.012");
 * ```
 *
 * @param name The schedule.
 * @param options Endpoints and length.
 * @returns n betas.
 */
export function betaSchedule(
  name: BetaScheduleName,
  options: BetaScheduleOptions = {},
): Float64Array {
  const start = options.betaStart ?? 1e-4;
  const end = options.betaEnd ?? 0.02;
  const n = options.trainSteps ?? 1000;
  switch (name) {
    case "linear":
      return linspace(start, end, n);
    case "scaled_linear":
    case "quad":
      return linspace(Math.sqrt(start), Math.sqrt(end), n).map((v) => v * v);
    case "const":
      return new Float64Array(n).fill(end);
    case "jsd":
      return linspace(n, 1, n).map((v) => 1 / v);
    case "sigmoid":
      return linspace(-6, 6, n).map((v) => (1 / (1 + Math.exp(-v))) * (end - start) + start);
    case "cosine": {
      const ab = (t: number) => Math.cos(((t + 0.008) / 1.008) * Math.PI / 2) ** 2;
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = Math.min(1 - ab((i + 1) / n) / ab(i / n), 0.999);
      return out;
    }
  }
  throw new UserError(`unknown beta schedule '${name}'`);
}

/**
 * ā_t = Π_{s≤t}(1 − β_s) in float64 (NumPy's cumprod), as LDM/DiffBIR compute it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { alphaBar } from "@diffrestore/sampler/schedules";
 *
 * assert.deepEqual([...alphaBar([0.5, 0.5])], [0.5, 0.25]); // the running product of 1 - β
 * ```
 *
 * @param betas The betas.
 * @returns ā for t = 0..n−1.
 */
export function alphaBar(betas: ArrayLike<number>): Float64Array {
  const out = new Float64Array(betas.length);
  let p = 1;
  for (let i = 0; i < betas.length; i++) {
    p *= 1 - betas[i];
    out[i] = p;
  }
  return out;
}

/**
 * DDNM's `compute_alpha` table: ā in float32 the way the reference gets it.
 *
 * The reference casts the betas to float32, forms (1 − β) in float32 and takes a torch
 * CPU `cumprod` (which accumulates in double and stores float32). Index with
 * {@linkcode alphaBarAt}, which gives ā(−1) = 1 for the last step.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { alphaBar, alphaBarFloat32, betaSchedule } from "@diffrestore/sampler/schedules";
 *
 * const betas = betaSchedule("linear", { trainSteps: 1000 });
 * const f32 = alphaBarFloat32(betas), f64 = alphaBar(betas);
 * assert.ok(Math.abs(f32[999] - f64[999]) < 1e-6); // DDNM's table, as its float32 torch code
 * assert.equal(f32[0], Math.fround(1 - 1e-4));
 * ```
 *
 * @param betas The float64 betas.
 * @returns ā_t as float32 values, t = 0..n−1.
 */
export function alphaBarFloat32(betas: ArrayLike<number>): Float32Array {
  const out = new Float32Array(betas.length);
  let p = 1;
  for (let i = 0; i < betas.length; i++) {
    p *= Math.fround(1 - Math.fround(betas[i]));
    out[i] = p;
  }
  return out;
}

/**
 * ā at timestep t with DDNM's convention ā(−1) = 1.
 *
 * @param table ā_t for t = 0..n−1.
 * @param t Timestep in [−1, n−1].
 * @returns ā(t).
 */
export function alphaBarAt(table: ArrayLike<number>, t: number): number {
  if (t < 0) return 1;
  if (t >= table.length) throw new RangeError(`timestep ${t} outside [-1, ${table.length - 1}]`);
  return table[t];
}

/**
 * Zero-terminal-SNR rescale (Lin et al. 2024), as DiffBIR v2.1 applies it to ā.
 *
 * r = √ā; r ← (r − r_last) · r_0 / (r_0 − r_last); ā' = r². So ā'_last = 0 and ā'_0 = ā_0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { alphaBar, betaSchedule, rescaleZeroTerminalSnr } from "@diffrestore/sampler/schedules";
 *
 * const ab = rescaleZeroTerminalSnr(alphaBar(betaSchedule("scaled_linear", { betaStart: 0.00085, betaEnd: 0.012 })));
 * assert.equal(ab[999], 0); // the last step is pure noise
 * assert.ok(Math.abs(ab[0] - (1 - 0.00085)) < 1e-12); // the first is unchanged
 * ```
 *
 * @param alphaBars ā_t, float64.
 * @returns The rescaled ā'.
 */
export function rescaleZeroTerminalSnr(alphaBars: ArrayLike<number>): Float64Array {
  const n = alphaBars.length;
  const r0 = Math.sqrt(alphaBars[0]);
  const rT = Math.sqrt(alphaBars[n - 1]);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const r = ((Math.sqrt(alphaBars[i]) - rT) * r0) / (r0 - rT);
    out[i] = r * r;
  }
  return out;
}

/**
 * Betas from a cumulative product: β_t = 1 − ā_t / ā_{t−1} (β_0 = 1 − ā_0).
 *
 * @param alphaBars ā_t.
 * @returns β_t.
 */
export function betasFromAlphaBar(alphaBars: ArrayLike<number>): Float64Array {
  const out = new Float64Array(alphaBars.length);
  let prev = 1;
  for (let i = 0; i < alphaBars.length; i++) {
    out[i] = 1 - alphaBars[i] / prev;
    prev = alphaBars[i];
  }
  return out;
}
