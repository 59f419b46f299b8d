import assert from "node:assert/strict";
import { decodeNpy } from "../lib/npy.ts";
import { errorLines, runCli } from "./_cli.ts";

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
      [["--steps", "0"], /--steps 0: must be at least 1/],
      [["--max-sigma", "0"], /--max-sigma must be > 0/],
      [["--task", "colorize"], /--task must be sr, inpaint or denoise/],
      [["--task", "inpaint"], /needs --mask/],
      [["--eta", "0.5"], /--eta applies to --method ddnm or diffbir, not irsde/],
    ] as [string[], RegExp][]
  ) {
    const r = await run(args);
    const lines = errorLines(r.stderr);
    assert.notEqual(r.code, 0);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], pattern);
    assert.ok(!(await Deno.stat(r.out).then(() => true, () => false)));
  }
  const noModel = await runCli(
    ["restore", "lq.png", "-o", "/tmp/x.png", "--method", "irsde"],
    CASE,
  );
  assert.match(errorLines(noModel.stderr)[0], /--method irsde needs --model/);
});
