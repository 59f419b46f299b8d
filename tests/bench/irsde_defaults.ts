// Choose the built-in IR-SDE network's default solver by measurement on training ("tuning")
// photos, never on the holdout: denoising PSNR at sigma 25 (and 15, 50) per solver, with seconds
// per 256x256 image. Run: deno run -A tests/bench/irsde_defaults.ts [--model builtin:irsde]
import { parseArgs } from "node:util";
import { restoreIrsde } from "../../pipelines/restore_irsde.ts";
import { loadModel } from "../../model/builtin_models.ts";
import { addNoise, benchPhotos, mean, psnrOf } from "./_photos.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    model: { type: "string", default: "builtin:irsde" },
    sigmas: { type: "string", default: "25" },
  },
});
const model = await loadModel(values.model, { runtime: "native" });
const photos = await benchPhotos("tuning");
console.log(
  `${values.model} (T = ${model.manifest.sde?.T}) on ${photos.map(([n]) => n).join(", ")}`,
);
console.log("| solver | sigma | PSNR (noisy) | s/image |\n|---|---|---|---|");
for (const sigma of values.sigmas.split(",").map(Number)) {
  for (const solver of ["sde", "ode", "posterior"] as const) {
    const scores: number[] = [], noisy: number[] = [];
    const t0 = performance.now();
    for (const [, clean] of photos) {
      const lq = addNoise(clean, sigma / 255);
      const r = await restoreIrsde(lq, { model, solver, seed: 0 });
      scores.push(psnrOf(r.image, clean));
      noisy.push(psnrOf(lq, clean));
    }
    const s = (performance.now() - t0) / 1000 / photos.length;
    console.log(
      `| ${solver} | ${sigma} | ${mean(scores).toFixed(2)} (${mean(noisy).toFixed(2)}) | ${
        s.toFixed(1)
      } |`,
    );
  }
}
await model.release();
