// The speed case of ../shared/bench (DDNM SR x4, 20 steps, an 8M-parameter guided-diffusion
// UNet at 128x128): the whole `deno run -A cli.ts restore ...` process, default settings, run
// RUNS times (default 5). Prints each wall time and peak RSS, the median, the ratio to PyTorch
// eager's 3.7 s, and checks every output against the reference (1e-3 / 1e-4).
// Run: deno run -A tests/bench/speed_case.ts   (skips, saying so, without ../shared/bench)
import { decodeNpy } from "../../lib/npy.ts";

const CASE = new URL("../../../shared/bench/ddnm_unet128_sr4/", import.meta.url).pathname;
const CLI = new URL("../../cli.ts", import.meta.url).pathname;
const PYTORCH_SECONDS = 3.7;
if (!(await Deno.stat(`${CASE}case.json`).then(() => true, () => false))) {
  console.log(
    `speed case skipped: ${CASE} is not here (it lives in the workplace's shared/bench, not in a clone)`,
  );
  Deno.exit(0);
}
const spec = JSON.parse(await Deno.readTextFile(`${CASE}case.json`));
const runs = Number(Deno.env.get("RUNS") ?? 5);
const out = await Deno.makeTempFile({ suffix: ".npy" });
const ref = decodeNpy(await Deno.readFile(`${CASE}ref.npy`)).data;
const haveTime = await Deno.stat("/usr/bin/time").then(() => true, () => false);
const walls: number[] = [];
for (let r = 0; r < runs; r++) {
  const args = ["run", "-A", CLI, "restore", spec.lq, "-o", out, ...spec.cli, "--quiet"];
  const t0 = performance.now();
  const res = await new Deno.Command(haveTime ? "/usr/bin/time" : Deno.execPath(), {
    args: haveTime ? ["-f", "peak-rss-kb %M", Deno.execPath(), ...args] : args,
    cwd: CASE,
    stdout: "null",
    stderr: "piped",
  }).output();
  const wall = (performance.now() - t0) / 1000;
  const err = new TextDecoder().decode(res.stderr);
  if (res.code !== 0) throw new Error(`run failed: ${err}`);
  const got = decodeNpy(await Deno.readFile(out)).data;
  let max = 0, sum = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(got[i] - ref[i]);
    max = Math.max(max, d);
    sum += d;
  }
  const [tmax, tmean] = spec.tol ?? [1e-3, 1e-4];
  const ok = max <= tmax && sum / ref.length <= tmean;
  const rss = /peak-rss-kb (\d+)/.exec(err)?.[1];
  walls.push(wall);
  console.log(
    `run ${r + 1}: ${wall.toFixed(2)} s wall${
      rss ? `, peak RSS ${(Number(rss) / 1024).toFixed(0)} MB` : ""
    }, ` +
      `output max|d| ${max.toExponential(1)} mean|d| ${(sum / ref.length).toExponential(1)} ${
        ok ? "(matches)" : "(MISMATCH)"
      }`,
  );
  if (!ok) Deno.exit(1);
}
walls.sort((a, b) => a - b);
const median = walls[Math.floor(walls.length / 2)];
console.log(
  `median ${median.toFixed(2)} s over ${runs} runs = ${
    (median / PYTORCH_SECONDS).toFixed(2)
  }x PyTorch eager's ${PYTORCH_SECONDS} s (target <= 0.50x)`,
);
await Deno.remove(out);
