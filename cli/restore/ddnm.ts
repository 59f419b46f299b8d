/**
 * `restore --method ddnm`: the task, its mask and DDNM's options from the flags.
 *
 * @module
 */

import { closest, numberFlag, UsageError } from "../args.ts";
import { DEFAULT_MODEL } from "../../model/builtin_models.ts";
import { DDNM_TASKS, type DdnmTask, type DdnmTaskName } from "../../operators/ddnm_tasks.ts";
import { restoreDdnm } from "../../pipelines/restore_ddnm.ts";
import type { RestoreResult } from "../../pipelines/run.ts";
import {
  cachedModel,
  checkOutputSize,
  inputMask,
  type RestoreContext,
  runOptions,
} from "./context.ts";
import { stringFlag } from "./flags.ts";

/**
 * Run one image with --method ddnm.
 *
 * @param ctx The run.
 * @returns The result.
 */
export async function runDdnm(ctx: RestoreContext): Promise<RestoreResult> {
  const v = ctx.values;
  const name = stringFlag(v.task);
  if (!name) {
    throw new UsageError(
      `--method ddnm needs --task (${DDNM_TASKS.join(", ")})`,
    );
  }
  if (!(DDNM_TASKS as readonly string[]).includes(name)) {
    const hint = closest(name, DDNM_TASKS);
    throw new UsageError(
      `unknown task '${name}' (one of ${DDNM_TASKS.join(", ")})` +
        (hint ? `; did you mean '${hint}'?` : ""),
    );
  }
  const task: DdnmTask = {
    name: name as DdnmTaskName,
    scale: v.scale === undefined ? undefined : numberFlag(v, "scale", 0, { integer: true, min: 1 }),
    kernel: stringFlag(v.kernel) as DdnmTask["kernel"],
    ratio: v.ratio === undefined ? undefined : numberFlag(v, "ratio", 0, { integer: true, min: 1 }),
    csPermutation: numberFlag(v, "cs-seed", 0, { integer: true, min: 0 }),
    fixedDeblur: v["fixed-deblur"] === true,
  };
  if ((task.name === "sr" || task.name === "sr-bicubic") && task.scale) {
    checkOutputSize(ctx, task.scale, `--scale ${task.scale}`);
  }
  let mask: Uint8Array | undefined;
  if (task.name === "inpaint") {
    if (typeof v.mask === "string") {
      mask = await inputMask(ctx, v.mask);
    } else if (ctx.image?.alpha) {
      mask = Uint8Array.from(ctx.image.alpha, (a) => (a >= 0.5 ? 1 : 0));
    } else {
      throw new UsageError(
        "--task inpaint needs --mask M.png, or an input whose transparent pixels mark the holes",
      );
    }
  } else if (v.mask !== undefined) {
    throw new UsageError(`--mask applies to --task inpaint, not ${task.name}`);
  }
  const variant = stringFlag(v.variant) ?? "svd";
  if (variant !== "svd" && variant !== "simplified") {
    throw new UsageError(`--variant must be svd or simplified, got '${variant}'`);
  }
  const ddnmSampler = stringFlag(v.sampler) ?? "ddnm";
  if (ddnmSampler !== "ddnm" && ddnmSampler !== "hq-demo") {
    throw new UsageError(
      `--sampler for --method ddnm must be ddnm or hq-demo, got '${ddnmSampler}'`,
    );
  }
  if (v["paper-lambda"] === true && ddnmSampler !== "hq-demo") {
    throw new UsageError("--paper-lambda applies to --sampler hq-demo");
  }
  const maskShift = stringFlag(v["mask-shift"]) ?? "fresh";
  if (maskShift !== "fresh" && maskShift !== "reference") {
    throw new UsageError(`--mask-shift must be fresh or reference, got '${maskShift}'`);
  }
  return await restoreDdnm(ctx.observed, {
    task,
    model: await cachedModel(
      ctx,
      "model",
      stringFlag(v.model) ?? DEFAULT_MODEL,
      stringFlag(v["model-spec"]),
    ),
    mask,
    steps: v.steps === undefined
      ? undefined
      : numberFlag(v, "steps", 0, { integer: true, min: 1, max: 1000 }),
    eta: v.eta === undefined ? undefined : numberFlag(v, "eta", 0, { min: 0, max: 1 }),
    sigmaY: numberFlag(v, "sigma-y", 0, { min: 0 }),
    travelLength: v["travel-length"] === undefined
      ? undefined
      : numberFlag(v, "travel-length", 1, { integer: true, min: 1 }),
    travelRepeat: v["travel-repeat"] === undefined
      ? undefined
      : numberFlag(v, "travel-repeat", 1, { integer: true, min: 1 }),
    variant,
    fixedLambdaNoise: v["fixed-lambda-noise"] === true,
    sampler: ddnmSampler,
    paperLambda: v["paper-lambda"] === true,
    classLabel: v.class === undefined
      ? undefined
      : numberFlag(v, "class", 0, { integer: true, min: 0 }),
    ...runOptions(ctx),
    window: v.window === undefined
      ? undefined
      : numberFlag(v, "window", 0, { integer: true, min: 8 }),
    maskShift,
  });
}
