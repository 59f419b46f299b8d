import assert from "node:assert/strict";
import { decodeNpy, encodeNpy } from "../lib/npy.ts";
import { decodeImage } from "../lib/image.ts";
import { encodePng } from "../lib/png.ts";
import { errorLines, runCli } from "./_cli.ts";
import { randomValues, writeDiffbirStandIns } from "./_graphs.ts";

const CASE = new URL("../testdata/conformance/irsde_sde/", import.meta.url).pathname;
const MODEL = new URL("../testdata/conformance/models/tiny_irsde.onnx", import.meta.url).pathname;

async function run(args: string[]) {
  const out = await Deno.makeTempFile({ suffix: ".npy" });
  await Deno.remove(out);
  const r = await runCli([
    "restore",
    "lq.png",
    "-o",
    out,
    "--method",
    "irsde",
    "--model",
    MODEL,
    "--quiet",
    ...args,
  ], CASE);
  return { ...r, out };
}

Deno.test("restore --method irsde: solvers, steps override, bad arguments", async () => {
  for (const solver of ["ode", "posterior"]) {
    const r = await run(["--solver", solver, "--steps", "20", "--seed", "1"]);
    assert.equal(r.code, 0, r.stderr);
    const img = decodeNpy(await Deno.readFile(r.out));
    assert.deepEqual(img.shape, [1, 3, 48, 48]);
    assert.ok(img.data.every(Number.isFinite));
  }
  const sr = await run(["--task", "sr", "--scale", "2", "--steps", "5"]);
  assert.equal(sr.code, 0, sr.stderr);
  assert.deepEqual(decodeNpy(await Deno.readFile(sr.out)).shape, [1, 3, 96, 96]);
  for (
    const [args, pattern] of [
      [["--solver", "euler"], /--solver must be sde, ode or posterior, got 'euler'/],
      [["--schedule", "quadratic"], /--schedule must be cosine, linear or constant/],
      [["--eps", "2"], /--eps must be in \(0, 1\)/],
      [["--steps", "0"], /--steps must be .*, got 0/],
      [["--max-sigma", "0"], /--max-sigma must be > 0/],
      [["--task", "colorize"], /--task must be sr, inpaint or denoise/],
      [["--task", "inpaint"], /needs --mask/],
      [["--eta", "0.5"], /--eta applies to --method ddnm or diffbir, not irsde/],
      [["--task", "sr", "--scale", "2000"], /--scale 2000 would make a 96000x96000 output/],
    ] as [string[], RegExp][]
  ) {
    const r = await run(args);
    const lines = errorLines(r.stderr);
    assert.notEqual(r.code, 0);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], pattern);
    assert.ok(!(await Deno.stat(r.out).then(() => true, () => false)));
  }
  // without --model: the built-in network, said in one note line
  const out = await Deno.makeTempFile({ suffix: ".png" });
  const noModel = await runCli(["restore", "lq.png", "-o", out, "--method", "irsde"], CASE);
  assert.equal(noModel.code, 0, noModel.stderr);
  const notes = noModel.stderr.split("\n").filter((l) => l.startsWith("note:"));
  assert.deepEqual(notes, [
    "note: --method irsde without --model: builtin:irsde, trained for Gaussian noise of sigma 25/255",
  ]);
  assert.ok((await Deno.stat(out)).size > 0);
});

Deno.test("restore --save-every writes the x0 estimate every K steps, for IR-SDE and DiffBIR too", async () => {
  const dir = await Deno.makeTempDir();
  const r = await run(["--steps", "5", "--save-every", "2", "--save-dir", dir]);
  assert.equal(r.code, 0, r.stderr);
  const files = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  assert.deepEqual(files, ["lq_w1_step0002.png", "lq_w1_step0004.png"]);
  const preview = await decodeImage(await Deno.readFile(`${dir}/${files[1]}`), files[1]);
  assert.deepEqual([preview.width, preview.height], [48, 48]);
  // DiffBIR decodes its x0 latent through the VAE, at the stage-1 size
  const pipeline = await writeDiffbirStandIns(dir);
  await Deno.writeFile(
    `${dir}/in.png`,
    encodePng(randomValues(3 * 48 * 40, 1).map((v) => 0.5 + 0.3 * v), 40, 48, 3),
  );
  await Deno.writeFile(`${dir}/ctx.npy`, encodeNpy([1, 8], randomValues(8, 2)));
  for (const sampler of ["spaced", "edm_dpm++_2m"]) {
    const previews = `${dir}/${sampler}`;
    const d = await runCli([
      "restore",
      "in.png",
      "-o",
      "out.png",
      "--method",
      "diffbir",
      "--model",
      pipeline,
      "--context",
      "ctx.npy",
      "--steps",
      "4",
      "--sampler",
      sampler,
      "--save-every",
      "2",
      "--save-dir",
      previews,
      "--quiet",
    ], dir);
    assert.equal(d.code, 0, d.stderr);
    const names = [...Deno.readDirSync(previews)].map((e) => e.name).sort();
    assert.deepEqual(names, ["in_w1_step0002.png", "in_w1_step0004.png"], sampler);
    const last = await decodeImage(await Deno.readFile(`${previews}/${names[1]}`), names[1]);
    assert.deepEqual([last.width, last.height], [40, 48]);
  }
  await Deno.remove(dir, { recursive: true });
});
