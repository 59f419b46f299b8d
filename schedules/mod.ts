/**
 * Schedules as data: beta schedules and ā, DDNM's time travel, IDDPM respacing, IR-SDE's θ/σ
 * schedule.
 *
 * Advanced entry point `@diffrestore/sampler/schedules` (see ARCHITECTURE.md); most scripts need
 * only the package's main module.
 *
 * @module
 */

export * from "./beta_schedule.ts";
export * from "./ddnm_schedule.ts";
export * from "./irsde_schedule.ts";
export * from "./respacing.ts";
