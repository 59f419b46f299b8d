/**
 * `demo`: the main job of the README. Degrades a bundled photo three ways (x4 bicubic
 * downscaling, a hole of 1/8 of the image, noise of std 0.1), restores each with DDNM (DDNM+
 * for the noise) and the built-in model, and writes the outputs and side-by-side sheets (input,
 * output, original) to `demo-out/`.
 *
 * @module
 */

import { numberFlag, parseFlags } from "./args.ts";
import { imageToTensor, readImage, tensorToPng, writeImageTensor } from "../lib/image.ts";
import { writeFileAtomic } from "../lib/atomic_write.ts";
import { GaussianNoise } from "../lib/noise.ts";
import { Tensor } from "../lib/tensor.ts";
import { ProgressBar } from "../lib/progress_bar.ts";
import { DEFAULT_MODEL, loadModel } from "../model/builtin_models.ts";
import { restoreDdnm } from "../pipelines/restore_ddnm.ts";
import { sideBySide } from "../lib/sheet.ts";
import { buildOperator, type DdnmTask } from "../operators/ddnm_tasks.ts";
import { psnr } from "../lib/metrics.ts";

const _HELP = `usage: deno run -A cli.ts demo [--out demo-out] [--steps 50] [--image photo.png]
       [--model builtin:gmm]

Restores a bundled photo three ways with DDNM and writes the results and comparison sheets.`;

async function _demo(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    help: { type: "boolean", short: "h" },
    out: { type: "string" },
    steps: { type: "string" },
    image: { type: "string" },
    model: { type: "string" },
    seed: { type: "string" },
  }, "demo");
  if (values.help) {
    console.log(_HELP);
    return 0;
  }
  const out = typeof values.out === "string" ? values.out : "demo-out";
  const steps = numberFlag(values, "steps", 50, { integer: true, min: 1, max: 1000 });
  const seed = numberFlag(values, "seed", 0, { integer: true, min: 0 });
  const imagePath = typeof values.image === "string"
    ? values.image
    : new URL("../assets/rocket_256.png", import.meta.url).pathname;
  await Deno.mkdir(out, { recursive: true });
  const clean = imageToTensor(await readImage(imagePath), 3);
  const model = await loadModel(
    typeof values.model === "string" ? values.model : DEFAULT_MODEL,
    {
      onNote: (m) => console.error(`note: ${m}`),
    },
  );
  console.error(
    `demo: ${imagePath} (${clean.w}x${clean.h}), model ${model.name} (${model.runtime} runtime), ${steps} steps`,
  );
  // a centred hole of 1/8 of the image for inpainting
  const mask = new Uint8Array(clean.w * clean.h).fill(1);
  const hw = Math.round(clean.w / (2 * Math.SQRT2)), hh = Math.round(clean.h / (2 * Math.SQRT2));
  for (let i = Math.floor((clean.h - hh) / 2); i < Math.floor((clean.h + hh) / 2); i++) {
    mask.fill(
      0,
      i * clean.w + Math.floor((clean.w - hw) / 2),
      i * clean.w + Math.floor((clean.w + hw) / 2),
    );
  }
  // what the built-in prior does credibly; colorization is left out: a patch prior gives a
  // global tint, not the scene's colours
  const jobs: { name: string; task: DdnmTask; mask?: Uint8Array; sigmaY?: number }[] = [
    { name: "sr4", task: { name: "sr-bicubic", scale: 4 } }, // what real low-resolution photos are
    { name: "inpaint", task: { name: "inpaint" }, mask },
    { name: "denoise", task: { name: "denoise" }, sigmaY: 0.1 },
  ];
  for (const job of jobs) {
    // the observation: A applied to the clean photo in [-1,1], as `degrade` makes it
    const op = buildOperator(job.task, 3, clean.h, clean.w, "svd", job.mask);
    const y = op.A(clean.map((v) => 2 * v - 1).data).map((v) => (v + 1) / 2);
    if (job.sigmaY) {
      // noise of std σ_y in [0,1] units, drawn from another stream than the sampler's
      const z = new Float32Array(y.length);
      new GaussianNoise(seed, 1).fill(z);
      y.forEach((v, i) => (y[i] = v + job.sigmaY! * z[i]));
    }
    const observed = new Tensor(op.yShape, y);
    const bar = new ProgressBar({ label: `${job.name}, cpu, ${model.runtime}` });
    const result = await restoreDdnm(observed, {
      task: job.task,
      model,
      mask: job.mask,
      sigmaY: job.sigmaY,
      steps,
      seed,
      onProgress: (p) => bar.update(p.step, p.total, `${job.name.padEnd(9)}`),
    });
    bar.done();
    await writeFileAtomic(`${out}/${job.name}_input.png`, tensorToPng(observed));
    await writeImageTensor(`${out}/${job.name}_output.png`, result.image);
    await writeFileAtomic(
      `${out}/${job.name}_sheet.png`,
      tensorToPng(sideBySide([observed, result.image, clean], clean.h)),
    );
    console.error(
      `  ${job.name}: PSNR ${psnr(result.image, clean).toFixed(2)} dB, ${
        result.seconds.toFixed(1)
      } s -> ${out}/${job.name}_sheet.png`,
    );
  }
  await model.release();
  console.error(`demo: wrote ${jobs.length * 3} files to ${out}/`);
  return 0;
}

/** The `demo` command's entry point. */
export const run: (args: string[]) => Promise<number> = _demo;
