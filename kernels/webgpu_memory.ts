/**
 * Device memory of the WebGPU backend: every tensor gets a device copy beside its host copy
 * (`t.data`), each marked current or stale, with every transfer counted; buffers are pooled;
 * constants are uploaded once per key object; kernels are compiled once and their dispatches
 * recorded into one command encoder, submitted in batches (at a read, an upload, or every 64
 * dispatches) with each dispatch's parameters in a uniform arena written once per batch.
 *
 * @module
 */

import { Tensor } from "../lib/tensor.ts";
import type { Shape4 } from "../lib/tensor.ts";
import { WORKGROUP } from "../lib/wgsl_kernel.ts";
import { downloadBuffer } from "../lib/gpu.ts";
import type { BackendStats } from "./backend.ts";

/** A tensor's device copy and which of its two copies are current. */
interface _DeviceCopy {
  buffer: GPUBuffer;
  /** The host copy is current. */
  host: boolean;
  /** The device copy is current. */
  device: boolean;
  /** Called when the buffer is replaced (a buffer owned by someone else, e.g. ONNX Runtime). */
  dispose?: () => void;
}

const _SLOT = 256; // uniform slot size (minUniformBufferOffsetAlignment)
const _BATCH = 64;
const _USAGE = 0x80 | 0x4 | 0x8; // STORAGE | COPY_SRC | COPY_DST

/** Counters of the WebGPU backend. */
export interface WebGpuStats extends BackendStats {
  /** Compute dispatches. */
  dispatches: number;
  /** Command-buffer submissions. */
  submits: number;
  /** Uploads of constants (observations, index tables), once per run. */
  constantUploads: number;
}

/**
 * Device copies of tensors, constants, and batched kernel dispatch on one `GPUDevice`.
 *
 * @example
 * ```ts ignore
 * import { WebGpuMemory } from "./webgpu_memory.ts";
 * import { Tensor } from "../lib/tensor.ts";
 * const device = await (await navigator.gpu.requestAdapter())!.requestDevice();
 * const memory = new WebGpuMemory(device);
 * const t = Tensor.zeros([1, 1, 2, 2]);
 * memory.input(t); // uploaded once
 * console.log(memory.stats.uploads); // 1
 * ```
 */
export class WebGpuMemory {
  /** Transfer and dispatch counters. */
  readonly stats: WebGpuStats = {
    uploads: 0,
    downloads: 0,
    fallbacks: 0,
    dispatches: 0,
    submits: 0,
    constantUploads: 0,
  };
  /** The device. */
  readonly device: GPUDevice;
  #copies = new WeakMap<Tensor, _DeviceCopy>();
  #constants = new WeakMap<object, GPUBuffer>();
  #derived = new WeakMap<object, Map<string, object>>();
  #stepBuffers = new WeakMap<object, Map<string, GPUBuffer>>();
  #observations = new WeakMap<Float32Array, Tensor>();
  #pipelines = new Map<string, GPUComputePipeline>();
  #pool = new Map<number, GPUBuffer[]>();
  #encoder: GPUCommandEncoder | null = null;
  #arena: GPUBuffer;
  #arenaData = new ArrayBuffer(_SLOT * _BATCH);
  #slots = 0;

  /**
   * Memory on a device.
   *
   * @param device The device.
   */
  constructor(device: GPUDevice) {
    this.device = device;
    this.#arena = device.createBuffer({ size: _SLOT * _BATCH, usage: 0x40 | 0x8 }); // UNIFORM | COPY_DST
  }

  #pipeline(key: string, code: string): GPUComputePipeline {
    let p = this.#pipelines.get(key);
    if (!p) {
      const module = this.device.createShaderModule({ code });
      p = this.device.createComputePipeline({
        layout: "auto",
        compute: { module, entryPoint: "main" },
      });
      this.#pipelines.set(key, p);
    }
    return p;
  }

  /**
   * A storage buffer of at least `bytes` bytes, from the pool when one is free.
   *
   * @param bytes The size needed.
   * @returns The buffer.
   */
  alloc(bytes: number): GPUBuffer {
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    const free = this.#pool.get(size);
    if (free && free.length) return free.pop()!;
    return this.device.createBuffer({ size, usage: _USAGE });
  }

  #recycle(copy: _DeviceCopy): void {
    if (copy.dispose) copy.dispose();
    else {
      const list = this.#pool.get(copy.buffer.size) ?? [];
      list.push(copy.buffer);
      this.#pool.set(copy.buffer.size, list);
    }
  }

  /**
   * The device buffer of `t`, uploading its host data when the device copy is stale.
   *
   * @param t The tensor.
   * @returns Its buffer.
   */
  input(t: Tensor): GPUBuffer {
    let c = this.#copies.get(t);
    if (!c) {
      c = { buffer: this.alloc(t.size * 4), host: true, device: false };
      this.#copies.set(t, c);
    }
    if (!c.device) {
      this.flush();
      this.device.queue.writeBuffer(
        c.buffer,
        0,
        t.data.buffer as ArrayBuffer,
        t.data.byteOffset,
        t.size * 4,
      );
      this.stats.uploads++;
      c.device = true;
    }
    return c.buffer;
  }

  /**
   * A buffer to write `out` into; a fresh one when `out` is also an input.
   *
   * @param out The tensor written.
   * @param inputs The tensors the same dispatch reads.
   * @returns The buffer.
   */
  output(out: Tensor, inputs: readonly Tensor[]): GPUBuffer {
    const c = this.#copies.get(out);
    if (c && !inputs.includes(out)) {
      c.device = true;
      c.host = false;
      return c.buffer;
    }
    const buffer = this.alloc(out.size * 4);
    if (c) this.#recycle(c);
    this.#copies.set(out, { buffer, host: false, device: true });
    return buffer;
  }

  /**
   * The device buffer of `t` for a kernel that updates it in place (the host copy goes stale).
   *
   * @param t The tensor.
   * @returns Its buffer.
   */
  inPlace(t: Tensor): GPUBuffer {
    const b = this.input(t);
    this.#copies.get(t)!.host = false;
    return b;
  }

  /**
   * A constant uploaded once per key object.
   *
   * @param key The object the constant belongs to.
   * @param data Its values.
   * @returns The buffer.
   */
  constant(key: object, data: ArrayBufferView): GPUBuffer {
    let b = this.#constants.get(key);
    if (!b) {
      this.flush();
      b = this.device.createBuffer({
        size: Math.max(16, Math.ceil(data.byteLength / 16) * 16),
        usage: _USAGE,
      });
      this.device.queue.writeBuffer(
        b,
        0,
        data.buffer as ArrayBuffer,
        data.byteOffset,
        data.byteLength,
      );
      this.stats.constantUploads++;
      this.#constants.set(key, b);
    }
    return b;
  }

  /**
   * A per-step coefficient buffer (DDNM+'s d and λ change every step) kept per owner and
   * slot, rewritten in place instead of a new constant each step.
   *
   * @param owner The object the buffer belongs to.
   * @param slot Which of its buffers.
   * @param values This step's values.
   * @returns The buffer.
   */
  stepBuffer(owner: object, slot: string, values: Float32Array): GPUBuffer {
    let slots = this.#stepBuffers.get(owner);
    if (!slots) this.#stepBuffers.set(owner, slots = new Map());
    let b = slots.get(slot);
    if (!b) {
      b = this.device.createBuffer({ size: Math.ceil(values.byteLength / 16) * 16, usage: _USAGE });
      slots.set(slot, b);
    }
    // recorded dispatches may still read last step's values: submit them first
    this.flush();
    this.device.queue.writeBuffer(
      b,
      0,
      values.buffer as ArrayBuffer,
      values.byteOffset,
      values.byteLength,
    );
    this.stats.constantUploads++;
    return b;
  }

  /**
   * y as a device tensor of `shape`, uploaded once per observation (counted as a constant).
   *
   * @param y The observation.
   * @param shape Its shape.
   * @returns The device tensor.
   */
  observation(y: Float32Array, shape: Shape4): Tensor {
    let t = this.#observations.get(y);
    if (!t) {
      t = new Tensor(shape, y);
      this.#observations.set(y, t);
      this.input(t);
      this.stats.uploads--;
      this.stats.constantUploads++;
    }
    return t;
  }

  /**
   * Data derived once from `owner` (an operator's device matrices) and kept while it lives.
   *
   * @param owner The object the data comes from.
   * @param slot Which of its derived data.
   * @param make Builds the data on first use.
   * @returns The data.
   */
  cached<T extends object>(owner: object, slot: string, make: () => T): T {
    let slots = this.#derived.get(owner);
    if (!slots) this.#derived.set(owner, slots = new Map());
    let v = slots.get(slot) as T | undefined;
    if (!v) slots.set(slot, v = make());
    return v;
  }

  /**
   * Record one dispatch of a kernel (compiled once per key).
   *
   * @param key Pipeline cache key.
   * @param code The kernel's WGSL.
   * @param params The uniform's bytes (at most 256).
   * @param buffers The output buffer, then the inputs.
   * @param threads Threads to run.
   */
  dispatch(
    key: string,
    code: string,
    params: ArrayBuffer,
    buffers: GPUBuffer[],
    threads: number,
  ): void {
    if (threads === 0) return;
    if (this.#slots === _BATCH) this.flush();
    const slot = this.#slots++;
    new Uint8Array(this.#arenaData, slot * _SLOT, params.byteLength).set(new Uint8Array(params));
    const pipeline = this.#pipeline(key, code);
    const entries: GPUBindGroupEntry[] = [{
      binding: 0,
      resource: { buffer: this.#arena, offset: slot * _SLOT, size: _SLOT },
    }];
    buffers.forEach((buffer, k) => entries.push({ binding: k + 1, resource: { buffer } }));
    const group = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    this.#encoder ??= this.device.createCommandEncoder();
    const pass = this.#encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    const groups = Math.ceil(threads / WORKGROUP);
    const gx = Math.min(groups, 65535);
    pass.dispatchWorkgroups(gx, Math.ceil(groups / gx));
    pass.end();
    this.stats.dispatches++;
  }

  /** Submit the recorded work. */
  flush(): void {
    if (!this.#encoder) return;
    this.device.queue.writeBuffer(this.#arena, 0, this.#arenaData, 0, this.#slots * _SLOT);
    this.device.queue.submit([this.#encoder.finish()]);
    this.stats.submits++;
    this.#encoder = null;
    this.#slots = 0;
  }

  /**
   * Copy `bytes` bytes of a buffer to the host (pending work submitted first).
   *
   * @param buffer The buffer.
   * @param bytes How many bytes.
   * @returns The bytes.
   */
  async download(buffer: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    this.flush();
    this.stats.submits++;
    return await downloadBuffer(this.device, buffer, bytes);
  }

  /**
   * Make `t.data` current, downloading when the device copy is newer.
   *
   * @param t The tensor.
   * @returns t.
   */
  async read(t: Tensor): Promise<Tensor> {
    const c = this.#copies.get(t);
    if (c && !c.host) {
      t.data.set(new Float32Array(await this.download(c.buffer, t.size * 4)));
      this.stats.downloads++;
      c.host = true;
    }
    return t;
  }

  /**
   * Declare that `t.data` was written on the host.
   *
   * @param t The tensor.
   * @returns t.
   */
  written(t: Tensor): Tensor {
    const c = this.#copies.get(t);
    if (c) {
      c.host = true;
      c.device = false;
    }
    return t;
  }

  /**
   * A tensor whose current copy is `buffer` on the device.
   *
   * @param buffer The device buffer (f32, at least the tensor's size).
   * @param shape The tensor's shape.
   * @param dispose Releases the buffer when the tensor gets another one.
   * @returns The tensor (its host data stale until read).
   */
  adopt(buffer: GPUBuffer, shape: Shape4, dispose?: () => void): Tensor {
    const t = Tensor.zeros(shape);
    this.#copies.set(t, { buffer, host: false, device: true, dispose });
    return t;
  }
}
