// `restore` checks before it works: values out of range are usage errors naming the flag and its
// unit, a missing output folder and a task's missing flags fail before any model loads, flags the
// task ignores get a note, skipped files are listed, batch JSON lines carry their input, and
// --method defaults to ddnm.
import assert from "node:assert/strict";
import { encodePng } from "../lib/png.ts";
import { errorLines, runCli } from "./_cli.ts";

const dir = await Deno.makeTempDir();
const photo = encodePng(new Float32Array(3 * 16 * 16).map((_, i) => (i % 7) / 7), 16, 16, 3);
await Deno.writeFile(`${dir}/a.png`, photo);
await Deno.mkdir(`${dir}/folder`);
await Deno.writeFile(`${dir}/folder/a.png`, photo);
await Deno.writeFile(`${dir}/folder/b.png`, photo);
await Deno.writeTextFile(`${dir}/folder/c.webp`, "not read");
// builtin:gaussian is exact and fast: these tests are about the command line
const quick = ["--model", "builtin:gaussian", "--steps", "2"];

async function usage(args: string[], code: number, pattern: RegExp) {
  const r = await runCli(["restore", "a.png", ...args], dir);
  assert.equal(r.code, code, `${args.join(" ")}:\n${r.stderr}`);
  const lines = errorLines(r.stderr);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], pattern);
}

Deno.test("restore: out-of-range values are usage errors naming the flag and its unit", async () => {
  await usage(
    ["-o", "o.png", "--task", "denoise", "--sigma-y", "10"],
    2,
    /^error: --sigma-y must be in \[0, 1\] \(the noise's standard deviation in \[0,1\] image units: 0\.1 is 25\.5\/255\), got 10$/,
  );
  await usage(
    ["-o", "o.png", "--task", "sr-bicubic"],
    2,
    /^error: --task sr-bicubic needs --scale/,
  );
  await usage(
    ["-o", "o.png", "--task", "denoise", "--steps", "0"],
    2,
    /^error: --steps must be an integer in \[1, 1000\], got 0$/,
  );
  await usage(
    ["-o", "o.png", "--task", "denoise", "--variant", "svdd"],
    2,
    /^error: --variant must be svd or simplified, got 'svdd'; did you mean 'svd'\?$/,
  );
  // what only the model can refuse: the library's option, said as the flag
  await usage(
    ["-o", "o.png", "--task", "denoise", "--class", "3", ...quick],
    1,
    /^error: --class: builtin:gaussian is not class-conditional: it takes no class label$/,
  );
});

Deno.test("restore: an unwritable output fails before any model loads", async () => {
  const t0 = performance.now();
  // a model that does not exist would fail later: the output check comes first
  await usage(
    ["-o", "missing/dir/x.png", "--task", "denoise", "--model", "nope.onnx"],
    1,
    /^error: -o missing\/dir\/x\.png: the folder missing\/dir does not exist$/,
  );
  await usage(
    ["-o", "a.png/x.png", "--task", "denoise"],
    1,
    /^error: -o a\.png\/x\.png: a\.png is not a folder$/,
  );
  assert.ok(performance.now() - t0 < 60_000);
  assert.ok(!(await Deno.stat(`${dir}/missing`).then(() => true, () => false)));
});

Deno.test("restore: ignored flags get a note; --method defaults to ddnm", async () => {
  const r = await runCli(
    ["restore", "a.png", "-o", "n.png", "--task", "denoise", "--scale", "4", ...quick],
    dir,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /note: --scale does not apply to --task denoise; ignored/);
  assert.match(r.stderr, /wrote n\.png \(16x16/);
});

Deno.test("restore: a folder's other files are listed; batch JSON lines carry their input", async () => {
  const r = await runCli(
    ["restore", "folder", "-o", "out/", "--task", "denoise", "--json", ...quick],
    dir,
  );
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => [l.input, l.output]), [
    ["folder/a.png", "out/a.png"],
    ["folder/b.png", "out/b.png"],
  ]);
  // --json is quiet: the skipped file is said only without it
  const loud = await runCli(
    ["restore", "folder", "-o", "out2/", "--task", "denoise", ...quick],
    dir,
  );
  assert.equal(loud.code, 0, loud.stderr);
  assert.match(loud.stderr, /note: skipped folder\/c\.webp: not a PNG, JPEG or \.npy file/);
});
