/**
 * The papers' steps and loops: DDNM/DDNM+, hq_demo, IR-SDE, DiffBIR's spaced DDPM, DDIM, EDM and
 * DPM-Solver++, Mask-Shift windows.
 *
 * Advanced entry point `@diffrestore/sampler/samplers` (see ARCHITECTURE.md); most scripts need
 * only the package's main module.
 *
 * @module
 */

export * from "./ddnm.ts";
export * from "./dpm_solver.ts";
export * from "./edm.ts";
export * from "./hq_demo.ts";
export * from "./irsde.ts";
export * from "./mask_shift.ts";
export * from "./sampler_run.ts";
export * from "./spaced_ddpm.ts";
