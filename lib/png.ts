/**
 * PNG decoding (through pngjs, after our own checks) and encoding (8 or 16 bit).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { deflateSync } from "node:zlib";
import pngjs from "npm:pngjs@7.0.0";
import { UserError } from "./errors.ts";
import type { DecodedImage } from "./image.ts";

const _SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
const _VALID_DEPTHS: Record<number, number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};

let _crcTable: Uint32Array | undefined;

/**
 * CRC-32 (ISO 3309, as PNG uses it) of a byte range.
 *
 * @param bytes The data.
 * @returns The unsigned 32-bit CRC.
 */
export function crc32(bytes: Uint8Array): number {
  if (!_crcTable) {
    _crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      _crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = _crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** True when the bytes start with the PNG signature. */
export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && _SIGNATURE.every((s, i) => bytes[i] === s);
}

/** Header fields of a PNG file, read without decoding pixels. */
export interface PngHeader {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** Bits per sample. */
  bitDepth: number;
  /** PNG colour type (0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA). */
  colorType: number;
  /** Adam7 interlacing. */
  interlaced: boolean;
}

/**
 * Walk a PNG's chunks and validate its structure before any pixel is allocated.
 *
 * Checks the signature, the IHDR fields, the pixel limit, every chunk's length and CRC,
 * and the presence of IDAT and IEND. Each failure is a {@linkcode UserError} naming `name`.
 *
 * @param bytes The file's bytes.
 * @param name The file name for messages.
 * @param maxPixels The largest width x height accepted.
 * @returns The header.
 */
export function checkPng(bytes: Uint8Array, name: string, maxPixels: number): PngHeader {
  if (!isPng(bytes)) throw new UserError(`${name}: not a PNG file (bad signature)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 8;
  let header: PngHeader | undefined;
  let sawIdat = false;
  let sawEnd = false;
  while (pos < bytes.length) {
    if (pos + 12 > bytes.length) throw new UserError(`${name}: truncated PNG (partial chunk)`);
    const len = view.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    if (len > 0x7fffffff || pos + 12 + len > bytes.length) {
      throw new UserError(`${name}: truncated PNG (chunk ${type} runs past the end)`);
    }
    const crc = view.getUint32(pos + 8 + len);
    if (crc32(bytes.subarray(pos + 4, pos + 8 + len)) !== crc) {
      throw new UserError(`${name}: corrupt PNG (bad CRC in chunk ${type})`);
    }
    if (!header) {
      if (type !== "IHDR" || len !== 13) {
        throw new UserError(`${name}: corrupt PNG (first chunk is not a valid IHDR)`);
      }
      header = _readIhdr(view, pos + 8, name, maxPixels);
    } else if (type === "IDAT") {
      sawIdat = true;
    } else if (type === "IEND") {
      sawEnd = true;
      break;
    }
    pos += 12 + len;
  }
  if (!header) throw new UserError(`${name}: truncated PNG (no IHDR)`);
  if (!sawIdat) throw new UserError(`${name}: corrupt PNG (no image data)`);
  if (!sawEnd) throw new UserError(`${name}: truncated PNG (no IEND chunk)`);
  return header;
}

function _readIhdr(view: DataView, at: number, name: string, maxPixels: number): PngHeader {
  const width = view.getUint32(at);
  const height = view.getUint32(at + 4);
  const bitDepth = view.getUint8(at + 8);
  const colorType = view.getUint8(at + 9);
  const interlace = view.getUint8(at + 12);
  if (width === 0 || height === 0) {
    throw new UserError(`${name}: PNG has a zero size (${width}x${height})`);
  }
  if (width * height > maxPixels) {
    throw UserError.about(
      "maxPixels",
      `${name}: PNG is ${width}x${height} = ${width * height} pixels, over the limit of ` +
        `${maxPixels} (raise the limit to read it)`,
    );
  }
  if (!_VALID_DEPTHS[colorType]?.includes(bitDepth)) {
    throw new UserError(`${name}: invalid PNG colour type ${colorType} / bit depth ${bitDepth}`);
  }
  if (interlace > 1) throw new UserError(`${name}: invalid PNG interlace method ${interlace}`);
  return { width, height, bitDepth, colorType, interlaced: interlace === 1 };
}

/**
 * Decode a PNG (1 to 16 bit; gray, gray+alpha, RGB, RGBA, palette; interlaced or not).
 *
 * @param bytes The file's bytes.
 * @param name The file name for messages.
 * @param maxPixels The largest width x height accepted.
 * @returns Planar float samples in [0,1].
 */
export function decodePng(bytes: Uint8Array, name: string, maxPixels: number): DecodedImage {
  const header = checkPng(bytes, name, maxPixels);
  let png: { data: ArrayLike<number>; width: number; height: number };
  try {
    png = pngjs.PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
      skipRescale: true,
      checkCRC: true,
    });
  } catch (e) {
    throw new UserError(`${name}: corrupt PNG (${(e as Error).message})`);
  }
  const { width, height, colorType, bitDepth } = header;
  const scale = colorType === 3 ? 255 : (1 << bitDepth) - 1;
  const gray = colorType === 0 || colorType === 4;
  const channels = gray ? 1 : 3;
  const plane = width * height;
  const pixels = new Float32Array(channels * plane);
  const alpha = new Float32Array(plane);
  const d = png.data;
  let hasAlpha = false;
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < channels; c++) pixels[c * plane + p] = d[4 * p + c] / scale;
    const a = d[4 * p + 3] / scale;
    alpha[p] = a;
    if (a < 1) hasAlpha = true;
  }
  return { width, height, channels, pixels, alpha: hasAlpha ? alpha : null };
}

/**
 * Encode planar [0,1] samples (gray, RGB or RGBA) as a PNG, clamped and rounded to nearest.
 *
 * @example
 * ```ts
 * import { encodePng } from "./png.ts";
 * const bytes = encodePng(new Float32Array(3 * 4), 2, 2, 3);
 * console.log(bytes[1]); // 80 ("P")
 * ```
 *
 * @param pixels Planar samples, channel-major.
 * @param width Width in pixels.
 * @param height Height in pixels.
 * @param channels 1 (gray), 3 (RGB) or 4 (RGBA, alpha last).
 * @param bitDepth 8 or 16.
 * @returns The PNG file's bytes.
 */
export function encodePng(
  pixels: Float32Array,
  width: number,
  height: number,
  channels: 1 | 3 | 4,
  bitDepth: 8 | 16 = 8,
): Uint8Array<ArrayBuffer> {
  const plane = width * height;
  if (pixels.length !== channels * plane) {
    throw new RangeError(`expected ${channels * plane} samples, got ${pixels.length}`);
  }
  const bytesPerSample = bitDepth / 8;
  const maxv = bitDepth === 8 ? 255 : 65535;
  const rowLen = 1 + width * channels * bytesPerSample;
  const raw = new Uint8Array(rowLen * height);
  for (let y = 0; y < height; y++) {
    raw[y * rowLen] = 0; // filter: none
    let o = y * rowLen + 1;
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      for (let c = 0; c < channels; c++) {
        const v = pixels[c * plane + p];
        const q = Math.round(Math.min(1, Math.max(0, Number.isNaN(v) ? 0 : v)) * maxv);
        if (bitDepth === 8) raw[o++] = q;
        else {
          raw[o++] = q >> 8;
          raw[o++] = q & 0xff;
        }
      }
    }
  }
  const chunks = [
    pngHead(width, height, channels, bitDepth),
    pngChunk("IDAT", new Uint8Array(deflateSync(raw, { level: 6 }))),
    pngChunk("IEND", new Uint8Array()),
  ];
  const out = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
  let pos = 0;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.length;
  }
  return out;
}

/**
 * The bytes every PNG of a size and layout starts with: the signature and the IHDR chunk (what
 * {@linkcode encodePng} writes first).
 *
 * @example
 * ```ts
 * import { pngHead } from "./png.ts";
 * console.log(pngHead(4, 2, 3).length); // 33
 * ```
 *
 * @param width Width in pixels.
 * @param height Height in pixels.
 * @param channels 1 (gray), 3 (RGB) or 4 (RGBA).
 * @param bitDepth 8 or 16.
 * @returns Signature and IHDR, 33 bytes.
 */
export function pngHead(
  width: number,
  height: number,
  channels: 1 | 3 | 4,
  bitDepth: 8 | 16 = 8,
): Uint8Array {
  const ihdr = new Uint8Array(13);
  const hv = new DataView(ihdr.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  ihdr[8] = bitDepth;
  ihdr[9] = channels === 4 ? 6 : channels === 3 ? 2 : 0; // RGBA, RGB or gray
  const chunk = pngChunk("IHDR", ihdr);
  const out = new Uint8Array(8 + chunk.length);
  out.set(_SIGNATURE, 0);
  out.set(chunk, 8);
  return out;
}

/**
 * One PNG chunk: length, type, data and CRC.
 *
 * @param type The four-letter chunk type.
 * @param data The chunk's data.
 * @returns The chunk's bytes.
 */
export function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}
