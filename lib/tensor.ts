/**
 * The one image-tensor type of the module: an NCHW shape and a `Float32Array`.
 *
 * @module
 */

/** Shape of an image tensor: batch, channels, height, width. */
export type Shape4 = readonly [number, number, number, number];

/**
 * A dense float32 image tensor in NCHW (C order) layout.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Tensor } from "@diffrestore/sampler";
 *
 * const t = Tensor.zeros([1, 3, 2, 2]); // NCHW, float32
 * t.data[0] = 1;
 * assert.equal(t.size, 12);
 * assert.deepEqual([t.c, t.h, t.w], [3, 2, 2]);
 * ```
 */
export class Tensor {
  /** The NCHW shape. */
  readonly shape: Shape4;
  /** The values in C order; its length equals the product of `shape`. */
  readonly data: Float32Array;

  /**
   * Wrap existing data; the length must match the shape.
   *
   * @param shape NCHW shape.
   * @param data Values in C order.
   */
  constructor(shape: Shape4, data: Float32Array) {
    const size = shape[0] * shape[1] * shape[2] * shape[3];
    if (data.length !== size) {
      throw new RangeError(
        `tensor data has ${data.length} values but shape [${shape.join(", ")}] needs ${size}`,
      );
    }
    this.shape = [shape[0], shape[1], shape[2], shape[3]];
    this.data = data;
  }

  /**
   * A tensor of zeros.
   *
   * @param shape NCHW shape.
   * @returns A new zero-filled tensor.
   */
  static zeros(shape: Shape4): Tensor {
    return new Tensor(shape, new Float32Array(shape[0] * shape[1] * shape[2] * shape[3]));
  }

  /** Number of values. */
  get size(): number {
    return this.data.length;
  }

  /** Batch size. */
  get n(): number {
    return this.shape[0];
  }

  /** Channels. */
  get c(): number {
    return this.shape[1];
  }

  /** Height. */
  get h(): number {
    return this.shape[2];
  }

  /** Width. */
  get w(): number {
    return this.shape[3];
  }

  /**
   * A deep copy.
   *
   * @returns A new tensor with copied data.
   */
  clone(): Tensor {
    return new Tensor(this.shape, this.data.slice());
  }

  /**
   * Map every value into a new tensor (`f(value, index)`).
   *
   * @param f The function applied to each value.
   * @returns A new tensor of the same shape.
   */
  map(f: (v: number, i: number) => number): Tensor {
    const out = new Float32Array(this.size);
    const d = this.data;
    for (let i = 0; i < d.length; i++) out[i] = f(d[i], i);
    return new Tensor(this.shape, out);
  }

  /**
   * The same values viewed with another shape of the same size (no copy).
   *
   * @param shape The new NCHW shape.
   * @returns A tensor sharing this tensor's data.
   */
  reshape(shape: Shape4): Tensor {
    return new Tensor(shape, this.data);
  }

  /**
   * Keep the first `channels` channels of every batch item (the learned-sigma split).
   *
   * @param channels How many leading channels to keep.
   * @returns A new tensor with `channels` channels.
   */
  firstChannels(channels: number): Tensor {
    const [n, c, h, w] = this.shape;
    if (channels === c) return this;
    if (channels > c) throw new RangeError(`cannot keep ${channels} of ${c} channels`);
    const plane = h * w;
    // one batch item: the leading channels are contiguous, so a view suffices
    if (n === 1) return new Tensor([1, channels, h, w], this.data.subarray(0, channels * plane));
    const out = new Float32Array(n * channels * plane);
    for (let b = 0; b < n; b++) {
      out.set(
        this.data.subarray(b * c * plane, (b * c + channels) * plane),
        b * channels * plane,
      );
    }
    return new Tensor([n, channels, h, w], out);
  }

  /**
   * Map [0,1] image units into the model range [lo, hi] (`lo + (hi - lo) x`).
   *
   * @param range The model's value range.
   * @returns A new tensor.
   */
  toRange(range: readonly [number, number]): Tensor {
    const [lo, hi] = range;
    if (lo === 0 && hi === 1) return this.clone();
    return this.map((v) => lo + (hi - lo) * v);
  }

  /**
   * Map values of the model range [lo, hi] back into [0,1] image units.
   *
   * @param range The model's value range.
   * @returns A new tensor.
   */
  fromRange(range: readonly [number, number]): Tensor {
    const [lo, hi] = range;
    if (lo === 0 && hi === 1) return this.clone();
    return this.map((v) => (v - lo) / (hi - lo));
  }
}

/**
 * Largest absolute difference between two same-sized tensors or arrays.
 *
 * @param a First values.
 * @param b Second values.
 * @returns max |a - b|.
 */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = d; // NaN propagates as NaN
  }
  return m;
}

/**
 * Mean absolute difference between two same-sized arrays.
 *
 * @param a First values.
 * @param b Second values.
 * @returns mean |a - b|.
 */
export function meanAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`length ${a.length} != ${b.length}`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

/**
 * A gray image [1, 1, H, W] as RGB: the one plane copied into three.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { grayToRgb, Tensor } from "@diffrestore/sampler";
 *
 * const rgb = grayToRgb(new Tensor([1, 1, 1, 2], Float32Array.of(0.25, 0.5)));
 * assert.deepEqual(rgb.shape, [1, 3, 1, 2]);
 * assert.deepEqual([...rgb.data], [0.25, 0.5, 0.25, 0.5, 0.25, 0.5]);
 * ```
 *
 * @param t The gray image.
 * @returns The RGB image.
 */
export function grayToRgb(t: Tensor): Tensor {
  const d = new Float32Array(3 * t.h * t.w);
  for (let c = 0; c < 3; c++) d.set(t.data.subarray(0, t.h * t.w), c * t.h * t.w);
  return new Tensor([1, 3, t.h, t.w], d);
}
