/**
 * `demo`: the main job of the README. Degrades a bundled photo three ways (x4 bicubic
 * downscaling, a hole of 1/8 of the image, noise of std 0.1), restores each with DDNM (DDNM+
 * for the noise) and the built-in model, and writes the outputs and labelled sheets (input, a
 * baseline, the result, the original, with PSNR under each) to `demo-out/`; then IR-SDE with
 * its built-in network on the same noisy photo, in a sheet beside DDNM+'s result.
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
import { restoreIrsde } from "../pipelines/restore_irsde.ts";
import { labelledSheet, resizeNearest } from "../lib/sheet.ts";
import { resizeBicubic } from "../lib/resize.ts";
import { harmonicFill } from "../lib/harmonic_fill.ts";
import { buildOperator, type DdnmTask } from "../operators/ddnm_tasks.ts";
import { psnr } from "../lib/metrics.ts";

const _HELP = `usage: deno run -A cli.ts demo [--out demo-out] [--steps N] [--image photo.png]
       [--model builtin:unet] [--seed 0]

Restores a bundled photo three ways with DDNM and writes the results and comparison sheets.`;

/** Known pixels with a centred hole of 1/8 of the image, for inpainting. */
function _centredHole(w: number, h: number): Uint8Array {
  const mask = new Uint8Array(w * h).fill(1);
  const hw = Math.round(w / (2 * Math.SQRT2)), hh = Math.round(h / (2 * Math.SQRT2));
  for (let i = Math.floor((h - hh) / 2); i < Math.floor((h + hh) / 2); i++) {
    mask.fill(0, i * w + Math.floor((w - hw) / 2), i * w + Math.floor((w + hw) / 2));
  }
  return mask;
}

/** IR-SDE on the denoising job's noise with its built-in network, beside DDNM+'s result. */
async function _irsdeSheet(
  clean: Tensor,
  noise: Float32Array,
  denoised: Tensor,
  seed: number,
  out: string,
): Promise<void> {
  const db = (t: Tensor) => `${psnr(t, clean).toFixed(2)} dB`;
  const noisy = clean.map((v, i) => v + 0.1 * noise[i]);
  const irBar = new ProgressBar({ label: "irsde, cpu" });
  const ir = await restoreIrsde(noisy, {
    seed,
    onProgress: (p) => irBar.update(p.step, p.total, "irsde    "),
  });
  irBar.done();
  await writeImageTensor(`${out}/irsde_output.png`, ir.image);
  const sheet = labelledSheet(
    [
      { image: noisy, label: `noisy ${db(noisy)}` },
      { image: denoised, label: `ddnm+ ${db(denoised)}` },
      { image: ir.image, label: `ir-sde ${db(ir.image)}` },
      { image: clean, label: "original" },
    ],
    clean.h,
  );
  await writeFileAtomic(`${out}/irsde_sheet.png`, tensorToPng(sheet));
  console.error(
    `  irsde: PSNR ${psnr(ir.image, clean).toFixed(2)} dB, ${
      ir.seconds.toFixed(1)
    } s -> ${out}/irsde_sheet.png`,
  );
}

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
  // absent: the model's own default (its manifest's defaults.steps)
  const steps = numberFlag(values, "steps", undefined, { integer: true, min: 1, max: 1000 });
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
    `demo: ${imagePath} (${clean.w}x${clean.h}), model ${model.name} (${model.runtime} runtime), ${
      steps ? `${steps} steps` : "the model's per-task defaults (steps, warm start, samples)"
    }`,
  );
  const mask = _centredHole(clean.w, clean.h);
  // what the built-in prior does credibly; colorization is left out: a patch prior gives a
  // global tint, not the scene's colours
  const jobs: {
    name: string;
    task: DdnmTask;
    mask?: Uint8Array;
    sigmaY?: number;
    baseline: [string, (y: Tensor) => Tensor];
  }[] = [
    // bicubic downscaling is what real low-resolution photos are
    {
      name: "sr4",
      task: { name: "sr-bicubic", scale: 4 },
      baseline: ["bicubic", (y) => resizeBicubic(y, clean.h, clean.w, -0.5)],
    },
    {
      name: "inpaint",
      task: { name: "inpaint" },
      mask,
      baseline: ["harmonic fill", (y) => harmonicFill(y, mask)],
    },
    { name: "denoise", task: { name: "denoise" }, sigmaY: 0.1, baseline: ["noisy", (y) => y] },
  ];
  // the noise of the denoising job, drawn from another stream than the samplers'
  const denoiseNoise = new Float32Array(3 * clean.h * clean.w);
  new GaussianNoise(seed, 1).fill(denoiseNoise);
  let denoised: Tensor | undefined;
  // sheet labels; the PNG encoder clips values outside [0,1]
  const db = (t: Tensor) => `${psnr(t, clean).toFixed(2)} dB`;
  for (const job of jobs) {
    // the observation: A applied to the clean photo in [-1,1], as `degrade` makes it
    const op = buildOperator(job.task, 3, clean.h, clean.w, "svd", job.mask);
    const y = op.A(clean.map((v) => 2 * v - 1).data).map((v) => (v + 1) / 2);
    // noise of std σ_y in [0,1] units
    if (job.sigmaY) y.forEach((v, i) => (y[i] = v + job.sigmaY! * denoiseNoise[i]));
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
    if (job.name === "denoise") denoised = result.image;
    await writeFileAtomic(`${out}/${job.name}_input.png`, tensorToPng(observed));
    await writeImageTensor(`${out}/${job.name}_output.png`, result.image);
    const [baseName, baseOf] = job.baseline;
    const base = baseOf(observed);
    const sheet = labelledSheet(
      [
        { image: resizeNearest(observed, clean.h, clean.w), label: "input" },
        { image: base, label: `${baseName} ${db(base)}` },
        { image: result.image, label: `${model.name.replace("builtin:", "")} ${db(result.image)}` },
        { image: clean, label: "original" },
      ],
      clean.h,
    );
    await writeFileAtomic(`${out}/${job.name}_sheet.png`, tensorToPng(sheet));
    console.error(
      `  ${job.name}: PSNR ${psnr(result.image, clean).toFixed(2)} dB, ${
        result.seconds.toFixed(1)
      } s -> ${out}/${job.name}_sheet.png`,
    );
  }
  await model.release();
  await _irsdeSheet(clean, denoiseNoise, denoised!, seed, out);
  console.error(`demo: wrote ${jobs.length * 3 + 2} files to ${out}/`);
  return 0;
}

/** The `demo` command's entry point. */
export const run: (args: string[]) => Promise<number> = _demo;

/** The library options this command's flags set, to name the flag in an error about one. */
export const OPTION_FLAGS: Readonly<Record<string, string>> = {
  model: "--model",
  steps: "--steps",
  seed: "--seed",
};
