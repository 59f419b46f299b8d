/**
 * The papers' loops over a backend: DDNM/DDNM+ and hq_demo's, IR-SDE's (reverse SDE, ODE, optimal
 * posterior) and DenoisingSDE's, DiffBIR's spaced DDPM, DDIM, EDM and DPM-Solver++, Mask-Shift's
 * windows, and the mean of several samples. Each takes one options object: the network as a
 * `predict` function, the backend, the noise, the schedule, the settings and hooks.
 *
 * Advanced entry point `@diffrestore/sampler/samplers` (see ARCHITECTURE.md); most scripts need
 * only the package's main module.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maskShiftWindows } from "@diffrestore/sampler/samplers";
 *
 * assert.equal(maskShiftWindows(256, 384, 256, 256).length, 2);
 * ```
 *
 * @module
 */

export {
  DDNM_DEFAULTS,
  ddnmNoiseCount,
  type DdnmProblem,
  ddnmSample,
  type DdnmSampleOptions,
  type DdnmSettings,
  type EpsPredictor,
} from "./ddnm.ts";
export { hqDemoSample, type HqDemoSampleOptions, type HqDemoSettings } from "./hq_demo.ts";
export {
  denoisingSdeSample,
  type DenoisingSdeSampleOptions,
  irsdeNoiseCount,
  irsdeSample,
  type IrsdeSampleOptions,
  type IrsdeSolver,
  type NoisePredictor,
} from "./irsde.ts";
export {
  ddimSample,
  type GuidanceSettings,
  type LatentSampleOptions,
  type LatentSamplerSettings,
  type OutputPredictor,
  spacedSample,
} from "./spaced_ddpm.ts";
export {
  EDM_DEFAULTS,
  EDM_SOLVERS,
  type EdmDenoiser,
  edmSample,
  type EdmSampleOptions,
  type EdmSettings,
  type EdmSolver,
} from "./edm.ts";
export { type DataPredictor, dpmSolverSample, type DpmSolverSampleOptions } from "./dpm_solver.ts";
export type { SamplerHooks, SamplerRun, StepProgress } from "./sampler_run.ts";
export { meanOfSamples } from "./sample_mean.ts";
export { maskShiftWindows, type Window } from "./mask_shift.ts";
