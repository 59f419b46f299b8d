/**
 * What every sampling loop takes: one options object with the network (`predict`), the
 * `backend` the per-step math runs on, the `noise` source, the `schedule` (data computed
 * once), the `settings` (every convention a named option) and the `hooks` (progress,
 * cancellation). Each sampler adds only what is its own (the operator and y of DDNM, μ of
 * IR-SDE, the state of EDM and DPM-Solver).
 *
 * @module
 */

import type { Tensor } from "../lib/tensor.ts";
import type { NoiseSource } from "../lib/noise.ts";
import type { Backend } from "../kernels/backend.ts";

/** Progress of a sampling loop. */
export interface StepProgress {
  /** Steps done. */
  step: number;
  /** Steps in all. */
  total: number;
  /** The step's x0 estimate in model units, where the sampler forms one (rewritten later). */
  x0?: Tensor;
}

/** The hooks every sampling loop takes. */
export interface SamplerHooks {
  /** Called after every step. */
  onStep?: (p: StepProgress) => void;
  /** Stops the loop between steps (it throws the signal's reason) when aborted. */
  signal?: AbortSignal;
  /** Called with x̂0 right after each projection (DDNM's samplers; Mask-Shift pastes here). */
  afterProject?: (x0hat: Tensor) => void;
  /**
   * Form an x0 estimate for `onStep` where the sampler would not otherwise (IR-SDE's sde and
   * ode solvers: one more pass over the state per step).
   */
  estimates?: boolean;
}

/** The options every sampler entry takes. */
export interface SamplerRun<Predict, Schedule, Settings> {
  /** The network as the sampler calls it. */
  predict: Predict;
  /** Where the per-step math runs. */
  backend: Backend;
  /** The standard-normal draws, in the documented order (docs/noise.md). */
  noise: NoiseSource;
  /** The schedule (data computed once). */
  schedule: Schedule;
  /** The sampler's settings. */
  settings: Settings;
  /** Progress and cancellation. */
  hooks?: SamplerHooks;
}

/**
 * Throw the abort reason when the hooks' signal was aborted (called before each step).
 *
 * @example
 * ```ts
 * import { throwIfAborted } from "./sampler_run.ts";
 * const stop = new AbortController();
 * throwIfAborted({ signal: stop.signal }); // nothing happens
 * stop.abort();
 * try {
 *   throwIfAborted({ signal: stop.signal });
 * } catch (e) {
 *   console.log((e as Error).name); // AbortError
 * }
 * ```
 *
 * @param hooks The loop's hooks.
 */
export function throwIfAborted(hooks: SamplerHooks | undefined): void {
  const signal = hooks?.signal;
  if (signal?.aborted) throw signal.reason ?? new DOMException("aborted", "AbortError");
}

/**
 * Between two steps: with a signal to watch, let the event loop run once (so a timer, a
 * SIGINT or a client that went away can abort the signal; a sampling loop otherwise never
 * yields to them), then throw the abort reason if it was aborted.
 *
 * @example
 * ```ts
 * import { betweenSteps } from "./sampler_run.ts";
 * const stop = new AbortController();
 * setTimeout(() => stop.abort(), 0);
 * await betweenSteps({ signal: stop.signal }).catch((e) => console.log(e.name)); // AbortError
 * ```
 *
 * @param hooks The loop's hooks.
 */
export async function betweenSteps(hooks: SamplerHooks | undefined): Promise<void> {
  if (hooks?.signal) await new Promise((resolve) => setTimeout(resolve, 0));
  throwIfAborted(hooks);
}
