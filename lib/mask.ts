/**
 * Inpainting masks from images: white (>= 128 of 255, averaged over the channels) marks a
 * known pixel, black a missing one.
 *
 * @module
 */

import { readImage } from "./image.ts";

/**
 * Read a mask image: white (>= 128 of 255) = known.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readMask, Tensor, writeImageTensor } from "@diffrestore/sampler";
 *
 * // white keeps, black is a hole
 * const path = `${await Deno.makeTempDir()}/holes.png`;
 * await writeImageTensor(path, new Tensor([1, 1, 1, 4], Float32Array.of(1, 0, 0, 1)));
 * const { mask, width, height } = await readMask(path, 1 << 24);
 * assert.deepEqual([...mask], [1, 0, 0, 1]);
 * assert.equal(width * height, 4);
 * ```
 *
 * @param path The mask's path.
 * @param maxPixels Pixel limit.
 * @returns The mask and its size.
 */
export async function readMask(
  path: string,
  maxPixels: number,
): Promise<{ mask: Uint8Array; width: number; height: number }> {
  const img = await readImage(path, { maxPixels });
  const plane = img.width * img.height;
  const mask = new Uint8Array(plane);
  for (let p = 0; p < plane; p++) {
    let v = 0;
    for (let c = 0; c < img.channels; c++) v += img.pixels[c * plane + p];
    mask[p] = (v / img.channels) * 255 >= 127.5 ? 1 : 0;
  }
  return { mask, width: img.width, height: img.height };
}
