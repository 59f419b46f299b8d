/**
 * JPEG decoding through jpeg-js, after our own marker walk checks the size.
 *
 * @module
 */

import jpeg from "npm:jpeg-js@0.4.4";
import { UserError } from "./errors.ts";
import type { DecodedImage } from "./image.ts";
import type { Tensor } from "./tensor.ts";

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
        throw UserError.about(
          "maxPixels",
          `${name}: JPEG is ${width}x${height} = ${width * height} pixels, over the limit of ` +
            `${maxPixels} (raise the limit to read it)`,
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
  return orient({ width, height, channels, pixels, alpha: null }, exifOrientation(bytes));
}

/**
 * The EXIF orientation of a JPEG (1 to 8, tag 0x0112 of its APP1 Exif block), 1 when absent.
 *
 * @param bytes The file's bytes.
 * @returns The orientation.
 */
export function exifOrientation(bytes: Uint8Array): number {
  let pos = 2;
  while (pos + 4 <= bytes.length && bytes[pos] === 0xff) {
    const marker = bytes[pos + 1], len = (bytes[pos + 2] << 8) | bytes[pos + 3];
    if (marker === 0xda || marker === 0xd9) break; // image data: no more metadata
    const start = pos + 4;
    if (
      marker === 0xe1 && len >= 16 && bytes[start] === 0x45 && bytes[start + 1] === 0x78 &&
      bytes[start + 2] === 0x69 && bytes[start + 3] === 0x66 // "Exif"
    ) {
      const tiff = start + 6;
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const little = bytes[tiff] === 0x49;
      const u16 = (o: number) => (o + 2 <= start + len - 2 ? view.getUint16(o, little) : 0);
      const u32 = (o: number) => (o + 4 <= start + len - 2 ? view.getUint32(o, little) : 0);
      const ifd = tiff + u32(tiff + 4);
      const count = u16(ifd);
      for (let k = 0; k < count; k++) {
        const entry = ifd + 2 + 12 * k;
        if (u16(entry) === 0x0112) {
          const v = u16(entry + 8);
          return v >= 1 && v <= 8 ? v : 1;
        }
      }
      return 1;
    }
    pos = start + len - 2;
  }
  return 1;
}

/**
 * An image turned upright for an EXIF orientation (2: mirrored, 3: turned 180°, 4: flipped,
 * 5 to 8: transposed and turned, as the EXIF specification defines them).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { orient } from "./jpeg.ts";
 *
 * const img = { width: 2, height: 1, channels: 1 as const, pixels: Float32Array.of(0, 1), alpha: null };
 * const up = orient(img, 6); // a phone photo taken turned: rotate 90° clockwise
 * assert.deepEqual([up.width, up.height, ...up.pixels], [1, 2, 0, 1]);
 * ```
 *
 * @param img The decoded image.
 * @param orientation The EXIF orientation (1 leaves it as it is).
 * @returns The upright image.
 */
export function orient(img: DecodedImage, orientation: number): DecodedImage {
  if (orientation <= 1 || orientation > 8) return img;
  const { width: w, height: h, channels } = img;
  const swap = orientation >= 5;
  const W = swap ? h : w, H = swap ? w : h;
  // for each output pixel (x, y), the source pixel it shows
  const source = (x: number, y: number): number => {
    switch (orientation) {
      case 2:
        return y * w + (w - 1 - x);
      case 3:
        return (h - 1 - y) * w + (w - 1 - x);
      case 4:
        return (h - 1 - y) * w + x;
      case 5:
        return x * w + y;
      case 6:
        return (h - 1 - x) * w + y;
      case 7:
        return (h - 1 - x) * w + (w - 1 - y);
      default:
        return x * w + (w - 1 - y); // 8
    }
  };
  const plane = w * h;
  const remap = (src: Float32Array, planes: number) => {
    const out = new Float32Array(src.length);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const from = source(x, y);
        for (let c = 0; c < planes; c++) out[c * plane + y * W + x] = src[c * plane + from];
      }
    }
    return out;
  };
  return {
    width: W,
    height: H,
    channels,
    pixels: remap(img.pixels, channels),
    alpha: img.alpha ? remap(img.alpha, 1) : null,
  };
}

/**
 * Encode an RGB image tensor ([0,1], clamped, rounded) as a baseline JPEG with jpeg-js.
 *
 * @example
 * ```ts
 * import { encodeJpeg } from "./jpeg.ts";
 * import { Tensor } from "./tensor.ts";
 * const jpg = encodeJpeg(new Tensor([1, 3, 8, 8], new Float32Array(192).fill(0.5)), 90);
 * console.log(jpg[0].toString(16), jpg[1].toString(16)); // ff d8
 * ```
 *
 * @param t The image, [1, 3, H, W].
 * @param quality 1 to 100.
 * @returns The JPEG file's bytes.
 */
export function encodeJpeg(t: Tensor, quality: number): Uint8Array<ArrayBuffer> {
  if (!(quality >= 1 && quality <= 100)) {
    throw new RangeError(`JPEG quality must be 1..100, got ${quality}`);
  }
  const plane = t.h * t.w, rgba = new Uint8Array(4 * plane);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) {
      const v = t.data[c * plane + p];
      rgba[4 * p + c] = Math.round(Math.min(1, Math.max(0, Number.isNaN(v) ? 0 : v)) * 255);
    }
    rgba[4 * p + 3] = 255;
  }
  const out = jpeg.encode({ data: rgba, width: t.w, height: t.h }, quality);
  return new Uint8Array(out.data);
}
