/**
 * Sources of standard-normal draws: the seeded counter-based generator and `.npy` files.
 *
 * ## The generator (documented so that any implementation can reproduce it)
 *
 * For seed `s` (an integer in [0, 2^53)), stream `k` and value index `i` (0-based, counted
 * from the first draw of the run):
 *
 * 1. key = (s mod 2^32, floor(s / 2^32)); block b = floor(i / 4); lane = i mod 4;
 * 2. (r0, r1, r2, r3) = Philox-4x32-10(counter = (b mod 2^32, floor(b / 2^32), k, 0), key);
 * 3. u_j = (r_j + 0.5) / 2^32, so every u_j is in (0, 1);
 * 4. Box-Muller on the pairs (u0, u1) and (u2, u3):
 *    n0 = √(−2 ln u0) cos(2π u1), n1 = √(−2 ln u0) sin(2π u1), and likewise n2, n3 from (u2, u3),
 *    computed in float64;
 * 5. value i = n_lane, rounded to float32.
 *
 * Every value depends only on (s, k, i), so a GPU kernel produces the same stream in parallel.
 * On the CPU, whole groups of four blocks run in a WebAssembly SIMD loop (`philox_wasm.ts`)
 * whose float64 log, cos and sin are accurate to about an ulp; it is tested to give the
 * TypeScript reference's float32 values (`Math.log`, `Math.cos`, `Math.sin`) bit for bit. Another
 * float64 implementation may, very rarely, differ in the last float32 bit; the WGSL kernel
 * works in float32 and agrees to about 1e-6.
 *
 * @module
 */

import { philoxNormals } from "./philox.ts";
import { UserError } from "./errors.ts";
import { Tensor } from "./tensor.ts";
import type { Shape4 } from "./tensor.ts";

/** A stream of standard-normal values consumed front to back. */
export interface NoiseSource {
  /** How many values have been drawn so far. */
  readonly drawn: number;
  /**
   * Fill `out` with the next `out.length` values of the stream.
   *
   * @param out Receives the values.
   */
  fill(out: Float32Array): void;
  /**
   * Fail early, before any work, when fewer than `total` values can be drawn in all.
   *
   * @param total Values the whole run will draw.
   */
  require(total: number): void;
}

/**
 * The seeded, counter-based Gaussian generator described in this module's documentation.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GaussianNoise } from "@diffrestore/sampler";
 *
 * const a = new Float32Array(8), b = new Float32Array(8);
 * new GaussianNoise(7).fill(a);
 * new GaussianNoise(7).fill(b);
 * assert.deepEqual(a, b); // the same seed, the same draws
 * ```
 */
export class GaussianNoise implements NoiseSource {
  /** The seed. */
  readonly seed: number;
  /** The stream number (counter word 2). */
  readonly stream: number;
  #offset = 0;

  /**
   * Create a generator.
   *
   * @param seed Integer seed in [0, 2^53).
   * @param stream Stream number in [0, 2^32).
   * @param offset Index of the first value to draw.
   */
  constructor(seed: number, stream = 0, offset = 0) {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new UserError(`seed must be an integer in [0, 2^53), got ${seed}`);
    }
    this.seed = seed;
    this.stream = stream >>> 0;
    this.#offset = offset;
  }

  /** How many values have been drawn so far (the index of the next value). */
  get drawn(): number {
    return this.#offset;
  }

  /**
   * The value at absolute index `i` of this seed and stream (does not advance the stream).
   *
   * @param i Value index.
   * @returns The standard-normal value, as float32.
   */
  valueAt(i: number): number {
    const tmp = new Float32Array(4);
    this.#block(Math.floor(i / 4), tmp);
    return tmp[i % 4];
  }

  #block(b: number, dst: Float32Array): void {
    philoxNormals(this.seed, this.stream, b, 1, dst, 0);
  }

  /**
   * Fill `out` with the next values.
   *
   * @param out Receives the values.
   */
  fill(out: Float32Array): void {
    const n = out.length;
    let i = this.#offset, k = 0;
    const tmp = new Float32Array(4);
    // unaligned head, then whole blocks straight into `out`, then the tail
    while (k < n && i % 4 !== 0) {
      this.#block(Math.floor(i / 4), tmp);
      out[k++] = tmp[i % 4];
      i++;
    }
    const blocks = Math.floor((n - k) / 4);
    philoxNormals(this.seed, this.stream, i / 4, blocks, out, k);
    k += 4 * blocks;
    i += 4 * blocks;
    if (k < n) {
      this.#block(i / 4, tmp);
      for (let j = 0; k < n; j++, k++, i++) out[k] = tmp[j];
    }
    this.#offset = i;
  }

  /**
   * Skip `count` values (a GPU kernel generated them from the same counters).
   *
   * @param count Values to skip.
   */
  advance(count: number): void {
    this.#offset += count;
  }

  /** The generator never runs out. */
  require(_total: number): void {}
}

/**
 * Standard-normal values read from a float32 `.npy` file (any shape), front to back.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ArrayNoise } from "@diffrestore/sampler";
 *
 * const noise = new ArrayNoise(new Float32Array([0.5, -1, 2]), "noise.npy");
 * const a = new Float32Array(2);
 * noise.fill(a); // recorded draws, in order
 * assert.deepEqual([...a], [0.5, -1]);
 * ```
 */
export class ArrayNoise implements NoiseSource {
  #values: Float32Array;
  #name: string;
  #offset = 0;

  /**
   * Wrap recorded draws.
   *
   * @param values The draws, in the order the run consumes them.
   * @param name A name for error messages (the file's path).
   */
  constructor(values: Float32Array, name: string) {
    this.#values = values;
    this.#name = name;
  }

  /** How many values have been drawn so far. */
  get drawn(): number {
    return this.#offset;
  }

  /**
   * Fill `out` with the next values; running out is a {@linkcode UserError}.
   *
   * @param out Receives the values.
   */
  fill(out: Float32Array): void {
    this.require(this.#offset + out.length);
    out.set(this.#values.subarray(this.#offset, this.#offset + out.length));
    this.#offset += out.length;
  }

  /**
   * Fail when the file holds fewer than `total` values.
   *
   * @param total Values the whole run will draw.
   */
  require(total: number): void {
    if (total > this.#values.length) {
      throw new UserError(
        `noise file ${this.#name} ran out: the run needs ${total} values, ` +
          `the file has ${this.#values.length}`,
      );
    }
  }
}

/**
 * Draw one tensor of the given shape from a noise source.
 *
 * @param source The noise source.
 * @param shape The tensor's shape.
 * @returns A new tensor of standard-normal values.
 */
export function drawTensor(source: NoiseSource, shape: Shape4): Tensor {
  const t = Tensor.zeros(shape);
  source.fill(t.data);
  return t;
}
