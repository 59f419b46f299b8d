/**
 * JPEG decoding through jpeg-js, after our own marker walk checks the size.
 *
 * @module
 */

import jpeg from "jpeg-js";
import { UserError } from "./errors.ts";
import type { DecodedImage } from "./image.ts";

/** True when the bytes start with a JPEG SOI marker. */
export function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/** Frame header fields of a JPEG file. */
export interface JpegHeader {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** Colour components (1 gray, 3 YCbCr, 4 CMYK). */
  components: number;
}

/**
 * Find a JPEG's frame header (SOFn) by walking its markers, and check the pixel limit.
 *
 * @param bytes The file's bytes.
 * @param name The file name for messages.
 * @param maxPixels The largest width x height accepted.
 * @returns The frame header.
 */
export function checkJpeg(bytes: Uint8Array, name: string, maxPixels: number): JpegHeader {
  if (!isJpeg(bytes)) throw new UserError(`${name}: not a JPEG file (no SOI marker)`);
  let pos = 2;
  while (pos + 4 <= bytes.length) {
    if (bytes[pos] !== 0xff) throw new UserError(`${name}: corrupt JPEG (bad marker at ${pos})`);
    const marker = bytes[pos + 1];
    if (marker === 0xff) {
      pos++;
      continue;
    }
    const len = (bytes[pos + 2] << 8) | bytes[pos + 3];
    if (len < 2 || pos + 2 + len > bytes.length) {
      throw new UserError(`${name}: truncated JPEG (segment runs past the end)`);
    }
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 &&
      marker !== 0xcc;
    if (isSof) {
      if (len < 8) throw new UserError(`${name}: corrupt JPEG (short frame header)`);
      const height = (bytes[pos + 5] << 8) | bytes[pos + 6];
      const width = (bytes[pos + 7] << 8) | bytes[pos + 8];
      const components = bytes[pos + 9];
      if (width === 0 || height === 0) {
        throw new UserError(`${name}: JPEG has a zero size (${width}x${height})`);
      }
      if (width * height > maxPixels) {
        throw new UserError(
          `${name}: JPEG is ${width}x${height} = ${width * height} pixels, over the limit of ` +
            `${maxPixels} (raise it with --max-pixels)`,
        );
      }
      return { width, height, components };
    }
    if (marker === 0xda) break;
    pos += 2 + len;
  }
  throw new UserError(`${name}: corrupt or truncated JPEG (no frame header)`);
}

/**
 * Decode a baseline or progressive JPEG into planar [0,1] samples.
 *
 * A one-component JPEG decodes to one gray channel.
 *
 * @param bytes The file's bytes.
 * @param name The file name for messages.
 * @param maxPixels The largest width x height accepted.
 * @returns The decoded image.
 */
export function decodeJpeg(bytes: Uint8Array, name: string, maxPixels: number): DecodedImage {
  const header = checkJpeg(bytes, name, maxPixels);
  let img: { width: number; height: number; data: Uint8Array };
  try {
    img = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: true,
      maxResolutionInMP: Math.ceil(maxPixels / 1e6),
      maxMemoryUsageInMB: 4096,
    });
  } catch (e) {
    throw new UserError(`${name}: corrupt JPEG (${(e as Error).message})`);
  }
  const { width, height } = img;
  const channels = header.components === 1 ? 1 : 3;
  const plane = width * height;
  const pixels = new Float32Array(channels * plane);
  const d = img.data;
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < channels; c++) pixels[c * plane + p] = d[4 * p + c] / 255;
  }
  return { width, height, channels, pixels, alpha: null };
}
