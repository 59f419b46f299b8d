// JPEG decoding speed of two candidates on a 1024x1024 photo (median of 7 runs).
// Run: deno run -A tests/bench/jpeg_decode.ts
import jpeg from "jpeg-js";
import { decodeImage } from "../../lib/image.ts";

const png = decodeImage(
  await Deno.readFile(new URL("../../assets/coffee_512.png", import.meta.url)),
  "coffee",
);
// a 1024x1024 photo: the 512 crop upscaled 2x (nearest) plus a little texture
const W = 1024, H = 1024;
const rgba = new Uint8Array(W * H * 4);
for (let y = 0; y < H; y++) {
  for (let x = 0; x < W; x++) {
    const p = (y >> 1) * 512 + (x >> 1);
    for (let c = 0; c < 3; c++) {
      rgba[(y * W + x) * 4 + c] = Math.min(
        255,
        png.pixels[c * 512 * 512 + p] * 255 + ((x * 7 + y * 13) % 5),
      );
    }
    rgba[(y * W + x) * 4 + 3] = 255;
  }
}
const bytes = new Uint8Array(jpeg.encode({ data: rgba, width: W, height: H }, 90).data);

function median(f: () => void): number {
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    f();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[3];
}

const results: Record<string, number> = {};
results["jpeg-js 0.4.4 (pure JS)"] = median(() => jpeg.decode(bytes, { useTArray: true }));
try {
  // deno-lint-ignore no-import-prefix -- a benchmark-only candidate, not a dependency
  const turbo = await import("npm:@cwasm/jpeg-turbo@0.1.3");
  results["@cwasm/jpeg-turbo 0.1.3 (libjpeg-turbo, wasm)"] = median(() => turbo.decode(bytes));
} catch (e) {
  console.log(`@cwasm/jpeg-turbo unavailable: ${(e as Error).message}`);
}
results["diffrestore decodeImage (jpeg-js + checks + planar float)"] = median(() =>
  decodeImage(bytes, "bench.jpg")
);
for (const [k, v] of Object.entries(results)) console.log(`${k.padEnd(60)} ${v.toFixed(1)} ms`);
