import assert from "node:assert/strict";
import jpeg from "jpeg-js";
import { decodeImage, imageToTensor, readImage, writeImageTensor } from "../lib/image.ts";
import { encodePng } from "../lib/png.ts";
import { decodeNpy } from "../lib/npy.ts";
import { UserError } from "../lib/errors.ts";
import { Tensor } from "../lib/tensor.ts";
import { writePng } from "./_png_writer.ts";

const W = 5, H = 3; // odd sizes exercise partial bytes and every Adam7 pass edge
const isUser = (re: RegExp) => (e: Error) => e instanceof UserError && re.test(e.message);

function pattern(n: number, max: number): number[] {
  return Array.from({ length: n }, (_, i) => (i * 7919 + 13) % (max + 1));
}

Deno.test("PNG decode: every colour type, bit depth and interlacing gives exact samples", () => {
  const cases: [0 | 2 | 4 | 6, (1 | 2 | 4 | 8 | 16)[]][] = [
    [0, [1, 2, 4, 8, 16]],
    [2, [8, 16]],
    [4, [8, 16]],
    [6, [8, 16]],
  ];
  for (const [colorType, depths] of cases) {
    const ch = { 0: 1, 2: 3, 4: 2, 6: 4 }[colorType]!;
    for (const bitDepth of depths) {
      for (const interlaced of [false, true]) {
        const max = 2 ** bitDepth - 1;
        const samples = pattern(W * H * ch, max);
        const img = decodeImage(
          writePng({ width: W, height: H, colorType, bitDepth, samples, interlaced }),
          "t.png",
        );
        const color = ch >= 3 ? 3 : 1;
        assert.equal(img.channels, color, `ct ${colorType}`);
        for (let p = 0; p < W * H; p++) {
          for (let c = 0; c < color; c++) {
            const want = samples[p * ch + c] / max;
            assert.ok(
              Math.abs(img.pixels[c * W * H + p] - want) < 1e-6,
              `ct ${colorType} depth ${bitDepth} interlaced ${interlaced} p ${p} c ${c}`,
            );
          }
          if (ch === 2 || ch === 4) {
            const a = samples[p * ch + ch - 1] / max;
            assert.ok(Math.abs((img.alpha?.[p] ?? 1) - a) < 1e-6, "alpha");
          }
        }
      }
    }
  }
});

Deno.test("PNG decode: palette images map through the palette", () => {
  const palette: [number, number, number][] = [[255, 0, 0], [0, 128, 255], [10, 20, 30], [7, 7, 7]];
  for (const bitDepth of [2, 8] as const) {
    for (const interlaced of [false, true]) {
      const samples = pattern(W * H, 3);
      const img = decodeImage(
        writePng({ width: W, height: H, colorType: 3, bitDepth, samples, palette, interlaced }),
        "p.png",
      );
      assert.equal(img.channels, 3);
      for (let p = 0; p < W * H; p++) {
        for (let c = 0; c < 3; c++) {
          assert.ok(Math.abs(img.pixels[c * W * H + p] - palette[samples[p]][c] / 255) < 1e-6);
        }
      }
    }
  }
});

Deno.test("PNG encode: 8 and 16 bit round trips, clamping and rounding to nearest", () => {
  const t = new Tensor([1, 3, 2, 3], new Float32Array(18).map((_, i) => i / 17));
  for (const depth of [8, 16] as const) {
    const back = imageToTensor(decodeImage(encodePng(t.data, 3, 2, 3, depth), "x.png"));
    const q = depth === 8 ? 255 : 65535;
    for (let i = 0; i < 18; i++) {
      assert.equal(back.data[i], Math.fround(Math.round(t.data[i] * q) / q));
    }
  }
  const clamp = decodeImage(
    encodePng(new Float32Array([-0.5, 1.5, 0.5 / 255 + 1e-6, NaN]), 4, 1, 1),
    "c.png",
  );
  assert.deepEqual([...clamp.pixels].map((v) => Math.round(v * 255)), [0, 255, 1, 0]);
});

Deno.test("hostile PNGs are refused before allocation, with the file and the reason", () => {
  const good = encodePng(new Float32Array(12), 2, 2, 3);
  const huge = good.slice();
  const v = new DataView(huge.buffer);
  v.setUint32(16, 100000);
  v.setUint32(20, 100000);
  // fix the IHDR CRC so only the size is wrong
  const crcData = huge.subarray(12, 29);
  let c = 0xffffffff;
  for (const b of crcData) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  v.setUint32(29, (c ^ 0xffffffff) >>> 0);
  const t0 = performance.now();
  assert.throws(
    () => decodeImage(huge, "huge.png"),
    isUser(/huge\.png: PNG is 100000x100000.*over the limit/),
  );
  assert.ok(performance.now() - t0 < 500);
  assert.throws(
    () => decodeImage(good, "small.png", { maxPixels: 3 }),
    isUser(/over the limit of 3/),
  );
  assert.throws(
    () => decodeImage(good.slice(0, good.length - 20), "cut.png"),
    isUser(/cut\.png: truncated PNG/),
  );
  const badCrc = good.slice();
  badCrc[40] ^= 0xff;
  assert.throws(() => decodeImage(badCrc, "crc.png"), isUser(/crc\.png: corrupt PNG \(bad CRC/));
  const zero = writePng({ width: 0, height: 2, colorType: 0, bitDepth: 8, samples: [] });
  assert.throws(() => decodeImage(zero, "zero.png"), isUser(/zero size/));
  assert.throws(
    () => decodeImage(new Uint8Array([1, 2, 3, 4]), "x.bin"),
    isUser(/not a PNG or JPEG/),
  );
  assert.throws(() => decodeImage(new Uint8Array(), "e.png"), isUser(/empty file/));
  // valid chunks but garbage compressed data
  const garbage = writePng({
    width: 2,
    height: 2,
    colorType: 0,
    bitDepth: 8,
    samples: [1, 2, 3, 4],
  });
  const idat = new TextDecoder("latin1").decode(garbage).indexOf("IDAT");
  garbage.fill(0x55, idat + 4, idat + 8);
  assert.throws(() => decodeImage(garbage, "g.png"), isUser(/g\.png: corrupt PNG/));
});

Deno.test("JPEG: decodes colour and gray, refuses hostile headers", () => {
  const w = 16, h = 8;
  const rgba = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) rgba.set([200, 100, 50, 255], i * 4);
  const bytes = jpeg.encode({ data: rgba, width: w, height: h }, 95).data;
  const img = decodeImage(new Uint8Array(bytes), "c.jpg");
  assert.equal(img.channels, 3);
  assert.equal(img.width, w);
  assert.ok(Math.abs(img.pixels[0] - 200 / 255) < 3 / 255);
  assert.ok(Math.abs(img.pixels[w * h] - 100 / 255) < 3 / 255);
  // pretend a 60000x60000 frame: our marker walk refuses it before decoding
  const big = new Uint8Array(bytes);
  for (let i = 2; i < big.length - 9; i++) {
    if (big[i] === 0xff && big[i + 1] === 0xc0) {
      big.set([0xea, 0x60, 0xea, 0x60], i + 5);
      break;
    }
  }
  assert.throws(() => decodeImage(big, "big.jpg"), isUser(/big\.jpg: JPEG is 60000x60000/));
  assert.throws(
    () => decodeImage(new Uint8Array(bytes).slice(0, 30), "cut.jpg"),
    isUser(/cut\.jpg: (truncated|corrupt)/),
  );
});

Deno.test("image files: read, tensor conversion, atomic .png and .npy writes", async () => {
  const dir = await Deno.makeTempDir();
  const t = new Tensor(
    [1, 3, 2, 2],
    new Float32Array([0, 0.25, 0.5, 1.2, 0, 0, 0, 0, -0.1, 1, 1, 1]),
  );
  await writeImageTensor(`${dir}/o.npy`, t);
  const npy = decodeNpy(await Deno.readFile(`${dir}/o.npy`));
  assert.deepEqual(npy.shape, [1, 3, 2, 2]);
  assert.deepEqual(npy.data, t.data); // unclipped
  await writeImageTensor(`${dir}/o.png`, t);
  const back = imageToTensor(await readImage(`${dir}/o.png`));
  assert.equal(back.data[3], 1);
  assert.equal(back.data[8], 0);
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["o.npy", "o.png"]);
  await assert.rejects(
    writeImageTensor(`${dir}/missing/o.png`, t),
    isUser(/directory .*missing does not exist/),
  );
  await assert.rejects(
    writeImageTensor(`${dir}/o.gif`, t),
    isUser(/must end in .png, .jpg, .jpeg or .npy/),
  );
  await assert.rejects(readImage(`${dir}/none.png`), isUser(/none\.png: no such file/));
  const gray = imageToTensor(await readImage(`${dir}/o.png`), 1);
  assert.equal(gray.c, 1);
  await Deno.remove(dir, { recursive: true });
});
