// A tiled DiffBIR run (tile 256, stride 128, 10 steps, CFG) with small TS-built stand-in
// networks at 512x512 and 1024x1024, each in its own process so peak RSS is per size.
// Run: deno run -A tests/bench/diffbir_tiled.ts
import { restoreDiffbir } from "../../pipelines/restore_diffbir.ts";
import { Tensor } from "../../lib/tensor.ts";
import { randomValues, writeDiffbirStandIns } from "../_graphs.ts";
import { peakRssMb } from "./_peak_rss.ts";

const size = Deno.env.get("SIZE");
if (!size) {
  for (const s of [512, 1024]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL(import.meta.url).pathname],
      env: { SIZE: String(s) },
      stdout: "piped",
      stderr: "inherit",
    }).output();
    Deno.stdout.writeSync(out.stdout);
  }
} else {
  const n = Number(size);
  const dir = await Deno.makeTempDir();
  const pipeline = await writeDiffbirStandIns(dir);
  const lq = new Tensor([1, 3, n, n], randomValues(3 * n * n, 5).map((v) => 0.5 + 0.3 * v));
  const ctx = { data: randomValues(8, 1), dims: [1, 8] };
  const t0 = performance.now();
  const r = await restoreDiffbir(lq, {
    model: pipeline,
    steps: 10,
    cfg: 4,
    context: ctx,
    negativeContext: { data: randomValues(8, 2), dims: [1, 8] },
    tile: { size: 256, stride: 128 },
    runtime: "native",
  });
  console.log(
    `DiffBIR tiled ${n}x${n} (tile 256/128, 10 steps, CFG): ${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s, ${r.calls} denoiser calls, peak RSS ${peakRssMb().toFixed(0)} MB`,
  );
  await Deno.remove(dir, { recursive: true });
}
