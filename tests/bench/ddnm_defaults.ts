// Choose a built-in model's DDNM defaults by measurement, on training ("tuning") photos, never on
// the holdout the quality bench judges by: PSNR over steps x warm start x samples (rows) and eta
// (columns) for SR x4 (sr-bicubic, Y, 4 px shaved), denoising sigma 25 (DDNM+) and inpainting
// (inside the holes), with seconds per image.
// Run: deno run -A tests/bench/ddnm_defaults.ts --model builtin:unet --steps 10,20,50 --eta 0,0.85,1
//   [--warm-start 1,0.3 --samples 1,4]
import { parseArgs } from "node:util";
import { restoreDdnm } from "../../pipelines/restore_ddnm.ts";
import { loadModel } from "../../model/builtin_models.ts";
import type { Tensor } from "../../lib/tensor.ts";
import {
  addNoise,
  benchMask,
  benchPhotos,
  harmonicFill,
  mean,
  psnrOf,
  srBicubic,
} from "./_photos.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    model: { type: "string", default: "builtin:unet" },
    steps: { type: "string", default: "10,20,50" },
    eta: { type: "string", default: "0,0.5,0.85,1" },
    tasks: { type: "string", default: "sr,denoise,inpaint" },
    set: { type: "string", default: "tuning" },
    runtime: { type: "string", default: "native" },
    travel: { type: "string", default: "1,1" },
    "warm-start": { type: "string", default: "1" },
    samples: { type: "string", default: "1" },
  },
});
const model = await loadModel(values.model, { runtime: values.runtime as "native" });
const photos = await benchPhotos(values.set as "tuning");
const list = (s: string) => s.split(",").map(Number);
const mask = benchMask(256, 256);
const travel = list(values.travel);
const holes = mask.map((v) => 1 - v);

type Case = { observed: Tensor; baseline: Tensor; score: (out: Tensor) => number };
const cases = (task: string): Case[] =>
  photos.map(([, clean]) => {
    if (task === "sr") {
      const { lr, bicubic } = srBicubic(clean);
      return {
        observed: lr,
        baseline: bicubic,
        score: (o) => psnrOf(o, clean, { y: true, shave: 4 }),
      };
    }
    if (task === "denoise") {
      const noisy = addNoise(clean, 25 / 255);
      return { observed: noisy, baseline: noisy, score: (o) => psnrOf(o, clean) };
    }
    return {
      observed: clean,
      baseline: harmonicFill(clean, mask),
      score: (o) => psnrOf(o, clean, { where: holes }),
    };
  });
const taskOf = (task: string) =>
  task === "sr"
    ? { name: "sr-bicubic" as const, scale: 4 }
    : task === "denoise"
    ? { name: "denoise" as const }
    : { name: "inpaint" as const };

console.log(
  `${values.model}, travel ${travel.join("/")}, on ${
    photos.map(([n]) => n).join(", ")
  } (${values.set})`,
);
for (const task of values.tasks.split(",")) {
  const baseline = mean(cases(task).map((c) => c.score(c.baseline)));
  const name = { sr: "bicubic", denoise: "noisy input", inpaint: "harmonic fill" }[task];
  console.log(`\n${task}: mean PSNR (s per image); ${name} ${baseline.toFixed(2)}`);
  console.log(`| steps, warm start, samples \\ eta | ${values.eta.split(",").join(" | ")} |`);
  const rows = list(values.steps).flatMap((steps) =>
    list(values["warm-start"]).flatMap((warmStart) =>
      list(values.samples).map((samples) => ({ steps, warmStart, samples }))
    )
  );
  for (const { steps, warmStart, samples } of rows) {
    const cells: string[] = [];
    for (const eta of list(values.eta)) {
      const scores: number[] = [];
      const t0 = performance.now();
      for (const c of cases(task)) {
        const r = await restoreDdnm(c.observed, {
          task: taskOf(task),
          model,
          steps,
          eta,
          seed: 0,
          sigmaY: task === "denoise" ? 25 / 255 : undefined,
          mask: task === "inpaint" ? mask : undefined,
          travelLength: travel[0],
          travelRepeat: travel[1],
          warmStart,
          samples,
        });
        scores.push(c.score(r.image));
      }
      const s = (performance.now() - t0) / 1000 / photos.length;
      cells.push(`${mean(scores).toFixed(2)} (${s.toFixed(1)})`);
    }
    console.log(`| ${steps}, ${warmStart}, ${samples} | ${cells.join(" | ")} |`);
  }
}
model.release();
