// What ordinary files meet: a batch whose inputs share a stem, a phone JPEG with its EXIF
// orientation, an RGBA PNG, JPEG and 16-bit PNG outputs, and no output ever written on an input.
import assert from "node:assert/strict";
import { encodePng } from "../lib/png.ts";
import { encodeJpeg } from "../lib/jpeg.ts";
import { decodeImage } from "../lib/image.ts";
import { Tensor } from "../lib/tensor.ts";
import { errorLines, runCli } from "./_cli.ts";

const dir = await Deno.makeTempDir();
const W = 12, H = 8;
const rgb = new Float32Array(3 * W * H).map((_, i) => 0.2 + 0.6 * ((i % 13) / 13));
await Deno.writeFile(`${dir}/a.png`, encodePng(rgb, W, H, 3));
await Deno.writeFile(`${dir}/a.jpg`, encodeJpeg(new Tensor([1, 3, H, W], rgb), 95));
const denoise = ["--method", "ddnm", "--task", "denoise", "--steps", "3", "--quiet"];

/** A JPEG with an APP1 Exif block saying `orientation`. */
function withOrientation(jpg: Uint8Array, orientation: number): Uint8Array {
  const tiff = [
    0x49,
    0x49,
    0x2a,
    0,
    8,
    0,
    0,
    0,
    1,
    0,
    0x12,
    0x01,
    3,
    0,
    1,
    0,
    0,
    0,
    orientation,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
  ];
  const body = [0x45, 0x78, 0x69, 0x66, 0, 0, ...tiff];
  const len = body.length + 2;
  return new Uint8Array([
    0xff,
    0xd8,
    0xff,
    0xe1,
    len >> 8,
    len & 0xff,
    ...body,
    ...jpg.subarray(2),
  ]);
}

Deno.test("batch: inputs sharing a stem get distinct outputs, and none lands on an input", async () => {
  const r = await runCli(["restore", "a.png", "a.jpg", "-o", "out/", ...denoise], dir);
  assert.equal(r.code, 0, r.stderr);
  const names = [...Deno.readDirSync(`${dir}/out`)].map((e) => e.name).sort();
  assert.deepEqual(names, ["a-jpg.png", "a.png"]);
  const onto = await runCli(["restore", "a.png", "-o", "a.png", ...denoise], dir);
  assert.equal(onto.code, 2);
  assert.match(errorLines(onto.stderr)[0], /would overwrite an input/);
  const into = await runCli(["restore", "a.png", "b.png", "-o", "./", ...denoise], dir);
  assert.equal(into.code, 2, "a batch into the inputs' own folder would overwrite a.png");
});

Deno.test("a phone JPEG is turned upright by its EXIF orientation", async () => {
  await Deno.writeFile(
    `${dir}/phone.jpg`,
    withOrientation(encodeJpeg(new Tensor([1, 3, H, W], rgb), 95), 6),
  );
  const r = await runCli(["restore", "phone.jpg", "-o", "phone.npy", ...denoise], dir);
  assert.equal(r.code, 0, r.stderr);
  const npy = await Deno.readFile(`${dir}/phone.npy`);
  const header = new TextDecoder().decode(npy.subarray(10, 80));
  assert.match(header, new RegExp(`'shape': \\(1, 3, ${W}, ${H}\\)`), "turned 90°: W and H swap");
});

Deno.test("RGBA keeps its alpha in a PNG output; JPEG and 16-bit PNG outputs", async () => {
  const alpha = new Float32Array(W * H).map((_, p) => (p % W) / (W - 1));
  const rgba = new Float32Array(4 * W * H);
  rgba.set(rgb);
  rgba.set(alpha, 3 * W * H);
  await Deno.writeFile(`${dir}/rgba.png`, encodePng(rgba, W, H, 4));
  const sr = ["--method", "ddnm", "--task", "sr", "--scale", "2", "--steps", "3", "--quiet"];
  const r = await runCli(["restore", "rgba.png", "-o", "rgba_out.png", ...sr], dir);
  assert.equal(r.code, 0, r.stderr);
  const out = decodeImage(await Deno.readFile(`${dir}/rgba_out.png`), "rgba_out.png");
  assert.equal(out.width, 2 * W);
  assert.ok(out.alpha, "the output has alpha");
  // nearest-resized: each output pixel carries its source pixel's alpha (8-bit)
  for (let y = 0; y < 2 * H; y++) {
    for (let x = 0; x < 2 * W; x++) {
      const want = Math.round(alpha[(y >> 1) * W + (x >> 1)] * 255) / 255;
      assert.ok(Math.abs(out.alpha![y * 2 * W + x] - want) < 1e-6);
    }
  }
  const jpg = await runCli(
    ["restore", "a.png", "-o", "a_out.jpg", "--quality", "80", ...denoise],
    dir,
  );
  assert.equal(jpg.code, 0, jpg.stderr);
  const j = await Deno.readFile(`${dir}/a_out.jpg`);
  assert.deepEqual([j[0], j[1]], [0xff, 0xd8]);
  assert.equal(decodeImage(j, "a_out.jpg").width, W);
  const p16 = await runCli(
    ["restore", "a.png", "-o", "a16.png", "--bit-depth", "16", ...denoise],
    dir,
  );
  assert.equal(p16.code, 0, p16.stderr);
  const png = await Deno.readFile(`${dir}/a16.png`);
  assert.equal(png[24], 16, "IHDR bit depth");
  const bad = await runCli(
    ["restore", "a.png", "-o", "x.png", "--bit-depth", "12", ...denoise],
    dir,
  );
  assert.equal(bad.code, 2);
});
