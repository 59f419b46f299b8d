/**
 * `restore --method ddnm`: the task, its mask and DDNM's options from the flags, checked before
 * any model loads; flags the task ignores get a note.
 *
 * @module
 */

import {
  choiceFlag,
  closest,
  numberFlag,
  type NumberRule,
  type ParsedArgs,
  UsageError,
} from "../args.ts";
import { DEFAULT_MODEL } from "../../model/builtin_models.ts";
import {
  DDNM_TASKS,
  type DdnmTask,
  type DdnmTaskName,
  ddnmTaskSpec,
} from "../../operators/ddnm_tasks.ts";
import { MAX_SAMPLES, restoreDdnm } from "../../pipelines/restore_ddnm.ts";
import {
  cachedModel,
  checkOutputSize,
  inputMask,
  type MethodRunner,
  runOptions,
} from "./context.ts";
import { stringFlag } from "./flags.ts";

/** σ_y's unit, said with its rule. */
const SIGMA_Y_UNIT = "(the noise's standard deviation in [0,1] image units: 0.1 is 25.5/255)";

/** The warm start's unit, said with its rule. */
const WARM_START_UNIT = "(the share of the schedule run from the noised classical restoration; " +
  "1 = every step from pure noise)";

/** The flags each DDNM task reads besides the common ones; the others get a note. */
const TASK_FLAGS: Record<string, readonly string[]> = {
  sr: ["scale"],
  "sr-bicubic": ["scale"],
  deblur: ["kernel", "fixed-deblur"],
  cs: ["ratio", "cs-seed"],
  "cs-block": ["ratio", "cs-seed"],
};

/** The task from --task and its own flags (the task table says which it needs). */
function _task(v: ParsedArgs["values"], note: (m: string) => void): DdnmTask {
  const name = stringFlag(v.task);
  if (!name) throw new UsageError(`--method ddnm needs --task (${DDNM_TASKS.join(", ")})`);
  if (!(DDNM_TASKS as readonly string[]).includes(name)) {
    const hint = closest(name, DDNM_TASKS);
    throw new UsageError(
      `--task must be one of ${DDNM_TASKS.join(", ")}, got '${name}'` +
        (hint ? `; did you mean '${hint}'?` : ""),
    );
  }
  const needs = ddnmTaskSpec(name).needs;
  if (needs && v[needs] === undefined) {
    throw new UsageError(`--task ${name} needs --${needs} (an integer >= 1)`);
  }
  const own = TASK_FLAGS[name] ?? [];
  for (const flag of ["scale", "kernel", "fixed-deblur", "ratio", "cs-seed"]) {
    if (v[flag] !== undefined && !own.includes(flag)) {
      note(`--${flag} does not apply to --task ${name}; ignored`);
    }
  }
  const kernel = stringFlag(v.kernel);
  if (kernel !== undefined && !["gauss", "uniform", "aniso"].includes(kernel)) {
    throw new UsageError(`--kernel must be gauss, uniform or aniso, got '${kernel}'`);
  }
  return {
    name: name as DdnmTaskName,
    scale: own.includes("scale")
      ? numberFlag(v, "scale", undefined, { integer: true, min: 1 })
      : undefined,
    kernel: kernel as DdnmTask["kernel"],
    ratio: own.includes("ratio")
      ? numberFlag(v, "ratio", undefined, { integer: true, min: 1 })
      : undefined,
    csPermutation: numberFlag(v, "cs-seed", 0, { integer: true, min: 0 }),
    fixedDeblur: v["fixed-deblur"] === true,
  };
}

/**
 * Check --method ddnm's flags (before any model loads) and return the runner of one image.
 *
 * @param v Parsed flags.
 * @param note Receives notes (flags the task ignores).
 * @returns The runner.
 */
export async function planDdnm(
  v: ParsedArgs["values"],
  note: (message: string) => void,
): Promise<MethodRunner> {
  const task = _task(v, note);
  const maskPath = stringFlag(v.mask);
  if (maskPath !== undefined && task.name !== "inpaint") {
    throw new UsageError(`--mask applies to --task inpaint, not ${task.name}`);
  }
  if (maskPath !== undefined) {
    await Deno.stat(maskPath).catch(() => {
      throw new UsageError(`--mask ${maskPath}: file not found`);
    });
  }
  const variant = choiceFlag(v, "variant", ["svd", "simplified"] as const, "svd");
  const sampler = choiceFlag(v, "sampler", ["ddnm", "hq-demo"] as const, "ddnm");
  if (v["paper-lambda"] === true && sampler !== "hq-demo") {
    throw new UsageError("--paper-lambda applies to --sampler hq-demo");
  }
  const maskShift = choiceFlag(v, "mask-shift", ["fresh", "reference"] as const, "fresh");
  const optional = (flag: string, rule: NumberRule) => numberFlag(v, flag, undefined, rule);
  const settings = {
    task,
    steps: optional("steps", { integer: true, min: 1, max: 1000 }),
    eta: optional("eta", { min: 0, max: 1 }),
    sigmaY: numberFlag(v, "sigma-y", 0, { min: 0, max: 1, unit: SIGMA_Y_UNIT }),
    travelLength: optional("travel-length", { integer: true, min: 1 }),
    travelRepeat: optional("travel-repeat", { integer: true, min: 1 }),
    variant,
    fixedLambdaNoise: v["fixed-lambda-noise"] === true,
    sampler,
    paperLambda: v["paper-lambda"] === true,
    classLabel: optional("class", { integer: true, min: 0 }),
    window: optional("window", { integer: true, min: 8 }),
    maskShift,
    warmStart: optional("warm-start", { above: 0, max: 1, unit: WARM_START_UNIT }),
    samples: optional("samples", { integer: true, min: 1, max: MAX_SAMPLES }),
  };
  return async (ctx) => {
    if ((task.name === "sr" || task.name === "sr-bicubic") && task.scale) {
      checkOutputSize(ctx, task.scale, `--scale ${task.scale}`);
    }
    let mask: Uint8Array | undefined;
    if (task.name === "inpaint") {
      if (maskPath !== undefined) mask = await inputMask(ctx, maskPath);
      else if (ctx.image?.alpha) mask = Uint8Array.from(ctx.image.alpha, (a) => (a >= 0.5 ? 1 : 0));
      else {
        throw new UsageError(
          "--task inpaint needs --mask M.png, or an input whose transparent pixels mark the holes",
        );
      }
    }
    return await restoreDdnm(ctx.observed, {
      ...settings,
      model: await cachedModel(
        ctx,
        "model",
        stringFlag(v.model) ?? DEFAULT_MODEL,
        stringFlag(v["model-spec"]),
      ),
      mask,
      ...runOptions(ctx),
    });
  };
}
