// Time and peak RSS of the built-in GMM prior on one 256x256 DDNM SR x4 run (bicubic operator,
// 50 steps), per runtime, each in its own process. Run: deno run -A tests/bench/prior_memory.ts
import { restoreDdnm } from "../../pipelines/restore_ddnm.ts";
import { imageToTensor, readImage } from "../../lib/image.ts";
import { resizeNearest } from "../../lib/sheet.ts";
import { peakRssMb } from "./_peak_rss.ts";

const runtime = Deno.args[0] as "native" | "wasm" | undefined;
if (!runtime) {
  for (const r of ["native", "wasm"]) {
    await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL(import.meta.url).pathname, r],
      stdout: "inherit",
      stderr: "inherit",
    }).output();
  }
} else {
  const photo = imageToTensor(
    await readImage(new URL("../../assets/rocket_256.png", import.meta.url).pathname),
    3,
  );
  const lr = resizeNearest(photo, 64, 64);
  const t0 = performance.now();
  await restoreDdnm(lr, {
    task: { name: "sr", scale: 4 },
    steps: 50,
    model: "builtin:gmm",
    runtime,
  });
  console.log(
    `builtin:gmm, 256x256 SR x4 (bicubic operator), 50 steps, ${runtime}: ${
      ((performance.now() - t0) / 1000).toFixed(2)
    } s, peak RSS ${peakRssMb().toFixed(0)} MB`,
  );
}
