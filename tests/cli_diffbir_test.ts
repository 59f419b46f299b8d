import assert from "node:assert/strict";
import { decodeNpy, encodeNpy } from "../lib/npy.ts";
import { encodePng } from "../lib/png.ts";
import { errorLines, runCli } from "./_cli.ts";
import { randomValues, writeDiffbirStandIns } from "./_graphs.ts";

const dir = await Deno.makeTempDir();
const pipeline = await writeDiffbirStandIns(dir);
await Deno.writeFile(
  `${dir}/in.png`,
  encodePng(randomValues(3 * 48 * 40, 1).map((v) => 0.5 + 0.3 * v), 40, 48, 3),
);
await Deno.writeFile(`${dir}/ctx.npy`, encodeNpy([1, 8], randomValues(8, 2)));
await Deno.writeFile(`${dir}/neg.npy`, encodeNpy([1, 8], randomValues(8, 3)));
const base = [
  "restore",
  "in.png",
  "-o",
  "out.npy",
  "--method",
  "diffbir",
  "--model",
  pipeline,
  "--steps",
  "4",
  "--quiet",
];

Deno.test("restore --method diffbir: padding, cropping, samplers, tiling and colour fixes", async () => {
  for (
    const extra of [
      ["--context", "ctx.npy"],
      ["--context", "ctx.npy", "--negative-context", "neg.npy", "--cfg", "3", "--sampler", "ddim"],
      ["--context", "ctx.npy", "--tile-size", "32", "--tile-stride", "16", "--color-fix", "adain"],
      [
        "--context",
        "ctx.npy",
        "--negative-context",
        "neg.npy",
        "--cfg",
        "2",
        "--rescale-cfg",
        "--sampler",
        "edm_dpm++_3m_sde",
      ],
      ["--context", "ctx.npy", "--sampler", "edm_heun", "--tile-size", "32", "--tile-stride", "16"],
      ["--context", "ctx.npy", "--start-point", "cond", "--noise-aug", "10"],
      [
        "--context",
        "ctx.npy",
        "--guidance-scale",
        "0.05",
        "--guidance-loss",
        "wmse",
        "--upscale",
        "2",
        "--color-fix",
        "none",
      ],
    ]
  ) {
    const r = await runCli([...base, ...extra], dir);
    assert.equal(r.code, 0, r.stderr);
    const out = decodeNpy(await Deno.readFile(`${dir}/out.npy`));
    const up = extra.includes("--upscale") ? 2 : 1;
    assert.deepEqual(out.shape, [1, 3, 48 * up, 40 * up], extra.join(" "));
    assert.ok(out.data.every(Number.isFinite));
    await Deno.remove(`${dir}/out.npy`);
  }
});

Deno.test("restore --method diffbir: DPM-Solver++ feeds fractional timesteps to a float32 input", async () => {
  const floatDir = await Deno.makeTempDir();
  const floatPipeline = await writeDiffbirStandIns(floatDir, { floatTime: true });
  const args = [
    "restore",
    `${dir}/in.png`,
    "-o",
    `${floatDir}/out.npy`,
    "--method",
    "diffbir",
    "--model",
    floatPipeline,
    "--context",
    `${dir}/ctx.npy`,
    "--quiet",
  ];
  for (
    const extra of [["--sampler", "dpm++_m2", "--steps", "5"], [
      "--sampler",
      "dpm++_m3",
      "--steps",
      "12",
      "--negative-context",
      `${dir}/neg.npy`,
      "--cfg",
      "2",
      "--rescale-cfg",
    ]]
  ) {
    const r = await runCli([...args, ...extra], floatDir);
    assert.equal(r.code, 0, r.stderr);
    const out = decodeNpy(await Deno.readFile(`${floatDir}/out.npy`));
    assert.deepEqual(out.shape, [1, 3, 48, 40]);
    assert.ok(out.data.every(Number.isFinite));
  }
  for (
    const [extra, pattern] of [
      [
        ["--sampler", "dpm++_m3", "--steps", "2"],
        /--steps must be at least 3 for DPM-Solver\+\+ of that order, got 2/,
      ],
      [
        ["--sampler", "dpm++_m2", "--guidance-scale", "1"],
        /--guidance-scale: restoration guidance works with the spaced and DDIM samplers only/,
      ],
    ] as [string[], RegExp][]
  ) {
    const r = await runCli([...args, ...extra], floatDir);
    assert.match(errorLines(r.stderr)[0], pattern);
  }
  // the int64 stand-ins cannot take fractional timesteps
  const int = await runCli([...base, "--context", "ctx.npy", "--sampler", "dpm++_m2"], dir);
  assert.match(
    errorLines(int.stderr)[0],
    /--sampler: DPM-Solver\+\+ feeds fractional timesteps: .* takes int64/,
  );
  await Deno.remove(floatDir, { recursive: true });
});

Deno.test("restore --method diffbir: argument errors", async () => {
  for (
    const [extra, pattern] of [
      [[], /--context: .*has a 'context' input: give a context/],
      [
        ["--context", "ctx.npy", "--cfg", "4"],
        /--negative-context: cfg 4 needs both a context and a negative one/,
      ],
      [["--context", "ctx.npy", "--guidance-space", "rgb"], /only latent guidance is offered/],
      [[
        "--context",
        "ctx.npy",
        "--guidance-scale",
        "1",
        "--tile-size",
        "32",
        "--tile-stride",
        "16",
      ], /cannot be combined with tiling/],
      [
        ["--context", "ctx.npy", "--tile-size", "30", "--tile-stride", "16"],
        /--tile-size must be a multiple of 8/,
      ],
      [
        ["--context", "ctx.npy", "--sampler", "euler"],
        /--sampler must be one of spaced, ddim, edm_euler, .*edm_dpm\+\+_3m_sde, dpm\+\+_m1, dpm\+\+_m2, dpm\+\+_m3, got 'euler'/,
      ],
      [
        ["--context", "ctx.npy", "--sampler", "edm_euler", "--guidance-scale", "1"],
        /--guidance-scale: restoration guidance works with the spaced and DDIM samplers only/,
      ],
      [
        ["--context", "ctx.npy", "--sampler", "ddim", "--eta", "2"],
        /--eta must be in \[0, 1\], got 2/,
      ],
      [
        ["--context", "ctx.npy", "--sampler", "edm_lms", "--order", "5"],
        /--order must be .*, got 5/,
      ],
      [
        ["--context", "ctx.npy", "--sampler", "edm_euler", "--s-noise", "-1"],
        /--s-noise must be .*, got -1/,
      ],
      [
        ["--context", "ctx.npy", "--s-churn", "1"],
        /--s-churn applies to the edm_\* samplers, not --sampler spaced/,
      ],
      [
        ["--context", "ctx.npy", "--start-point", "middle"],
        /--start-point must be noise or cond, got 'middle'/,
      ],
      [["--context", "ctx.npy", "--noise-aug", "2.5"], /--noise-aug must be .*, got 2.5/],
      [
        ["--context", "ctx.npy", "--upscale", "500"],
        /--upscale 500 would make a 20000x24000 output/,
      ],
      [
        ["--context", "ctx.npy", "--color-fix", "hist"],
        /--color-fix must be wavelet, adain or none/,
      ],
      [["--context", "missing.npy"], /context file missing\.npy not found/],
      [
        ["--context", "ctx.npy", "--solver", "ode"],
        /--solver applies to --method irsde, not diffbir/,
      ],
    ] as [string[], RegExp][]
  ) {
    const r = await runCli([...base, ...extra], dir);
    const lines = errorLines(r.stderr);
    assert.notEqual(r.code, 0, extra.join(" "));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], pattern);
  }
  // x_T, then two draws on each of the 3 steps above σ = 0: 7 latents of 4 × 8 × 8
  await Deno.writeFile(`${dir}/short.npy`, encodeNpy([100], randomValues(100, 4)));
  const short = await runCli(
    [...base, "--context", "ctx.npy", "--sampler", "edm_dpm++_sde", "--noise", "short.npy"],
    dir,
  );
  assert.match(errorLines(short.stderr)[0], /the run needs 1792 values, the file has 100/);
  const bad = await runCli([
    "restore",
    "in.png",
    "-o",
    "o.png",
    "--method",
    "diffbir",
    "--model",
    `${dir}/den.json`,
  ], dir);
  assert.match(
    errorLines(bad.stderr)[0],
    /must be a pipeline manifest with "kind": "diffbir-pipeline"/,
  );
});
