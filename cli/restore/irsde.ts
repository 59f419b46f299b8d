/**
 * `restore --method irsde`: the task and the SDE settings from the flags, checked before any model
 * loads; flags the task ignores get a note.
 *
 * @module
 */

import { choiceFlag, numberFlag, type ParsedArgs, UsageError } from "../args.ts";
import { grayToRgb } from "../../lib/tensor.ts";
import type { SdeSettings } from "../../schedules/irsde_schedule.ts";
import type { IrsdeTask } from "../../pipelines/restore_irsde.ts";
import { DEFAULT_IRSDE_MODEL } from "../../model/builtin_models.ts";
import {
  cachedModel,
  checkOutputSize,
  inputMask,
  type MethodRunner,
  runOptions,
} from "./context.ts";
import { stringFlag } from "./flags.ts";

/**
 * Check --method irsde's flags (before any model loads) and return the runner of one image.
 *
 * @param v Parsed flags.
 * @param note Receives notes (flags the task ignores).
 * @returns The runner.
 */
export async function planIrsde(
  v: ParsedArgs["values"],
  note: (message: string) => void,
): Promise<MethodRunner> {
  const name = choiceFlag(v, "task", ["sr", "inpaint", "denoise"] as const);
  const task: IrsdeTask = { name };
  if (name === "sr") {
    if (v.scale === undefined) throw new UsageError("--task sr needs --scale (an integer >= 1)");
    task.scale = numberFlag(v, "scale", 0, { integer: true, min: 1 });
  } else if (v.scale !== undefined) {
    note(`--scale does not apply to --task ${name ?? "(none)"}; ignored`);
  }
  const maskPath = stringFlag(v.mask);
  if (name === "inpaint" && maskPath === undefined) {
    throw new UsageError("--method irsde --task inpaint needs --mask M.png");
  }
  if (name !== "inpaint" && maskPath !== undefined) {
    throw new UsageError(`--mask applies to --task inpaint`);
  }
  if (maskPath !== undefined) {
    await Deno.stat(maskPath).catch(() => {
      throw new UsageError(`--mask ${maskPath}: file not found`);
    });
  }
  if (v["noise-level"] !== undefined) {
    task.noiseLevel = numberFlag(v, "noise-level", 0, { min: 0, unit: "(in /255 when above 1)" });
  }
  const sde: Partial<Omit<SdeSettings, "T">> = {};
  if (v["max-sigma"] !== undefined) {
    sde.maxSigma = numberFlag(v, "max-sigma", 10, { min: 0, unit: "(in /255 when above 1)" });
  }
  if (v.eps !== undefined) {
    sde.eps = numberFlag(v, "eps", 0.01);
    if (!(sde.eps > 0 && sde.eps < 1)) {
      throw new UsageError(`--eps must be in (0, 1), got ${v.eps}`);
    }
  }
  sde.schedule = choiceFlag(v, "schedule", ["cosine", "linear", "constant"] as const);
  const solver = choiceFlag(v, "solver", ["sde", "ode", "posterior"] as const);
  const steps = numberFlag(v, "steps", undefined, { integer: true, min: 1, max: 10000 });
  // without --model, the trained built-in (command.ts says so once per run)
  const model = stringFlag(v.model) ?? DEFAULT_IRSDE_MODEL;
  const { restoreIrsde } = await import("../../pipelines/restore_irsde.ts"); // loaded only for IR-SDE runs
  return async (ctx) => {
    if (task.scale) checkOutputSize(ctx, task.scale, `--scale ${task.scale}`);
    const mask = maskPath === undefined ? undefined : await inputMask(ctx, maskPath);
    return await restoreIrsde(ctx.observed.c === 1 ? grayToRgb(ctx.observed) : ctx.observed, {
      model: await cachedModel(ctx, "model", model, stringFlag(v["model-spec"])),
      solver,
      sde,
      steps,
      task,
      mask,
      ...runOptions(ctx),
    });
  };
}
