/**
 * IEEE 754 half-precision encoding, for compact model parameters.
 *
 * @module
 */

import { bytesToBase64 } from "./base64.ts";

const _f32 = new Float32Array(1);
const _u32 = new Uint32Array(_f32.buffer);

/**
 * Round a number to the nearest half-precision value and return its 16 bits.
 *
 * @param value The number.
 * @returns The half's bits.
 */
export function toHalf(value: number): number {
  _f32[0] = value;
  const x = _u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >> shift;
    if ((mant >> (shift - 1)) & 1 && ((mant & ((1 << (shift - 1)) - 1)) || (half & 1))) half++;
    return sign | half;
  }
  let half = sign | (e << 10) | (mant >> 13);
  if ((mant & 0x1000) && ((mant & 0xfff) || (half & 1))) half++; // round to nearest even
  e = 0;
  return half;
}

/**
 * The number a half-precision bit pattern encodes.
 *
 * @param h The half's bits.
 * @returns The number.
 */
export function fromHalf(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/**
 * Round float32 values to half precision (the bits, round to nearest even).
 *
 * @example
 * ```ts
 * import { halfArray, halfToFloat32 } from "./float16.ts";
 * console.log(Array.from(halfToFloat32(halfArray(Float32Array.of(0.1, 1, 65504)))));
 * // [0.0999755859375, 1, 65504]
 * ```
 *
 * @param values The values.
 * @returns Their half-precision bits.
 */
export function halfArray(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = toHalf(values[i]);
  return out;
}

/**
 * Widen half-precision values (bits, or a `Float16Array`) to float32.
 *
 * @param halves The values.
 * @returns float32 values.
 */
export function halfToFloat32(halves: ArrayLike<number>): Float32Array {
  if (!(halves instanceof Uint16Array)) return Float32Array.from(halves);
  const out = new Float32Array(halves.length);
  for (let i = 0; i < halves.length; i++) out[i] = fromHalf(halves[i]);
  return out;
}

/**
 * Encode numbers as base64 half-precision values (little-endian).
 *
 * @param values The numbers.
 * @returns Base64 text.
 */
export function encodeHalfBase64(values: ArrayLike<number>): string {
  const bytes = new Uint8Array(values.length * 2);
  for (let i = 0; i < values.length; i++) {
    const h = toHalf(values[i]);
    bytes[2 * i] = h & 0xff;
    bytes[2 * i + 1] = h >> 8;
  }
  return bytesToBase64(bytes);
}

/**
 * Decode base64 half-precision values.
 *
 * @param text Base64 text from {@linkcode encodeHalfBase64}.
 * @returns The numbers as float32.
 */
export function decodeHalfBase64(text: string): Float32Array {
  const bin = atob(text);
  const out = new Float32Array(bin.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = fromHalf(bin.charCodeAt(2 * i) | (bin.charCodeAt(2 * i + 1) << 8));
  }
  return out;
}
