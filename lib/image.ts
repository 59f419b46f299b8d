/**
 * Image files to tensors and back: PNG and JPEG in, PNG (8/16 bit) and `.npy` out.
 *
 * @module
 */

import { UserError } from "./errors.ts";
import { decodeJpeg, encodeJpeg, isJpeg } from "./jpeg.ts";
import { decodePng, encodePng, isPng } from "./png.ts";
import { Tensor } from "./tensor.ts";
import { encodeNpy } from "./npy.ts";
import { writeFileAtomic } from "./atomic_write.ts";

/** The default pixel limit of decoding: 64 megapixels. */
export const DEFAULT_MAX_PIXELS: number = 64 * 1024 * 1024;

/** A decoded image: planar float samples in [0,1] plus optional alpha. */
export interface DecodedImage {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** 1 for gray sources, 3 for colour sources. */
  channels: 1 | 3;
  /** Planar samples (`channels` planes of `width * height`), in [0,1]. */
  pixels: Float32Array;
  /** Alpha in [0,1] per pixel, or `null` when the image is fully opaque. */
  alpha: Float32Array | null;
}

/** Options of image decoding. */
export interface DecodeOptions {
  /** Largest width x height accepted (default {@linkcode DEFAULT_MAX_PIXELS}). */
  maxPixels?: number;
}

/**
 * Decode PNG or JPEG bytes, choosing the format by its signature.
 *
 * Hostile input is refused before pixels are allocated: over-limit sizes, zero sizes,
 * truncated files and bad CRCs each give a {@linkcode UserError} naming `name`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeImage, Tensor, tensorToPng } from "@diffrestore/sampler";
 *
 * const img = decodeImage(tensorToPng(Tensor.zeros([1, 1, 2, 3])), "tiny.png");
 * assert.deepEqual([img.channels, img.width, img.height], [1, 3, 2]);
 * ```
 *
 * @param bytes The file's bytes.
 * @param name The file name for messages.
 * @param options Decoding limits.
 * @returns The decoded image.
 */
export function decodeImage(
  bytes: Uint8Array,
  name: string,
  options: DecodeOptions = {},
): DecodedImage {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (bytes.length === 0) throw new UserError(`${name}: empty file`);
  if (isPng(bytes)) return decodePng(bytes, name, maxPixels);
  if (isJpeg(bytes)) return decodeJpeg(bytes, name, maxPixels);
  throw new UserError(`${name}: not a PNG or JPEG image`);
}

/**
 * Read and decode an image file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readImage, Tensor, writeImageTensor } from "@diffrestore/sampler";
 *
 * const path = `${await Deno.makeTempDir()}/photo.jpg`;
 * await writeImageTensor(path, new Tensor([1, 3, 16, 24], new Float32Array(3 * 16 * 24).fill(0.5)));
 * const img = await readImage(path, { maxPixels: 16_000_000 });
 * assert.deepEqual([img.width, img.height, img.channels], [24, 16, 3]);
 * ```
 *
 * @param path The file's path.
 * @param options Decoding limits.
 * @returns The decoded image.
 */
export async function readImage(path: string, options: DecodeOptions = {}): Promise<DecodedImage> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new UserError(`${path}: no such file`);
    if (e instanceof Deno.errors.IsADirectory) throw new UserError(`${path}: is a directory`);
    throw new UserError(`${path}: cannot read (${(e as Error).message})`);
  }
  return decodeImage(bytes, path, options);
}

/**
 * The image's samples as a `[1, C, H, W]` tensor in [0,1] (alpha dropped).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeImage, imageToTensor, Tensor, tensorToPng } from "@diffrestore/sampler";
 *
 * const png = tensorToPng(new Tensor([1, 1, 2, 2], Float32Array.of(0, 1, 1, 0)));
 * const t = imageToTensor(decodeImage(png, "tiny.png"), 3); // gray to three channels
 * assert.deepEqual(t.shape, [1, 3, 2, 2]);
 * assert.equal(t.data[1], 1);
 * ```
 *
 * @param image A decoded image.
 * @param channels Force 1 (luma-free average is not applied: gray is kept as is) or 3
 *   channels; a gray image asked for 3 channels is replicated.
 * @returns The tensor.
 */
export function imageToTensor(image: DecodedImage, channels?: 1 | 3): Tensor {
  const c = channels ?? image.channels;
  const plane = image.width * image.height;
  if (c === image.channels) {
    return new Tensor([1, c, image.height, image.width], image.pixels.slice());
  }
  const out = new Float32Array(c * plane);
  if (c === 3) {
    for (let k = 0; k < 3; k++) out.set(image.pixels.subarray(0, plane), k * plane);
  } else {
    // colour to one channel: the colorization operator's weights
    const p = image.pixels;
    for (let i = 0; i < plane; i++) {
      out[i] = 0.3333 * p[i] + 0.3334 * p[plane + i] + 0.3333 * p[2 * plane + i];
    }
  }
  return new Tensor([1, c, image.height, image.width], out);
}

/**
 * Encode a `[1, C, H, W]` tensor in [0,1] units as an 8-bit (or 16-bit) PNG.
 *
 * Values are clamped to [0,1] and rounded to nearest. One channel gives a gray PNG;
 * three give RGB.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeImage, Tensor, tensorToPng } from "@diffrestore/sampler";
 *
 * const png = tensorToPng(new Tensor([1, 3, 4, 4], new Float32Array(48).fill(0.5)), 16);
 * assert.deepEqual([...png.subarray(1, 4)], [80, 78, 71]); // "PNG"
 * assert.equal(decodeImage(png, "gray.png").pixels[0], Math.fround(32768 / 65535));
 * ```
 *
 * @param t The image tensor.
 * @param bitDepth 8 or 16.
 * @returns The PNG bytes.
 */
export function tensorToPng(t: Tensor, bitDepth: 8 | 16 = 8): Uint8Array<ArrayBuffer> {
  if (t.n !== 1 || (t.c !== 1 && t.c !== 3)) {
    throw new RangeError(`cannot encode a tensor of shape [${t.shape.join(", ")}] as a PNG`);
  }
  return encodePng(t.data, t.w, t.h, t.c as 1 | 3, bitDepth);
}

/** How {@linkcode writeImageTensor} encodes an image. */
export interface WriteOptions {
  /** PNG sample depth (default 8). */
  bitDepth?: 8 | 16;
  /** JPEG quality, 1 to 100 (default 95). */
  quality?: number;
  /** An alpha plane (H·W values in [0,1]) for a PNG output (RGBA); ignored otherwise. */
  alpha?: Float32Array | null;
}

/**
 * Write an image tensor ([0,1] units) as `.png` (RGB, or RGBA with `alpha`; 8 or 16 bits;
 * clamped, rounded), `.jpg`/`.jpeg` (`quality`) or `.npy` (float32 `[1, C, H, W]`,
 * unclipped), chosen by the path's extension; atomically.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { imageToTensor, readImage, Tensor, writeImageTensor } from "@diffrestore/sampler";
 *
 * const path = `${await Deno.makeTempDir()}/gray.png`;
 * await writeImageTensor(path, new Tensor([1, 1, 8, 8], new Float32Array(64).fill(0.2)));
 * const back = imageToTensor(await readImage(path));
 * assert.ok(Math.abs(back.data[0] - 0.2) < 1 / 255); // 8 bits per channel
 * ```
 *
 * @param path Destination ending in `.png`, `.jpg`, `.jpeg` or `.npy`.
 * @param t The image tensor.
 * @param options Bit depth, JPEG quality, alpha.
 */
export async function writeImageTensor(
  path: string,
  t: Tensor,
  options: WriteOptions = {},
): Promise<void> {
  const format = outputFormat(path);
  if (format === "npy") {
    await writeFileAtomic(path, encodeNpy(t.shape, t.data));
    return;
  }
  const rgb = t.c === 1 ? imageToTensor(_asImage(t), 3) : t;
  if (format === "jpeg") {
    await writeFileAtomic(path, encodeJpeg(rgb, options.quality ?? 95));
    return;
  }
  const alpha = options.alpha ?? null;
  if (alpha && alpha.length !== rgb.h * rgb.w) {
    throw new RangeError(`alpha has ${alpha.length} values for a ${rgb.w}x${rgb.h} image`);
  }
  const planes = alpha ? new Float32Array(4 * rgb.h * rgb.w) : rgb.data;
  if (alpha) {
    planes.set(rgb.data);
    planes.set(alpha, 3 * rgb.h * rgb.w);
  }
  await writeFileAtomic(
    path,
    encodePng(planes, rgb.w, rgb.h, alpha ? 4 : 3, options.bitDepth ?? 8),
  );
}

/**
 * The output format a path asks for, by extension.
 *
 * @param path The output path.
 * @returns `png`, `jpeg` or `npy`; a {@linkcode UserError} for anything else.
 */
export function outputFormat(path: string): "png" | "jpeg" | "npy" {
  const ext = /\.([^./]+)$/.exec(path.toLowerCase())?.[1];
  if (ext === "png" || ext === "npy") return ext;
  if (ext === "jpg" || ext === "jpeg") return "jpeg";
  throw new UserError(`${path}: output must end in .png, .jpg, .jpeg or .npy`);
}

function _asImage(t: Tensor): DecodedImage {
  return { width: t.w, height: t.h, channels: 1, pixels: t.data, alpha: null };
}
