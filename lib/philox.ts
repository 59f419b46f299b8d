/**
 * Philox-4x32-10, the counter-based generator of Salmon et al. (SC'11, "Random123").
 *
 * @module
 */

const _M0 = 0xd2511f53;
const _M1 = 0xcd9e8d57;
const _W0 = 0x9e3779b9;
const _W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two uint32 values, exact in doubles. */
function _mulhi(a: number, b: number): number {
  const p1 = (a & 0xffff) * b; // < 2^48, exact
  const p2 = (a >>> 16) * b; // < 2^48, exact
  return Math.floor((p2 + Math.floor(p1 / 65536)) / 65536) >>> 0;
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
    const hi0 = _mulhi(_M0, c0 >>> 0);
    const lo1 = Math.imul(_M1, c2) >>> 0;
    const hi1 = _mulhi(_M1, c2 >>> 0);
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
