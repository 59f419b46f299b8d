// Every DDNM task of the task table, end to end through the command line: `degrade` makes the
// observation, `restore` inverts it, and the result is consistent with it (A x = A A⁺ y, the
// identity DDNM's final projection guarantees at σ_y = 0).
import assert from "node:assert/strict";
import { encodePng } from "../lib/png.ts";
import { decodeNpy } from "../lib/npy.ts";
import { imageToTensor, readImage } from "../lib/image.ts";
import { Tensor } from "../lib/tensor.ts";
import {
  buildOperator,
  DDNM_TASKS,
  type DdnmTask,
  ddnmTaskSpec,
  observationFor,
} from "../operators/ddnm_tasks.ts";
import { errorLines, runCli } from "./_cli.ts";

const N = 32; // a multiple of 32 (cs-block) whose square is a power of two (cs)
const dir = await Deno.makeTempDir();
const clean = new Float32Array(3 * N * N);
for (let c = 0; c < 3; c++) {
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      clean[(c * N + i) * N + j] = 0.5 + 0.35 * Math.sin((i + 2 * c) / 5) * Math.cos(j / 7);
    }
  }
}
await Deno.writeFile(`${dir}/clean.png`, encodePng(clean, N, N, 3));
const holes = new Float32Array(N * N).map((_, p) => ((p % N) > 10 && (p % N) < 20 ? 0 : 1));
await Deno.writeFile(`${dir}/mask.png`, encodePng(holes, N, N, 1));

/** The flags of each task's parameters (the same for degrade and restore). */
function taskFlags(task: DdnmTask): string[] {
  const flags = ["--task", task.name];
  if (task.scale) flags.push("--scale", String(task.scale));
  if (task.ratio) flags.push("--ratio", String(task.ratio));
  if (task.name === "inpaint") flags.push("--mask", "mask.png");
  return flags;
}

const example: Record<string, DdnmTask> = {
  sr: { name: "sr", scale: 2 },
  "sr-bicubic": { name: "sr-bicubic", scale: 2 },
  cs: { name: "cs", ratio: 4 },
  "cs-block": { name: "cs-block", ratio: 4 },
};

Deno.test("every task in the table: degrade, then restore, consistent with the observation", async () => {
  for (const name of DDNM_TASKS) {
    const task = example[name] ?? { name };
    const measured = ddnmTaskSpec(name).measured;
    const lq = `lq_${name}.${measured ? "npy" : "png"}`;
    const d = await runCli(["degrade", "clean.png", "-o", lq, ...taskFlags(task)], dir);
    assert.equal(d.code, 0, `degrade ${name}: ${d.stderr}`);
    const out = `out_${name}.npy`;
    const r = await runCli(
      [
        "restore",
        lq,
        "-o",
        out,
        "--method",
        "ddnm",
        "--steps",
        "10",
        "--quiet",
        ...taskFlags(task),
      ],
      dir,
    );
    assert.equal(r.code, 0, `restore ${name}: ${r.stderr}`);
    assert.deepEqual(errorLines(r.stderr), [], `restore ${name} is quiet`);
    const x = decodeNpy(await Deno.readFile(`${dir}/${out}`));
    assert.deepEqual(x.shape, [1, 3, N, N], `${name}: output shape`);
    // the y restore used, from the file degrade wrote
    const observed = measured
      ? (() => {
        const a = decodeNpy(Deno.readFileSync(`${dir}/${lq}`));
        return new Tensor([1, a.shape[1], a.shape[2], a.shape[3]], a.data);
      })()
      : imageToTensor(await readImage(`${dir}/${lq}`));
    const mask = name === "inpaint" ? Uint8Array.from(holes) : undefined;
    const op = buildOperator(task, 3, N, N, "svd", mask);
    const y = observationFor(op, observed, [-1, 1]);
    const ax = op.A(x.data.map((v) => 2 * v - 1));
    const aay = op.A(op.pinv(y));
    let worst = 0;
    for (let i = 0; i < ax.length; i++) worst = Math.max(worst, Math.abs(ax[i] - aay[i]));
    assert.ok(worst < 2e-3, `${name}: max |A x − A A⁺ y| = ${worst}`);
    // where y pins the image down (not colour, not a quarter of the coefficients), it is near the clean one
    if (["colorize", "cs", "cs-block"].includes(name)) continue;
    let err = 0;
    for (let i = 0; i < clean.length; i++) err += (x.data[i] - clean[i]) ** 2;
    const rmse = Math.sqrt(err / clean.length);
    assert.ok(rmse < 0.1, `${name}: RMSE to the clean image ${rmse}`);
  }
});

Deno.test("cs-block: measurements of the wrong ratio are refused with one line", async () => {
  const d = await runCli([
    "degrade",
    "clean.png",
    "-o",
    "m8.npy",
    "--task",
    "cs-block",
    "--ratio",
    "8",
  ], dir);
  assert.equal(d.code, 0, d.stderr);
  const r = await runCli(
    [
      "restore",
      "m8.npy",
      "-o",
      "bad.npy",
      "--method",
      "ddnm",
      "--task",
      "cs-block",
      "--ratio",
      "4",
    ],
    dir,
  );
  assert.equal(r.code, 1);
  assert.deepEqual(errorLines(r.stderr), [
    "error: cs-block: the measurements have 128 values per block, ratio 4 gives 256",
  ]);
  const png = await runCli([
    "degrade",
    "clean.png",
    "-o",
    "m.png",
    "--task",
    "cs-block",
    "--ratio",
    "4",
  ], dir);
  assert.match(errorLines(png.stderr)[0], /cs-block measurements are not an image/);
});
