/**
 * Schedules as data: beta schedules and ā, a network's training schedule ({@linkcode ScheduleSpec}),
 * DDNM's time travel, IDDPM respacing, DDIM's, EDM's and the VP grids DiffBIR's samplers use, and
 * IR-SDE's θ/σ schedule. Pure functions, computed once per run.
 *
 * Advanced entry point `@diffrestore/sampler/schedules` (see ARCHITECTURE.md); most scripts need
 * only the package's main module.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ddimSchedule } from "@diffrestore/sampler/schedules";
 *
 * const s = ddimSchedule({ beta: "linear", betaStart: 1e-4, betaEnd: 0.02, trainSteps: 1000 }, 10);
 * assert.deepEqual(s.timesteps.slice(0, 3), [1, 101, 201]);
 * ```
 *
 * @module
 */

export {
  alphaBar,
  alphaBarFloat32,
  betaSchedule,
  type BetaScheduleName,
  type BetaScheduleOptions,
  rescaleZeroTerminalSnr,
} from "./beta_schedule.ts";
export { type ScheduleSpec, trainingAlphaBar } from "./training_schedule.ts";
export {
  type DdnmTransition,
  ddnmTransitions,
  timeTravelSchedule,
  warmStartTransitions,
} from "./ddnm_schedule.ts";
export {
  type RespacedSchedule,
  respacedSchedule,
  spacedSchedule,
  spaceTimesteps,
} from "./respacing.ts";
export { type DdimSchedule, ddimSchedule } from "./ddim_schedule.ts";
export { type EdmSchedule, edmSchedule } from "./edm_schedule.ts";
export { type VpSchedule, vpSchedule } from "./vp_schedule.ts";
export {
  type IrsdeSchedule,
  irsdeSchedule,
  type SdeSettings,
  type ThetaScheduleName,
} from "./irsde_schedule.ts";
