/**
 * `restore --method irsde`: the task and the SDE settings from the flags.
 *
 * @module
 */

import { numberFlag, UsageError } from "../args.ts";
import { grayToRgb } from "../../lib/tensor.ts";
import type { SdeSettings, ThetaScheduleName } from "../../schedules/irsde_schedule.ts";
import type { IrsdeSolver } from "../../samplers/irsde.ts";
import type { RestoreResult } from "../../pipelines/run.ts";
import type { IrsdeTask } from "../../pipelines/restore_irsde.ts";
import {
  cachedModel,
  checkOutputSize,
  inputMask,
  type RestoreContext,
  runOptions,
} from "./context.ts";
import { stringFlag } from "./flags.ts";
import { DEFAULT_IRSDE_MODEL } from "../../model/builtin_models.ts";

/**
 * Run one image with --method irsde.
 *
 * @param ctx The run.
 * @returns The result.
 */
export async function runIrsde(ctx: RestoreContext): Promise<RestoreResult> {
  const v = ctx.values;
  // without --model, the trained built-in (command.ts says so once per run)
  const model = stringFlag(v.model) ?? DEFAULT_IRSDE_MODEL;
  const taskName = stringFlag(v.task);
  if (taskName !== undefined && !["sr", "inpaint", "denoise"].includes(taskName)) {
    throw new UsageError(
      `--method irsde: --task must be sr, inpaint or denoise, got '${taskName}'`,
    );
  }
  const task: IrsdeTask = { name: taskName as IrsdeTask["name"] };
  if (task.name === "sr") {
    task.scale = numberFlag(v, "scale", 0, { integer: true, min: 1 });
    checkOutputSize(ctx, task.scale, `--scale ${task.scale}`);
  }
  if (task.name === "inpaint") {
    if (typeof v.mask !== "string") {
      throw new UsageError("--method irsde --task inpaint needs --mask M.png");
    }
    task.mask = await inputMask(ctx, v.mask);
  } else if (v.mask !== undefined) throw new UsageError(`--mask applies to --task inpaint`);
  if (v["noise-level"] !== undefined) task.noiseLevel = numberFlag(v, "noise-level", 0, { min: 0 });
  const sde: Partial<SdeSettings> = {};
  if (v.steps !== undefined) {
    sde.T = numberFlag(v, "steps", 100, { integer: true, min: 1, max: 10000 });
  }
  if (v["max-sigma"] !== undefined) sde.maxSigma = numberFlag(v, "max-sigma", 10, { min: 0 });
  if (v.eps !== undefined) sde.eps = numberFlag(v, "eps", 0.01);
  if (v.schedule !== undefined) sde.schedule = stringFlag(v.schedule) as ThetaScheduleName;
  const { restoreIrsde } = await import("../../pipelines/restore_irsde.ts"); // loaded only for IR-SDE runs
  return await restoreIrsde(ctx.observed.c === 1 ? grayToRgb(ctx.observed) : ctx.observed, {
    model: await cachedModel(ctx, "model", model, stringFlag(v["model-spec"])),
    solver: stringFlag(v.solver) as IrsdeSolver | undefined,
    sde,
    task,
    ...runOptions(ctx),
  });
}
