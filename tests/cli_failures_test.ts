// Every CLI failure mode gives one `error:` line, a non-zero exit, and no output.
import assert from "node:assert/strict";
import { encodePng } from "../lib/png.ts";
import { decodeNpy } from "../lib/npy.ts";
import { CLI, errorLines, runCli } from "./_cli.ts";
import { timesTGraph } from "./_graphs.ts";

const dir = await Deno.makeTempDir();
const good = encodePng(new Float32Array(3 * 16 * 16).fill(0.4), 16, 16, 3);
await Deno.writeFile(`${dir}/good.png`, good);
// hostile: a header claiming 100000x100000 (CRC fixed), and a truncated file
const huge = good.slice();
new DataView(huge.buffer).setUint32(16, 100000);
new DataView(huge.buffer).setUint32(20, 100000);
const { crc32 } = await import("../lib/png.ts");
new DataView(huge.buffer).setUint32(29, crc32(huge.subarray(12, 29)));
await Deno.writeFile(`${dir}/huge.png`, huge);
await Deno.writeFile(`${dir}/cut.png`, good.slice(0, 60));
await Deno.writeFile(`${dir}/text.png`, new TextEncoder().encode("not an image"));
// wrong models: a manifest naming an input the file lacks; a non-ONNX file; an irsde model for ddnm
await Deno.writeFile(`${dir}/m.onnx`, timesTGraph());
await Deno.writeTextFile(
  `${dir}/m.json`,
  JSON.stringify({ kind: "ddpm", inputs: { x: "image", t: "t" }, output: "eps" }),
);
await Deno.writeFile(`${dir}/junk.onnx`, new Uint8Array([8, 1, 2, 3]));
await Deno.writeTextFile(
  `${dir}/junk.json`,
  JSON.stringify({ kind: "ddpm", inputs: { x: "x", t: "t" }, output: "eps" }),
);
await Deno.writeFile(`${dir}/ir.onnx`, timesTGraph());
await Deno.writeTextFile(
  `${dir}/ir.json`,
  JSON.stringify({
    kind: "irsde",
    inputs: { x: "x", t: "t" },
    output: "eps",
    sde: { maxSigma: 10 },
  }),
);

async function fails(args: string[], pattern: RegExp) {
  const r = await runCli(args, dir);
  const lines = errorLines(r.stderr);
  assert.notEqual(r.code, 0, args.join(" "));
  assert.equal(lines.length, 1, `${args.join(" ")}:\n${r.stderr}`);
  assert.match(lines[0], /^error: /);
  assert.match(lines[0], pattern);
  assert.ok(!lines[0].includes("    at "), "no stack trace");
  assert.ok(
    !(await Deno.stat(`${dir}/out.png`).then(() => true, () => false)),
    "no output written",
  );
}

const ddnm = ["-o", "out.png", "--method", "ddnm", "--task", "denoise", "--steps", "3"];

Deno.test("CLI failures: hostile and broken images", async () => {
  const t0 = performance.now();
  await fails(
    ["restore", "huge.png", ...ddnm],
    /huge\.png: PNG is 100000x100000 .* over the limit/,
  );
  assert.ok(performance.now() - t0 < 5000);
  await fails(["restore", "cut.png", ...ddnm], /cut\.png: truncated PNG/);
  await fails(["restore", "text.png", ...ddnm], /text\.png: not a PNG or JPEG image/);
  await fails(["restore", "good.png", ...ddnm, "--max-pixels", "100"], /over the limit of 100/);
  await fails(
    ["degrade", "huge.png", "-o", "out.png", "--task", "denoise"],
    /huge\.png: PNG is 100000x100000/,
  );
});

Deno.test("CLI failures: wrong models and manifests", async () => {
  await fails(
    ["restore", "good.png", ...ddnm, "--model", "m.onnx"],
    /m\.onnx: manifest key 'inputs\.x' names input 'image', but the ONNX file's inputs are x, t/,
  );
  await fails(
    ["restore", "good.png", ...ddnm, "--model", "junk.onnx"],
    /junk\.onnx: not a loadable ONNX file/,
  );
  await fails(
    ["restore", "good.png", ...ddnm, "--model", "ir.onnx"],
    /--model: ir\.onnx: DDNM needs a 'ddpm' model, not 'irsde'/,
  );
  await fails(
    ["restore", "good.png", ...ddnm, "--model", "none.onnx"],
    /model none\.onnx not found/,
  );
  await fails(
    ["restore", "good.png", ...ddnm, "--model", "builtin:nope"],
    /--model must be one of builtin:unet, .*, got 'builtin:nope'/,
  );
  await fails(
    ["restore", "good.png", ...ddnm, "--model", "m.onnx", "--model-spec", "missing.json"],
    /missing\.json not found/,
  );
});

Deno.test("CLI failures: usage errors", async () => {
  await fails(["restore", "good.png", "-o", "out.png"], /--method ddnm needs --task/);
  await fails(["restore", "good.png", "--method", "ddnm"], /needs -o/);
  await fails(["restore", "-o", "out.png", "--method", "ddnm"], /needs an input image/);
  await fails(
    ["restore", "good.png", ...ddnm, "--backend", "tpu"],
    /--backend must be auto, cpu or webgpu, got 'tpu'/,
  );
  await fails(
    ["restore", "good.png", ...ddnm, "--ort", "cuda"],
    /--ort must be auto, native, wasm or webgpu/,
  );
  await fails(["restore", "good.png", ...ddnm, "--seed", "-1"], /--seed must be .*, got -1/);
  await fails(["restroe", "good.png"], /unknown command 'restroe' \(did you mean 'restore'\?\)/);
  await fails(
    ["restore", "good.png", ...ddnm, "--save-every", "2"],
    /--save-every K needs --save-dir/,
  );
});

Deno.test("Ctrl-C stops cleanly: one line, exit 130, no output", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      CLI,
      "restore",
      "good.png",
      "-o",
      "out.png",
      "--method",
      "ddnm",
      "--task",
      "sr",
      "--scale",
      "16",
      "--steps",
      "1000",
    ],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  await new Promise((r) => setTimeout(r, 2500));
  child.kill("SIGINT");
  const out = await child.output();
  const lines = errorLines(new TextDecoder().decode(out.stderr)).filter((l) =>
    !l.startsWith("\r") && !l.includes("it/s")
  );
  assert.equal(out.code, 130);
  assert.deepEqual(lines, ["error: interrupted; no output was written"]);
  assert.ok(!(await Deno.stat(`${dir}/out.png`).then(() => true, () => false)));
});

Deno.test("batch mode: a directory in, one output per image, failures per file", async () => {
  await Deno.mkdir(`${dir}/batch`);
  await Deno.copyFile(`${dir}/good.png`, `${dir}/batch/a.png`);
  await Deno.copyFile(`${dir}/good.png`, `${dir}/batch/b.png`);
  await Deno.copyFile(`${dir}/text.png`, `${dir}/batch/c.png`);
  const r = await runCli([
    "restore",
    "batch",
    "-o",
    "outdir/",
    "--method",
    "ddnm",
    "--task",
    "sr",
    "--scale",
    "2",
    "--steps",
    "3",
    "--json",
  ], dir);
  assert.equal(r.code, 1);
  const names = [...Deno.readDirSync(`${dir}/outdir`)].map((e) => e.name).sort();
  assert.deepEqual(names, ["a.png", "b.png"]);
  assert.match(r.stderr, /error: batch\/c\.png: not a PNG or JPEG image/);
  assert.equal(r.stdout.trim().split("\n").length, 2, "a JSON line per restored image");
});

Deno.test("--compare with --reference writes a sheet and prints PSNR/SSIM", async () => {
  const r = await runCli([
    "restore",
    "good.png",
    "-o",
    "o.npy",
    "--method",
    "ddnm",
    "--task",
    "denoise",
    "--steps",
    "3",
    "--compare",
    "sheet.png",
    "--reference",
    "good.png",
    "--json",
  ], dir);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.ok(
    lines.some((l) => l.psnr === "inf" || l.psnr > 40),
    `denoising a clean image keeps it: ${r.stdout}`,
  );
  assert.equal(decodeNpy(await Deno.readFile(`${dir}/o.npy`)).shape[3], 16);
  assert.ok((await Deno.stat(`${dir}/sheet.png`)).size > 100);
});

Deno.test("CLI exit status: 2 for usage errors (with the closest name), 1 for everything else", async () => {
  const d = await Deno.makeTempDir();
  await Deno.writeFile(`${d}/in.png`, encodePng(new Float32Array(3 * 8 * 8).fill(0.5), 8, 8, 3));
  const cases: [string[], number, RegExp][] = [
    [
      ["restore", "in.png", "-o", "o.png", "--method", "ddnm", "--task", "sr", "--scael", "2"],
      2,
      /did you mean --scale/,
    ],
    [
      ["restore", "in.png", "-o", "o.png", "--method", "ddnm", "--task", "sr", "--scale", "x"],
      2,
      /--scale must be .*, got x/,
    ],
    [["restore", "in.png", "-o", "o.png", "--method", "ddmn"], 2, /did you mean 'ddnm'/],
    [
      ["restore", "in.png", "-o", "o.png", "--method", "ddnm", "--task", "colorise"],
      2,
      /did you mean 'colorize'/,
    ],
    [["restore", "in.png", "-o", "o.png"], 2, /--method ddnm needs --task/],
    [["restoer"], 2, /did you mean 'restore'/],
    [
      ["restore", "nothere.png", "-o", "o.png", "--method", "ddnm", "--task", "denoise"],
      1,
      /nothere\.png: no such file/,
    ],
    [
      [
        "restore",
        "in.png",
        "-o",
        "o.png",
        "--method",
        "ddnm",
        "--task",
        "denoise",
        "--model",
        "missing.onnx",
      ],
      1,
      /model missing\.onnx not found/,
    ],
  ];
  for (const [args, code, pattern] of cases) {
    const r = await runCli(args, d);
    assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
    const lines = errorLines(r.stderr);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], pattern);
  }
});
