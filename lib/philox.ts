/**
 * Philox-4x32-10, the counter-based generator of Salmon et al. (SC'11, "Random123").
 *
 * @module
 */

import { philoxNormalsWasm } from "./philox_wasm.ts";

const _M0 = 0xd2511f53;
const _M1 = 0xcd9e8d57;
const _W0 = 0x9e3779b9;
const _W1 = 0xbb67ae85;

const _INV32 = 1 / 4294967296;

/**
 * High 32 bits of the 64-bit product of two uint32 values: the double product is within 2^11
 * of the exact one, so (a·b − lo)/2^32 is within 5e-7 of the integer high word and rounding
 * recovers it.
 */
function _mulhi(a: number, b: number, lo: number): number {
  return ((a * b - lo) * _INV32 + 0.5) >>> 0;
}

/**
 * Philox-4x32 with 10 rounds: four uint32 outputs for a 128-bit counter and 64-bit key.
 *
 * @example
 * ```ts
 * import { philox4x32 } from "./philox.ts";
 * const out = new Uint32Array(4);
 * philox4x32(0, 0, 0, 0, 0, 0, out);
 * console.log(out[0].toString(16)); // 6627e8d5 (Random123 known-answer vector)
 * ```
 *
 * @param c0 Counter word 0.
 * @param c1 Counter word 1.
 * @param c2 Counter word 2.
 * @param c3 Counter word 3.
 * @param k0 Key word 0.
 * @param k1 Key word 1.
 * @param out Receives the four output words.
 */
export function philox4x32(
  c0: number,
  c1: number,
  c2: number,
  c3: number,
  k0: number,
  k1: number,
  out: Uint32Array,
): void {
  for (let r = 0; r < 10; r++) {
    const lo0 = Math.imul(_M0, c0) >>> 0;
    const hi0 = _mulhi(_M0, c0 >>> 0, lo0);
    const lo1 = Math.imul(_M1, c2) >>> 0;
    const hi1 = _mulhi(_M1, c2 >>> 0, lo1);
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
    k0 = (k0 + _W0) >>> 0;
    k1 = (k1 + _W1) >>> 0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/**
 * Standard normals from Philox-4x32-10 blocks `first .. first + count − 1` of a seed and
 * stream, by Box-Muller (see `noise.ts` for the documented algorithm), written to
 * `out[offset ..]`. Whole groups of four blocks go through the WebAssembly SIMD loop of
 * `philox_wasm.ts` where it runs; the rest, and everything where it does not, through
 * {@linkcode philoxNormalsScalar}.
 *
 * @param seed Integer seed in [0, 2^53).
 * @param stream Stream number (counter word 2).
 * @param first First block index.
 * @param count Number of blocks (4 values each).
 * @param out Receives 4·count values.
 * @param offset Where in `out` to start.
 */
export function philoxNormals(
  seed: number,
  stream: number,
  first: number,
  count: number,
  out: Float32Array,
  offset: number,
): void {
  const groups = Math.floor(count / 4);
  let done = 0;
  if (groups > 0 && philoxNormalsWasm(seed, stream, first, groups, out, offset)) done = 4 * groups;
  philoxNormalsScalar(seed, stream, first + done, count - done, out, offset + 4 * done);
}

/**
 * {@linkcode philoxNormals} in plain TypeScript, one block at a time, with `Math.log`,
 * `Math.cos` and `Math.sin`: the reference the WebAssembly loop is tested against.
 *
 * @param seed Integer seed in [0, 2^53).
 * @param stream Stream number (counter word 2).
 * @param first First block index.
 * @param count Number of blocks (4 values each).
 * @param out Receives 4·count values.
 * @param offset Where in `out` to start.
 */
export function philoxNormalsScalar(
  seed: number,
  stream: number,
  first: number,
  count: number,
  out: Float32Array,
  offset: number,
): void {
  const k0 = seed >>> 0, k1 = Math.floor(seed / 4294967296) >>> 0;
  const inv = 1 / 4294967296, twoPi = 2 * Math.PI;
  const r = new Uint32Array(4);
  for (let q = 0; q < count; q++) {
    const b = first + q;
    philox4x32(b >>> 0, Math.floor(b / 4294967296) >>> 0, stream >>> 0, 0, k0, k1, r);
    const ra = Math.sqrt(-2 * Math.log((r[0] + 0.5) * inv));
    const rb = Math.sqrt(-2 * Math.log((r[2] + 0.5) * inv));
    const ta = twoPi * (r[1] + 0.5) * inv, tb = twoPi * (r[3] + 0.5) * inv;
    const o = offset + 4 * q;
    out[o] = ra * Math.cos(ta);
    out[o + 1] = ra * Math.sin(ta);
    out[o + 2] = rb * Math.cos(tb);
    out[o + 3] = rb * Math.sin(tb);
  }
}
