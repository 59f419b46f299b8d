// DDNM SR x4 to 1024x1024 via Mask-Shift (256x256 windows) with the built-in prior; prints
// time and peak RSS. Run: deno run -A tests/bench/ddnm_maskshift.ts  (STEPS=20, OUT=1024)
import { restoreDdnm } from "../../pipelines/restore_ddnm.ts";
import { imageToTensor, readImage } from "../../lib/image.ts";
import { resizeNearest } from "../../lib/sheet.ts";
import { peakRssMb } from "./_peak_rss.ts";

const steps = Number(Deno.env.get("STEPS") ?? 20);
const outSize = Number(Deno.env.get("OUT") ?? 1024);
const photo = imageToTensor(
  await readImage(new URL("../../assets/coffee_512.png", import.meta.url).pathname),
  3,
);
const lr = resizeNearest(photo, outSize / 4, outSize / 4);
const t0 = performance.now();
let windows = 0;
const r = await restoreDdnm(lr, {
  task: { name: "sr", scale: 4 },
  steps,
  window: 256,
  onProgress: (p) => (windows = p.windows),
});
console.log(
  `DDNM SR x4 ${lr.w}x${lr.h} -> ${r.image.w}x${r.image.h}, Mask-Shift ${windows} windows of 256x256, ${steps} steps, ` +
    `${r.calls} network calls (${r.runtime}): ${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s, peak RSS ${peakRssMb().toFixed(0)} MB`,
);
