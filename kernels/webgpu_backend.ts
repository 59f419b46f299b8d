/**
 * The WebGPU backend: the per-step math as WGSL compute kernels on Deno's built-in WebGPU.
 *
 * Tensors live in {@linkcode WebGpuMemory} (device copies, coherence, batched dispatch). The
 * element-wise, noise and image kernels are here; a degradation operator's projection and
 * DDNM+ noise term come from the kernels its own file registered (`operators/*_gpu.ts`),
 * written against the {@linkcode GpuContext} this backend hands them. An operator without
 * kernels (row blocks above 64 values, or a user's own operator) runs its CPU math inside
 * this backend, counted as a fallback.
 *
 * @module
 */

import type { Backend, Term } from "./backend.ts";
import type { Shape4, Tensor } from "../lib/tensor.ts";
import { GaussianNoise, type NoiseSource } from "../lib/noise.ts";
import { UserError } from "../lib/errors.ts";
import { gpuAdapter, requestGpuDevice } from "../lib/gpu.ts";
import type { DegradationOperator, SpectralScale } from "../operators/operator.ts";
import type { GpuContext } from "../operators/gpu_context.ts";
import { gpuOperatorFor } from "../operators/gpu_operator.ts";
import {
  BLEND_SHADER,
  CLAMP_SHADER,
  combineShader,
  FINITE_SHADER,
  MULMAP_SHADER,
} from "./wgsl_elementwise.ts";
import { RANDN_SHADER } from "./wgsl_philox.ts";
import { ACCUMULATE_SHADER, CROP_SHADER, WAVELET_BLUR_SHADER } from "./wgsl_image.ts";
import { matmulOnGpu } from "./wgsl_matmul.ts";
import { WebGpuMemory, type WebGpuStats } from "./webgpu_memory.ts";

export type { WebGpuStats } from "./webgpu_memory.ts";

/**
 * The WebGPU backend.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Tensor, WebGpuBackend } from "@diffrestore/sampler";
 *
 * // without a GPU adapter there is nothing to run on: the CPU backend gives the same numbers
 * const gpu = await WebGpuBackend.create().catch(() => null);
 * if (gpu) {
 *   const x = new Tensor([1, 1, 1, 2], new Float32Array([1, 2]));
 *   gpu.combine(x, [[2, x]]);
 *   assert.deepEqual([...(await gpu.read(x)).data], [2, 4]);
 *   assert.equal(gpu.name, "webgpu");
 * }
 * ```
 */
export class WebGpuBackend implements Backend {
  /** Always `webgpu`. */
  readonly name = "webgpu" as const;
  /** Transfer and dispatch counters. */
  readonly stats: WebGpuStats;
  /** The device. */
  readonly device: GPUDevice;
  /** What the adapter calls itself. */
  readonly adapterName: string;
  #adapter: GPUAdapter;
  #mem: WebGpuMemory;
  #flag: GPUBuffer;
  #context: GpuContext;

  private constructor(adapter: GPUAdapter, device: GPUDevice) {
    this.#adapter = adapter;
    this.device = device;
    this.adapterName = adapter.info.description || adapter.info.vendor || "unknown adapter";
    const mem = this.#mem = new WebGpuMemory(device);
    this.stats = mem.stats;
    this.#flag = mem.alloc(4);
    device.queue.writeBuffer(this.#flag, 0, new Uint32Array([0xffffffff]));
    this.#context = {
      input: (t) => mem.input(t),
      output: (out, inputs) => mem.output(out, inputs),
      constant: (key, data) => mem.constant(key, data),
      stepBuffer: (owner, slot, values) => mem.stepBuffer(owner, slot, values),
      observation: (y, shape) => mem.observation(y, shape),
      cached: (owner, slot, make) => mem.cached(owner, slot, make),
      dispatch: (key, code, params, buffers, threads) =>
        mem.dispatch(key, code, params, buffers, threads),
      combine: (out, terms) => this.combine(out, terms),
      mulMap: (out, t, map, plane) => this.#mulMapBuffer(out, t, map, plane),
      matmul: (x, w, left, m, k, n) => matmulOnGpu(mem, x, w, left, m, k, n),
    };
  }

  /**
   * Create the backend on the default adapter (or a given device).
   *
   * @param device A device to share (for example with ONNX Runtime's WebGPU provider).
   * @returns The backend.
   */
  static async create(device?: GPUDevice): Promise<WebGpuBackend> {
    const adapter = await gpuAdapter();
    if (!adapter) {
      throw UserError.about(
        "backend",
        "backend webgpu: no WebGPU adapter is available on this machine",
      );
    }
    return new WebGpuBackend(adapter, device ?? (await requestGpuDevice(adapter)));
  }

  /** The adapter (kept referenced: Deno must not collect it while the device lives). */
  get adapter(): GPUAdapter {
    return this.#adapter;
  }

  /** Submit the recorded work. */
  flush(): void {
    this.#mem.flush();
  }

  /** Submit the recorded work and wait until the device has finished it (for timing). */
  async sync(): Promise<void> {
    this.#mem.flush();
    await this.device.queue.onSubmittedWorkDone();
  }

  /**
   * out = Σ c_k t_k.
   *
   * @param out Receives the result.
   * @param terms Coefficients and tensors.
   * @returns out.
   */
  combine(out: Tensor, terms: readonly Term[]): Tensor {
    if (terms.length > 4) {
      this.combine(out, terms.slice(0, 4));
      return this.combine(out, [[1, out], ...terms.slice(4)]);
    }
    const inputs = terms.map(([, t]) => t);
    const bufs = inputs.map((t) => this.#mem.input(t));
    const params = new ArrayBuffer(32);
    new Uint32Array(params, 0, 1)[0] = out.size;
    new Float32Array(params, 16, 4).set(terms.map(([c]) => c));
    this.#mem.dispatch(`combine${terms.length}`, combineShader(terms.length), params, [
      this.#mem.output(out, inputs),
      ...bufs,
    ], out.size);
    return out;
  }

  /**
   * Standard normals: generated on the device for the seeded generator (same values as the
   * CPU), uploaded for recorded draws.
   *
   * @param out Receives the draws.
   * @param source The noise source.
   * @returns out.
   */
  randn(out: Tensor, source: NoiseSource): Tensor {
    if (!(source instanceof GaussianNoise)) {
      source.fill(out.data);
      return this.written(out);
    }
    const params = new ArrayBuffer(32);
    const off = source.drawn;
    new Uint32Array(params).set([
      out.size,
      source.seed >>> 0,
      Math.floor(source.seed / 4294967296) >>> 0,
      source.stream,
      off >>> 0,
      Math.floor(off / 4294967296) >>> 0,
    ]);
    this.#mem.dispatch("randn", RANDN_SHADER, params, [this.#mem.output(out, [])], out.size);
    source.advance(out.size);
    return out;
  }

  async #fallback(inputs: Tensor[], out: Tensor, f: () => void): Promise<void> {
    for (const t of inputs) await this.read(t);
    if (!inputs.includes(out)) await this.read(out); // a partial write keeps the rest current
    this.stats.fallbacks++;
    f();
    this.written(out);
  }

  /**
   * Whether `op` runs on the device (else its CPU math runs inside this backend).
   *
   * @param op The operator.
   * @returns True when the operator's file registered kernels that take this instance.
   */
  supports(op: DegradationOperator): boolean {
    return gpuOperatorFor(op) !== null;
  }

  /**
   * x̂0 = x0 − Λ A⁺(A x0 − y).
   *
   * @param op The operator.
   * @param x0 Clean estimate.
   * @param y Observation.
   * @param scale Λ or null.
   * @param out Receives x̂0.
   * @returns out.
   */
  async project(
    op: DegradationOperator,
    x0: Tensor,
    y: Float32Array,
    scale: SpectralScale | null,
    out: Tensor,
  ): Promise<Tensor> {
    const kernels = gpuOperatorFor(op);
    if (kernels) kernels.project(this.#context, op, x0, y, scale, out);
    else await this.#fallback([x0], out, () => op.project(x0.data, y, scale, out.data));
    return out;
  }

  /**
   * DDNM+'s noise term.
   *
   * @param op The operator.
   * @param z Fresh noise.
   * @param eps Predicted noise.
   * @param scale d1, d2.
   * @param fixed Rotate by Vᵀ.
   * @param out Receives the term (may alias z).
   * @returns out.
   */
  async lambdaNoise(
    op: DegradationOperator,
    z: Tensor,
    eps: Tensor,
    scale: SpectralScale,
    fixed: boolean,
    out: Tensor,
  ): Promise<Tensor> {
    const kernels = gpuOperatorFor(op);
    if (kernels) kernels.lambdaNoise(this.#context, op, z, eps, scale, fixed, out);
    else {
      await this.#fallback(
        [z, eps],
        out,
        () => op.lambdaNoise(z.data, eps.data, scale, fixed, out.data),
      );
    }
    return out;
  }

  /**
   * out = mask ? a : b.
   *
   * @param out Receives the result.
   * @param mask 0/1 per element.
   * @param a Where mask is 1.
   * @param b Where mask is 0.
   * @returns out.
   */
  blend(out: Tensor, mask: Tensor, a: Tensor, b: Tensor): Tensor {
    const bufs = [this.#mem.input(mask), this.#mem.input(a), this.#mem.input(b)];
    this.#mem.dispatch("blend", BLEND_SHADER, new Uint32Array([out.size, 0, 0, 0]).buffer, [
      this.#mem.output(out, [mask, a, b]),
      ...bufs,
    ], out.size);
    return out;
  }

  /**
   * out = t ⊙ map (per pixel).
   *
   * @param out Receives the result.
   * @param t The tensor.
   * @param map One value per pixel.
   * @returns out.
   */
  mulMap(out: Tensor, t: Tensor, map: Float32Array): Tensor {
    return this.#mulMapBuffer(out, t, this.#mem.constant(map, map), map.length);
  }

  /** out = t ⊙ map for a map already on the device (`plane` values). */
  #mulMapBuffer(out: Tensor, t: Tensor, map: GPUBuffer, plane: number): Tensor {
    const tb = this.#mem.input(t);
    this.#mem.dispatch("mulMap", MULMAP_SHADER, new Uint32Array([out.size, plane, 0, 0]).buffer, [
      this.#mem.output(out, [t]),
      tb,
      map,
    ], out.size);
    return out;
  }

  /**
   * out = min(max(t, lo), hi).
   *
   * @param out Receives the result.
   * @param t The tensor.
   * @param lo Lower bound.
   * @param hi Upper bound.
   * @returns out.
   */
  clamp(out: Tensor, t: Tensor, lo: number, hi: number): Tensor {
    const tb = this.#mem.input(t);
    const params = new ArrayBuffer(16);
    new Uint32Array(params, 0, 1)[0] = out.size;
    new Float32Array(params, 4, 2).set([lo, hi]);
    this.#mem.dispatch("clamp", CLAMP_SHADER, params, [this.#mem.output(out, [t]), tb], out.size);
    return out;
  }

  /**
   * Copy a tile out of `t`.
   *
   * @param out Receives the tile.
   * @param t The source.
   * @param y Top row.
   * @param x Left column.
   * @returns out.
   */
  crop(out: Tensor, t: Tensor, y: number, x: number): Tensor {
    const tb = this.#mem.input(t);
    this.#mem.dispatch("crop", CROP_SHADER, _tileParams(out, t, y, x), [
      this.#mem.output(out, [t]),
      tb,
    ], out.size);
    return out;
  }

  /**
   * acc[region] += weights ⊙ tile, in place on the device.
   *
   * @param acc The accumulator.
   * @param tile The tile.
   * @param weights Per-pixel tile weights (uploaded once per array).
   * @param y Top row.
   * @param x Left column.
   * @returns acc.
   */
  accumulate(acc: Tensor, tile: Tensor, weights: Float32Array, y: number, x: number): Tensor {
    const bufs = [this.#mem.input(tile), this.#mem.constant(weights, weights)];
    this.#mem.dispatch("accumulate", ACCUMULATE_SHADER, _tileParams(tile, acc, y, x), [
      this.#mem.inPlace(acc),
      ...bufs,
    ], tile.size);
    return acc;
  }

  /**
   * The dilated 3x3 wavelet blur with replicate padding.
   *
   * @param out Receives the blurred image (not `t`).
   * @param t The image.
   * @param radius The dilation.
   * @returns out.
   */
  waveletBlur(out: Tensor, t: Tensor, radius: number): Tensor {
    const tb = this.#mem.input(t);
    const params = new Int32Array([out.size, t.h, t.w, radius]).buffer;
    this.#mem.dispatch(
      "waveletBlur",
      WAVELET_BLUR_SHADER,
      params,
      [this.#mem.output(out, [t]), tb],
      out.size,
    );
    return out;
  }

  /**
   * Record, without a readback, the first step at which `t` holds NaN or Inf.
   *
   * @param t The tensor (a network output).
   * @param step The step number (>= 0).
   */
  checkFinite(t: Tensor, step: number): void {
    this.#mem.dispatch("finite", FINITE_SHADER, new Uint32Array([t.size, step, 0, 0]).buffer, [
      this.#flag,
      this.#mem.input(t),
    ], t.size);
  }

  /**
   * The first step recorded by {@linkcode checkFinite} (one 4-byte readback), or null.
   *
   * @returns The step or null.
   */
  async firstNonFinite(): Promise<number | null> {
    const v = new Uint32Array(await this.#mem.download(this.#flag, 4));
    return v[0] === 0xffffffff ? null : v[0];
  }

  /**
   * Make `t.data` current (downloading when the device copy is newer).
   *
   * @param t The tensor.
   * @returns t.
   */
  read(t: Tensor): Promise<Tensor> {
    return this.#mem.read(t);
  }

  /**
   * Declare that `t.data` was written on the host.
   *
   * @param t The tensor.
   * @returns t.
   */
  written(t: Tensor): Tensor {
    return this.#mem.written(t);
  }

  /**
   * The device buffer holding `t` (uploaded if needed; pending work submitted), for zero-copy
   * hand-over to ONNX Runtime's WebGPU provider.
   *
   * @param t The tensor.
   * @returns The buffer.
   */
  bufferOf(t: Tensor): GPUBuffer {
    const b = this.#mem.input(t);
    this.#mem.flush();
    return b;
  }

  /**
   * A tensor whose current copy is `buffer` on the device (for example an ONNX Runtime output);
   * `dispose` releases the buffer when the tensor gets another one.
   *
   * @param buffer The device buffer (f32, at least the tensor's size).
   * @param shape The tensor's shape.
   * @param dispose Releases the buffer.
   * @returns The tensor (its host data stays stale until read).
   */
  adopt(buffer: GPUBuffer, shape: Shape4, dispose?: () => void): Tensor {
    return this.#mem.adopt(buffer, shape, dispose);
  }
}

/** (n, H, W, th, tw, y, x) of a tile of `image`, n counting the tile's elements. */
function _tileParams(tile: Tensor, image: Tensor, y: number, x: number): ArrayBuffer {
  return new Uint32Array([tile.size, image.h, image.w, tile.h, tile.w, y, x]).buffer;
}
