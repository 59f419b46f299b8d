import assert from "node:assert/strict";
import { encodeNpy } from "../lib/npy.ts";
import { encodePng } from "../lib/png.ts";
import { decodeNpy } from "../lib/npy.ts";
import { errorLines, runCli } from "./_cli.ts";
import { nanGraph } from "./_graphs.ts";

const dir = await Deno.makeTempDir();
// a network that returns NaN: if any check below ran after a network call, the error would be about NaN
await Deno.writeFile(`${dir}/nan.onnx`, nanGraph());
await Deno.writeTextFile(
  `${dir}/nan.json`,
  JSON.stringify({ kind: "ddpm", inputs: { x: "x", t: "t" }, output: "eps" }),
);
await Deno.writeFile(
  `${dir}/img.png`,
  encodePng(new Float32Array(3 * 32 * 32).fill(0.5), 32, 32, 3),
);
await Deno.writeFile(`${dir}/lr.png`, encodePng(new Float32Array(3 * 8 * 8).fill(0.5), 8, 8, 3));
await Deno.writeFile(`${dir}/mask.png`, encodePng(new Float32Array(16 * 16).fill(1), 16, 16, 1));
await Deno.writeFile(`${dir}/short.npy`, encodeNpy([10], new Float32Array(10)));

const HALF = 128 / 255; // 0.5 as an 8-bit PNG stores it

async function expectError(args: string[], pattern: RegExp, output?: string, nanAllowed = false) {
  const r = await runCli(args, dir);
  const lines = errorLines(r.stderr);
  assert.notEqual(r.code, 0, `exit code for ${args.join(" ")}`);
  assert.equal(lines.length, 1, `one line for ${args.join(" ")}: ${r.stderr}`);
  assert.match(lines[0], /^error: /);
  assert.match(lines[0], pattern);
  if (!nanAllowed) assert.ok(!lines[0].includes("NaN"), "failed after a network call");
  if (output) {
    assert.ok(
      !(await Deno.stat(`${dir}/${output}`).then(() => true, () => false)),
      `no ${output} written`,
    );
  }
}

const ddnm = (
  extra: string[],
) => ["restore", "lr.png", "-o", "out.png", "--method", "ddnm", "--model", "nan.onnx", ...extra];

Deno.test("restore --method ddnm: bad arguments fail before any network call, with one error line", async () => {
  await expectError(
    ddnm(["--task", "sr", "--scale", "4", "--steps", "0"]),
    /--steps must be .*, got 0/,
    "out.png",
  );
  await expectError(
    ddnm(["--task", "sr", "--scale", "4", "--steps", "1001"]),
    /--steps must be .*, got 1001/,
    "out.png",
  );
  await expectError(
    ddnm(["--task", "sr", "--scale", "4", "--eta", "1.5"]),
    /--eta must be .*, got 1\.5/,
    "out.png",
  );
  await expectError(
    ddnm(["--task", "sr", "--scale", "4", "--eta", "-0.1"]),
    /--eta must be .*, got -0\.1/,
    "out.png",
  );
  await expectError(
    ddnm(["--task", "sr", "--scale", "4", "--warm-start", "0"]),
    /--warm-start must be in \(0, 1\] \(the share of the schedule .*, got 0/,
    "out.png",
  );
  await expectError(
    ddnm(["--task", "sr", "--scale", "4", "--warm-start", "-0.5"]),
    /--warm-start must be in \(0, 1\] \(the share of the schedule .*, got -0\.5/,
    "out.png",
  );
  await expectError(
    ddnm(["--task", "sr", "--scale", "4", "--samples", "65"]),
    /--samples must be an integer in \[1, 64\], got 65/,
    "out.png",
  );
  await expectError(
    ddnm(["--task", "sr", "--scale", "4", "--sigma-y", "-0.1"]),
    /--sigma-y must be .*, got -0\.1/,
    "out.png",
  );
  // a mistyped scale is refused before it can exhaust memory
  await expectError(
    ddnm(["--task", "sr", "--scale", "4000"]),
    /--scale 4000 would make a \d+x\d+ output \(\d+ pixels\), above the limit of \d+ \(--max-pixels\)/,
    "out.png",
  );
  await expectError(
    ddnm(["--task", "superres"]),
    /--task must be one of sr, .*, got 'superres'/,
    "out.png",
  );
  await expectError(ddnm(["--task", "sr"]), /--task sr needs --scale/, "out.png");
  await expectError(
    ddnm(["--task", "inpaint", "--mask", "mask.png"]),
    /mask mask\.png is 16x16, the input is 8x8/,
    "out.png",
  );
  await expectError(ddnm(["--task", "inpaint"]), /needs --mask/, "out.png");
  await expectError(
    ddnm(["--task", "sr", "--scale", "4", "--noise", "short.npy"]),
    /noise file short\.npy ran out: the run needs \d+ values, the file has 10/,
    "out.png",
  );
  await expectError(
    ddnm(["--task", "deblur", "--variant", "simplified"]),
    /--variant must be svd for task deblur \(the simplified path has operators for sr, colorize, inpaint, denoise only\), got 'simplified'/,
    "out.png",
  );
  await expectError(
    ddnm(["--task", "sr", "--scale", "4", "--solver", "ode"]),
    /--solver applies to --method irsde, not ddnm/,
    "out.png",
  );
  await expectError(
    ddnm(["--task", "sr", "--scale", "4", "--sampler", "repaint"]),
    /--sampler must be ddnm or hq-demo, got 'repaint'/,
    "out.png",
  );
  await expectError(
    ddnm(["--task", "sr", "--scale", "4", "--paper-lambda"]),
    /--paper-lambda applies to --sampler hq-demo/,
    "out.png",
  );
  await expectError(
    ddnm(["--task", "sr", "--scale", "4", "--etta", "1"]),
    /unknown flag --etta \(did you mean --eta\?\)/,
    "out.png",
  );
  await expectError([
    "restore",
    "lr.png",
    "-o",
    "nodir/out.png",
    "--method",
    "ddnm",
    "--task",
    "denoise",
    "--steps",
    "2",
  ], /-o nodir\/out\.png: the folder nodir does not exist/);
  await expectError(
    ["restore", "none.png", "-o", "out.png", "--method", "ddnm", "--task", "denoise"],
    /none\.png: no such file/,
    "out.png",
  );
  await expectError(
    ["restore", "lr.png", "-o", "out.gif", "--method", "ddnm", "--task", "denoise"],
    /must end in \.png, \.jpg, \.jpeg or \.npy/,
  );
});

Deno.test("the NaN network itself is caught, naming the step", async () => {
  await expectError(
    ddnm(["--task", "denoise", "--steps", "5"]).map((a) => (a === "lr.png" ? "img.png" : a)),
    /nan\.onnx: the network returned NaN or Inf at step 1\/5 \(t=800\)/,
    "out.png",
    true,
  );
});

Deno.test("degrade: operators and argument errors", async () => {
  await expectError(
    ["degrade", "img.png", "-o", "x.png", "--task", "sr", "--scale", "3"],
    /--scale must be a divisor of the image size 32x32, got 3/,
    "x.png",
  );
  await expectError(
    ["degrade", "img.png", "-o", "x.png", "--task", "inpaint"],
    /needs --mask/,
    "x.png",
  );
  await expectError(
    ["degrade", "img.png", "-o", "x.png", "--task", "cs", "--ratio", "4"],
    /write them to a \.npy/,
    "x.png",
  );
  const r = await runCli(
    ["degrade", "img.png", "-o", "lr4.npy", "--task", "sr", "--scale", "4"],
    dir,
  );
  assert.equal(r.code, 0, r.stderr);
  const lr = decodeNpy(await Deno.readFile(`${dir}/lr4.npy`));
  assert.deepEqual(lr.shape, [1, 3, 8, 8]);
  assert.ok(
    lr.data.every((v) => Math.abs(v - HALF) < 1e-6),
    "the mean of a constant image is that constant",
  );
  const noisy = await runCli([
    "degrade",
    "img.png",
    "-o",
    "noisy.npy",
    "--task",
    "denoise",
    "--sigma-y",
    "0.1",
    "--seed",
    "2",
  ], dir);
  assert.equal(noisy.code, 0, noisy.stderr);
  const n = decodeNpy(await Deno.readFile(`${dir}/noisy.npy`)).data;
  const sd = Math.sqrt(n.reduce((s, v) => s + (v - HALF) ** 2, 0) / n.length);
  assert.ok(Math.abs(sd - 0.1) < 0.01, `noise std ${sd}`);
});

Deno.test("restore → degrade round trip: the restored image reproduces the observation", async () => {
  const restoreSr = (out: string) =>
    runCli([
      "restore",
      "lr.png",
      "-o",
      out,
      "--method",
      "ddnm",
      "--task",
      "sr",
      "--scale",
      "4",
      "--steps",
      "10",
      "--seed",
      "3",
      "--quiet",
    ], dir);
  const r = await restoreSr("sr.npy");
  assert.equal(r.code, 0, r.stderr);
  const sr = decodeNpy(await Deno.readFile(`${dir}/sr.npy`));
  assert.deepEqual(sr.shape, [1, 3, 32, 32]);
  // 4x4 block means of the output equal the input to float precision
  for (let c = 0; c < 3; c++) {
    for (let by = 0; by < 8; by++) {
      for (let bx = 0; bx < 8; bx++) {
        let s = 0;
        for (let i = 0; i < 4; i++) {
          for (let j = 0; j < 4; j++) s += sr.data[c * 1024 + (by * 4 + i) * 32 + bx * 4 + j];
        }
        assert.ok(Math.abs(s / 16 - HALF) < 1e-5, `block mean ${s / 16}`);
      }
    }
  }
  const again = await restoreSr("sr2.npy");
  assert.equal(again.code, 0);
  assert.deepEqual(
    await Deno.readFile(`${dir}/sr2.npy`),
    await Deno.readFile(`${dir}/sr.npy`),
    "same seed, same bytes",
  );
});

Deno.test("restore --sampler hq-demo: the RePaint schedule's network calls, a finite image", async () => {
  const r = await runCli([
    "restore",
    "lr.png",
    "-o",
    "hq.npy",
    "--method",
    "ddnm",
    "--model",
    "builtin:gaussian",
    "--task",
    "sr",
    "--scale",
    "4",
    "--sampler",
    "hq-demo",
    "--steps",
    "12",
    "--travel-length",
    "4",
    "--sigma-y",
    "0.05",
    "--json",
  ], dir);
  assert.equal(r.code, 0, r.stderr);
  // 12 steps, jumps of 4 at 0 and 4, each redone twice more (travel repeat 3 by default)
  assert.equal(JSON.parse(r.stdout).calls, 12 + 2 * 2 * 4);
  const out = decodeNpy(await Deno.readFile(`${dir}/hq.npy`));
  assert.deepEqual(out.shape, [1, 3, 32, 32]);
  assert.ok(out.data.every(Number.isFinite));
});

Deno.test("restore --warm-start --samples: the calls of the kept steps, once per sample", async () => {
  const r = await runCli([
    "restore",
    "lr.png",
    "-o",
    "warm.npy",
    "--model",
    "builtin:gaussian",
    "--task",
    "sr-bicubic",
    "--scale",
    "4",
    "--steps",
    "20",
    "--warm-start",
    "0.3",
    "--samples",
    "3",
    "--json",
  ], dir);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).calls, 3 * 6); // the last 6 of 20 steps, 3 times
  const out = decodeNpy(await Deno.readFile(`${dir}/warm.npy`));
  assert.deepEqual(out.shape, [1, 3, 32, 32]);
  assert.ok(out.data.every(Number.isFinite));
});
