// Quality of the built-in priors on photos the fit never saw (rocket; the gray camera, moon and
// coins photos were left out of the colour fit): DDNM SR x4 (bicubic operator, 50 steps) against
// bicubic upscaling, PSNR/SSIM; η; time per runtime. Writes assets/readme/comparison_sr4.png.
// Run: deno run -A tests/bench/prior_quality.ts
import { restoreDdnm } from "../../pipelines/restore_ddnm.ts";
import { loadModel } from "../../model/builtin_models.ts";
import { imageToTensor, readImage, tensorToPng } from "../../lib/image.ts";
import { Tensor } from "../../lib/tensor.ts";
import { psnr, ssim } from "../../lib/metrics.ts";
import { resizeBicubic } from "../../lib/resize.ts";
import { sideBySide } from "../../lib/sheet.ts";
import { buildOperator } from "../../operators/ddnm_tasks.ts";

const root = new URL("../../assets/", import.meta.url).pathname;
async function crop256(path: string): Promise<Tensor> {
  const t = imageToTensor(await readImage(path), 3);
  const y0 = Math.floor((t.h - 256) / 2), x0 = Math.floor((t.w - 256) / 2);
  const out = Tensor.zeros([1, 3, 256, 256]);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < 256; i++) {
      for (let j = 0; j < 256; j++) {
        out.data[(c * 256 + i) * 256 + j] = t.data[(c * t.h + y0 + i) * t.w + x0 + j];
      }
    }
  }
  return out;
}
const photos: [string, Tensor][] = [
  ["rocket", await crop256(`${root}rocket_256.png`)],
  ["camera", await crop256(`${root}train/camera.png`)],
  ["moon", await crop256(`${root}train/moon.png`)],
  ["coins", await crop256(`${root}train/coins.png`)],
];
const op = buildOperator({ name: "sr-bicubic", scale: 4 }, 3, 256, 256, "svd");
const models = {
  gaussian: await loadModel("builtin:gaussian", { runtime: "native" }),
  gmm: await loadModel("builtin:gmm", { runtime: "native" }),
};
console.log("| photo | bicubic | Gaussian prior | GMM prior |\n|---|---|---|---|");
let sheet: Tensor | null = null;
for (const [name, clean] of photos) {
  const lr = new Tensor(op.yShape, op.A(clean.map((v) => 2 * v - 1).data).map((v) => (v + 1) / 2));
  const bic = resizeBicubic(lr, 256, 256, -0.5);
  const cells = [`${psnr(bic, clean).toFixed(2)} / ${ssim(bic, clean).toFixed(3)}`];
  const outs: Tensor[] = [];
  for (const model of [models.gaussian, models.gmm]) {
    const r = await restoreDdnm(lr, {
      task: { name: "sr-bicubic", scale: 4 },
      model,
      steps: 50,
      eta: 1,
      seed: 0,
    });
    outs.push(r.image);
    cells.push(`${psnr(r.image, clean).toFixed(2)} / ${ssim(r.image, clean).toFixed(3)}`);
  }
  console.log(`| ${name} | ${cells.join(" | ")} |`);
  if (name === "rocket") {
    sheet = sideBySide(
      [bic, outs[0], outs[1], clean].map((t) => t.map((v) => Math.min(1, Math.max(0, v)))),
      256,
    );
  }
}
await Deno.writeFile(`${root}readme/comparison_sr4.png`, tensorToPng(sheet!));
console.log("\nη on rocket (GMM prior, 50 steps): PSNR / SSIM");
const [, rocket] = photos[0];
const lr = new Tensor(op.yShape, op.A(rocket.map((v) => 2 * v - 1).data).map((v) => (v + 1) / 2));
for (const eta of [0.5, 0.85, 1.0]) {
  const r = await restoreDdnm(lr, {
    task: { name: "sr-bicubic", scale: 4 },
    model: models.gmm,
    steps: 50,
    eta,
    seed: 0,
  });
  console.log(
    `η ${eta}: ${psnr(r.image, rocket).toFixed(2)} / ${ssim(r.image, rocket).toFixed(3)}`,
  );
}
console.log("\ntime per 256x256 DDNM SR x4 (bicubic operator), 50 steps, GMM prior:");
for (const runtime of ["native", "wasm"] as const) {
  const model = await loadModel("builtin:gmm", { runtime });
  const t0 = performance.now();
  await restoreDdnm(lr, { task: { name: "sr-bicubic", scale: 4 }, model, steps: 50, seed: 0 });
  console.log(`${runtime}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
