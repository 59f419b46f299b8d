import { restoreDdnm } from "../pipelines/restore_ddnm.ts";
import { loadModel } from "../model/builtin_models.ts";
import { imageToTensor, readImage } from "../lib/image.ts";
import { Tensor } from "../lib/tensor.ts";
import { psnr, ssim } from "../lib/metrics.ts";
import { resizeBicubic } from "../lib/resize.ts";
import { buildOperator } from "../operators/ddnm_tasks.ts";
const clean = imageToTensor(await readImage("assets/rocket_256.png"), 3);
const op = buildOperator({ name: "sr-bicubic", scale: 4 }, 3, 256, 256, "svd");
const lr = new Tensor(op.yShape, op.A(clean.map((v) => 2 * v - 1).data).map((v) => (v + 1) / 2));
const bic = resizeBicubic(lr, 256, 256, -0.5);
console.log("bicubic", psnr(bic, clean).toFixed(2), ssim(bic, clean).toFixed(4));
const gmm = await loadModel("builtin:gmm", { runtime: "native" });
const gauss = await loadModel("builtin:gaussian", { runtime: "native" });
for (const [name, model] of [["gmm", gmm], ["gaussian", gauss]] as const) {
  for (const eta of Deno.args.map(Number)) {
    const t0 = performance.now();
    const r = await restoreDdnm(lr, {
      task: { name: "sr-bicubic", scale: 4 },
      model,
      steps: 50,
      eta,
      seed: 0,
    });
    console.log(
      name,
      "eta",
      eta,
      "psnr",
      psnr(r.image, clean).toFixed(2),
      "ssim",
      ssim(r.image, clean).toFixed(4),
      ((performance.now() - t0) / 1000).toFixed(1),
      "s",
    );
  }
}
