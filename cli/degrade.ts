/**
 * `degrade`: apply a task's operator A (and optional noise) to a clean image, making the
 * observation that `restore` inverts (docs/cli.md, "degrade").
 *
 * @module
 */

import { numberFlag, parseFlags, UsageError } from "./args.ts";
import { UserError } from "../lib/errors.ts";
import { DEFAULT_MAX_PIXELS, imageToTensor, readImage, tensorToPng } from "../lib/image.ts";
import { encodeNpy } from "../lib/npy.ts";
import { GaussianNoise } from "../lib/noise.ts";
import { Tensor } from "../lib/tensor.ts";
import { writeFileAtomic } from "../lib/atomic_write.ts";
import {
  buildOperator,
  type DdnmTask,
  ddnmTaskHelp,
  type DdnmTaskName,
  ddnmTaskSpec,
  validateTask,
} from "../operators/ddnm_tasks.ts";
import { readMask } from "../lib/mask.ts";

const _HELP =
  `usage: deno run -A cli.ts degrade <clean image> -o <lq.png|lq.npy> --task <task> [options]

Applies the operator A of a DDNM task (in [-1,1] model units, as the reference does) and
optional Gaussian noise, so that 'restore --method ddnm' with the same task inverts it.

  --task T, one of:
${ddnmTaskHelp("    ")}
  --scale K (sr)  --mask M.png (inpaint; white = known)  --kernel gauss|uniform|aniso (deblur)
  --ratio R (cs, cs-block: writes the measurements as .npy)  --cs-seed N  --fixed-deblur
  --sigma-y S     add noise of std S (in [0,1] units)
  --seed N        seed of that noise (default 0)

examples:
  deno run -A cli.ts degrade photo.png -o small.png --task sr --scale 4
  deno run -A cli.ts degrade photo.png -o gray.png --task colorize
  deno run -A cli.ts degrade photo.png -o noisy.png --task denoise --sigma-y 0.1 --seed 3`;

async function _degrade(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    help: { type: "boolean", short: "h" },
    output: { type: "string", short: "o" },
    task: { type: "string" },
    scale: { type: "string" },
    mask: { type: "string" },
    kernel: { type: "string" },
    ratio: { type: "string" },
    "cs-seed": { type: "string" },
    "fixed-deblur": { type: "boolean" },
    "sigma-y": { type: "string" },
    seed: { type: "string" },
    "max-pixels": { type: "string" },
  }, "degrade");
  if (values.help) {
    console.log(_HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(`degrade takes one clean image, got ${positionals.length}`);
  }
  const output = typeof values.output === "string" ? values.output : undefined;
  if (!output) throw new UsageError("degrade needs -o <lq.png|lq.npy>");
  if (!/\.(png|npy)$/i.test(output)) {
    throw new UsageError(`${output}: output must end in .png or .npy`);
  }
  if (typeof values.task !== "string") throw new UsageError("degrade needs --task");
  const task: DdnmTask = {
    name: values.task as DdnmTaskName,
    scale: numberFlag(values, "scale", undefined, { integer: true, min: 1 }),
    kernel: values.kernel as DdnmTask["kernel"],
    ratio: numberFlag(values, "ratio", undefined, { integer: true, min: 1 }),
    csPermutation: numberFlag(values, "cs-seed", 0, { integer: true, min: 0 }),
    fixedDeblur: values["fixed-deblur"] === true,
  };
  validateTask(task, "svd");
  const sigma = numberFlag(values, "sigma-y", 0, { min: 0 });
  const seed = numberFlag(values, "seed", 0, { integer: true, min: 0 });
  const maxPixels = numberFlag(values, "max-pixels", DEFAULT_MAX_PIXELS, { integer: true, min: 1 });
  const measured = ddnmTaskSpec(task.name).measured;
  if (measured && !output.toLowerCase().endsWith(".npy")) {
    throw new UsageError(`${task.name} measurements are not an image: write them to a .npy file`);
  }
  const clean = imageToTensor(await readImage(positionals[0], { maxPixels }), 3);
  let mask: Uint8Array | undefined;
  if (task.name === "inpaint") {
    if (typeof values.mask !== "string") {
      throw new UsageError("degrade --task inpaint needs --mask M.png");
    }
    const m = await readMask(values.mask, maxPixels);
    if (m.width !== clean.w || m.height !== clean.h) {
      throw new UserError(
        `mask ${values.mask} is ${m.width}x${m.height}, the image is ${clean.w}x${clean.h}`,
      );
    }
    mask = m.mask;
  }
  const op = buildOperator(task, 3, clean.h, clean.w, "svd", mask);
  const y = op.A(clean.map((v) => 2 * v - 1).data);
  if (sigma > 0) {
    const z = new Float32Array(y.length);
    new GaussianNoise(seed).fill(z);
    for (let i = 0; i < y.length; i++) y[i] += 2 * sigma * z[i];
  }
  const [, c, h, w] = op.yShape;
  const lq = measured
    ? new Tensor(op.yShape, y)
    : new Tensor([1, c, h, w], y.map((v) => (v + 1) / 2));
  if (output.toLowerCase().endsWith(".npy")) {
    await writeFileAtomic(output, encodeNpy(lq.shape, lq.data));
  } else await writeFileAtomic(output, tensorToPng(lq));
  console.error(`wrote ${output} (${task.name}, ${w}x${h}${sigma > 0 ? `, noise ${sigma}` : ""})`);
  return 0;
}

/** The `degrade` command's entry point. */
export const run: (args: string[]) => Promise<number> = _degrade;

/** The library options this command's flags set, to name the flag in an error about one. */
export const OPTION_FLAGS: Readonly<Record<string, string>> = {
  "task.name": "--task",
  "task.scale": "--scale",
  "task.ratio": "--ratio",
  "task.kernel": "--kernel",
  mask: "--mask",
  sigmaY: "--sigma-y",
  seed: "--seed",
  maxPixels: "--max-pixels",
};
