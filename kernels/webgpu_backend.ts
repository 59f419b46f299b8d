/**
 * The WebGPU backend: the per-step math as WGSL compute kernels on Deno's built-in WebGPU.
 *
 * Every tensor the backend touches gets a device copy; the host copy (`t.data`) is refreshed
 * only by {@linkcode WebGpuBackend.read} and the device copy only after
 * {@linkcode WebGpuBackend.written}, and both count their transfers. Pipelines are created
 * once, work is recorded into one command encoder and submitted in batches (at a read, an
 * upload, or every 64 dispatches), and each dispatch's parameters live in a uniform arena
 * written once per batch. An operator without kernels (row blocks above `MAX_BLOCK`, or a
 * user's own operator) runs on the CPU inside this backend, counted as a fallback.
 *
 * @module
 */

import type { Backend, BackendStats, Term } from "./backend.ts";
import { Tensor } from "../lib/tensor.ts";
import { GaussianNoise, type NoiseSource } from "../lib/noise.ts";
import { UserError } from "../lib/errors.ts";
import { gpuAdapter } from "../lib/gpu.ts";
import type { DegradationOperator, SpectralScale } from "../operators/operator.ts";
import { RowBlockOperator } from "../operators/row_block_operator.ts";
import { MaskOperator } from "../operators/masking.ts";
import {
  BLEND_SHADER,
  CLAMP_SHADER,
  combineShader,
  FINITE_SHADER,
  MULMAP_SHADER,
} from "./wgsl_elementwise.ts";
import { WORKGROUP } from "../lib/wgsl_kernel.ts";
import { RANDN_SHADER } from "./wgsl_philox.ts";
import { ACCUMULATE_SHADER, CROP_SHADER, WAVELET_BLUR_SHADER } from "./wgsl_image.ts";
import {
  BLOCK_PERMUTE_SHADER,
  FWHT_PASS_SHADER,
  MASK_NOISE_SHADER,
  MASK_PROJECT_SHADER,
  MATMUL_SHADER,
  MAX_BLOCK,
  ROW_NOISE_SHADER,
  ROW_PROJECT_SHADER,
} from "./wgsl_ddnm.ts";
import {
  SeparableOperator,
  SINGULAR_ZERO,
  truncatedMatrix,
} from "../operators/separable_operator.ts";
import { WalshHadamardCs } from "../operators/walsh_hadamard.ts";
import { BlockCs } from "../operators/block_cs.ts";

interface _DeviceCopy {
  buffer: GPUBuffer;
  /** The host copy is current. */
  host: boolean;
  /** The device copy is current. */
  device: boolean;
  /** Called when the buffer is replaced (a buffer owned by someone else, e.g. ONNX Runtime). */
  dispose?: () => void;
}

/** Device constants of a separable operator. */
/** Block CS's matrices on the device. */
interface _BlockCsGpu {
  /** Q's first K rows (K x 1024). */
  kept: GPUBuffer;
  /** Their transpose (1024 x K). */
  keptT: GPUBuffer;
  /** Q (1024 x 1024). */
  q: GPUBuffer;
  /** Qᵀ. */
  qT: GPUBuffer;
  /** 1 on the K measured coordinates of a block. */
  mask: GPUBuffer;
}

interface _SeparableGpu {
  h: number;
  w: number;
  mh: number;
  mw: number;
  planes: number;
  mats: Record<string, GPUBuffer>;
  /** Per-channel effective singular values (C·h·w), zero outside the kept block. */
  e: Float32Array;
  /** Their reciprocals (0 where zero). */
  invE: Float32Array;
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
 * The WebGPU backend.
 *
 * @example
 * ```ts ignore
 * import { WebGpuBackend } from "./webgpu_backend.ts";
 * const gpu = await WebGpuBackend.create();
 * console.log(gpu.adapterName);
 * ```
 */
export class WebGpuBackend implements Backend {
  /** Always `webgpu`. */
  readonly name = "webgpu" as const;
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
  /** What the adapter calls itself. */
  readonly adapterName: string;
  #adapter: GPUAdapter;
  #copies = new WeakMap<Tensor, _DeviceCopy>();
  #constants = new WeakMap<object, GPUBuffer>();
  #pipelines = new Map<string, GPUComputePipeline>();
  #pool = new Map<number, GPUBuffer[]>();
  #encoder: GPUCommandEncoder | null = null;
  #arena: GPUBuffer;
  #arenaData = new ArrayBuffer(_SLOT * _BATCH);
  #slots = 0;
  #flag: GPUBuffer;
  #separable = new WeakMap<SeparableOperator, _SeparableGpu>();
  #observations = new WeakMap<Float32Array, Tensor>();
  #stepMaps = new WeakMap<object, Map<string, GPUBuffer>>();
  #wht = new WeakMap<WalshHadamardCs, { mask: Float32Array; maskBuffer: GPUBuffer; n: number }>();
  #blockCs = new WeakMap<BlockCs, _BlockCsGpu>();

  private constructor(adapter: GPUAdapter, device: GPUDevice) {
    this.#adapter = adapter;
    this.device = device;
    this.adapterName = adapter.info.description || adapter.info.vendor || "unknown adapter";
    this.#arena = device.createBuffer({ size: _SLOT * _BATCH, usage: 0x40 | 0x8 }); // UNIFORM | COPY_DST
    this.#flag = device.createBuffer({ size: 4, usage: _USAGE });
    device.queue.writeBuffer(this.#flag, 0, new Uint32Array([0xffffffff]));
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
      throw new UserError("--backend webgpu: no WebGPU adapter is available on this machine");
    }
    return new WebGpuBackend(adapter, device ?? (await adapter.requestDevice()));
  }

  /** The adapter (kept referenced: Deno must not collect it while the device lives). */
  get adapter(): GPUAdapter {
    return this.#adapter;
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

  #alloc(bytes: number): GPUBuffer {
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

  /** The device buffer of `t`, uploading its host data when the device copy is stale. */
  #on(t: Tensor): GPUBuffer {
    let c = this.#copies.get(t);
    if (!c) {
      c = { buffer: this.#alloc(t.size * 4), host: true, device: false };
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

  /** A buffer to write `out` into; a fresh one when `out` is also an input. */
  #target(out: Tensor, inputs: Tensor[]): GPUBuffer {
    const c = this.#copies.get(out);
    if (c && !inputs.includes(out)) {
      c.device = true;
      c.host = false;
      return c.buffer;
    }
    const buffer = this.#alloc(out.size * 4);
    if (c) this.#recycle(c);
    this.#copies.set(out, { buffer, host: false, device: true });
    return buffer;
  }

  #constant(key: object, data: ArrayBufferView): GPUBuffer {
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

  #dispatch(
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

  /** Submit the recorded work and wait until the device has finished it (for timing). */
  async sync(): Promise<void> {
    this.flush();
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
    const bufs = inputs.map((t) => this.#on(t));
    const params = new ArrayBuffer(32);
    new Uint32Array(params, 0, 1)[0] = out.size;
    new Float32Array(params, 16, 4).set(terms.map(([c]) => c));
    this.#dispatch(`combine${terms.length}`, combineShader(terms.length), params, [
      this.#target(out, inputs),
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
    this.#dispatch("randn", RANDN_SHADER, params, [this.#target(out, [])], out.size);
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
   * Whether `op` runs on the device (otherwise project/lambdaNoise need `prepare()` first).
   *
   * @param op The operator.
   * @returns True for block (blocks of at most 64 values), mask, separable and Walsh-Hadamard operators.
   */
  supports(op: DegradationOperator): boolean {
    return (op instanceof RowBlockOperator && op.blockSize <= MAX_BLOCK) ||
      op instanceof MaskOperator || op instanceof SeparableOperator ||
      op instanceof WalshHadamardCs || op instanceof BlockCs;
  }

  #rowConstants(op: RowBlockOperator): { idx: GPUBuffer; coef: GPUBuffer } {
    const m = op.blockSize;
    const n2 = op.v.singular ** 2;
    const coef = new Float32Array(3 * m);
    for (let k = 0; k < m; k++) {
      coef[k] = op.row[k];
      coef[m + k] = op.row[k] / n2;
      coef[2 * m + k] = op.v.w[k];
    }
    return {
      idx: this.#constant(
        op.index,
        new Uint32Array(op.index.buffer, op.index.byteOffset, op.index.length),
      ),
      coef: this.#constant(op, coef),
    };
  }

  #maskConstant(op: MaskOperator): GPUBuffer {
    return this.#constant(op.mask, Uint32Array.from(op.mask));
  }

  /** out = L · x · Rᵀ per plane (x: planes x rows x cols; L: outRows x rows; R: outCols x cols). */
  #sandwich(
    x: Tensor,
    l: GPUBuffer,
    r: GPUBuffer,
    rows: number,
    cols: number,
    outRows: number,
    outCols: number,
  ): Tensor {
    const left = this.#matmul(x, l, true, outRows, rows, cols);
    return this.#matmul(left, r, false, outRows, cols, outCols);
  }

  /** L · x (left, L: m x k, x: k x n) or x · Rᵀ (right, x: m x k, R: n x k), per plane. */
  #matmul(x: Tensor, w: GPUBuffer, left: boolean, m: number, k: number, n: number): Tensor {
    const planes = left ? x.size / (k * n) : x.size / (m * k);
    const out = Tensor.zeros([1, planes, m, n]);
    // strides (xPlane, xi, xk, xj, wi, wj, wk) of the kernel's index formula
    const strides = left ? [k * n, 0, n, 1, k, 0, 1] : [m * k, k, 1, 0, 0, k, 1];
    this.#dispatch("matmul", MATMUL_SHADER, new Uint32Array([planes, m, k, n, ...strides]).buffer, [
      this.#target(out, [x]),
      this.#on(x),
      w,
    ], planes * m * n);
    return out;
  }

  #matrix(key: object, values: ArrayLike<number>): GPUBuffer {
    return this.#constant(key, Float32Array.from(values));
  }

  #separableConstants(op: SeparableOperator): _SeparableGpu {
    let c = this.#separable.get(op);
    if (c) return c;
    const [, planes, h, w] = op.xShape;
    const mh = op.rowsH, mw = op.rowsW;
    const t = (a: Float64Array, rows: number, cols: number) => {
      const o = new Float64Array(rows * cols);
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < cols; j++) o[j * rows + i] = a[i * cols + j];
      }
      return o;
    };
    const pad = (u: Float64Array, rows: number, r: number, cols: number) => {
      const o = new Float64Array(rows * cols);
      for (let i = 0; i < rows; i++) for (let j = 0; j < r; j++) o[i * cols + j] = u[i * r + j];
      return o;
    };
    const trunc = (v: Float64Array) => v.map((x) => (x < SINGULAR_ZERO ? 0 : x));
    const uhF = pad(op.svdH.u, mh, Math.min(mh, h), h),
      uwF = pad(op.svdW.u, mw, Math.min(mw, w), w);
    const mats: Record<string, ArrayLike<number>> = {
      vhT: t(op.svdH.v, h, h),
      vh: op.svdH.v,
      vwT: t(op.svdW.v, w, w),
      vw: op.svdW.v,
      uhF,
      uhFT: t(uhF, mh, h),
      uwF,
      uwFT: t(uwF, mw, w),
      hh: truncatedMatrix(op.svdH, mh, h, trunc(op.svdH.s), false),
      hw: truncatedMatrix(op.svdW, mw, w, trunc(op.svdW.s), false),
      hhp: truncatedMatrix(op.svdH, mh, h, trunc(op.svdH.s), true),
      hwp: truncatedMatrix(op.svdW, mw, w, trunc(op.svdW.s), true),
    };
    const e = new Float32Array(planes * h * w);
    op.effective.forEach((m, ch) => {
      for (let i = 0; i < Math.min(mh, h); i++) {
        for (let j = 0; j < Math.min(mw, w); j++) e[ch * h * w + i * w + j] = m[i * w + j];
      }
    });
    c = {
      h,
      w,
      mh,
      mw,
      planes,
      mats: Object.fromEntries(Object.entries(mats).map(([k, v]) => [k, this.#matrix({}, v)])),
      e,
      invE: e.map((v) => (v === 0 ? 0 : 1 / v)),
    };
    this.#separable.set(op, c);
    return c;
  }

  /** y as a device tensor of `shape`, uploaded once per observation. */
  #observation(y: Float32Array, shape: readonly [number, number, number, number]): Tensor {
    let t = this.#observations.get(y);
    if (!t) {
      t = new Tensor(shape, y);
      this.#observations.set(y, t);
      this.#on(t);
      this.stats.uploads--;
      this.stats.constantUploads++;
    }
    return t;
  }

  /** x̂0 = x0 − Λ A⁺(A x0 − y) of a separable operator with matrix products on the device. */
  #separableProject(
    op: SeparableOperator,
    x0: Tensor,
    y: Float32Array,
    scale: SpectralScale | null,
    out: Tensor,
  ): void {
    const c = this.#separableConstants(op), { h, w, mh, mw, mats } = c;
    const dense = op.effective.every((m) => m === op.effective[0]) && !scale;
    let ax: Tensor;
    if (dense) {
      ax = this.#sandwich(x0, mats.hh, mats.hw, h, w, mh, mw);
    } else {
      const s = this.#sandwich(x0, mats.vhT, mats.vwT, h, w, h, w);
      this.mulMap(s, s, c.e);
      ax = this.#sandwich(s, mats.uhF, mats.uwF, h, w, mh, mw);
    }
    this.combine(ax, [[1, ax], [-1, this.#observation(y, ax.shape)]]);
    let back: Tensor;
    if (dense) {
      back = this.#sandwich(ax, mats.hhp, mats.hwp, mh, mw, h, w);
    } else {
      const core = this.#sandwich(ax, mats.uhFT, mats.uwFT, mh, mw, h, w);
      if (scale) {
        const map = c.invE.map((v, i) => v * scale.lambda(op.original[i % (h * w)]));
        this.#mulMapBuffer(core, core, this.#stepMap(op, "lambda", map), map.length);
      } else this.mulMap(core, core, c.invE);
      back = this.#sandwich(core, mats.vh, mats.vw, h, w, h, w);
    }
    this.combine(out, [[1, x0], [-1, back]]);
  }

  /** DDNM+'s noise term of a separable operator: V_h (d1 ⊙ P z + d2 ⊙ P ε) V_wᵀ. */
  #separableNoise(
    op: SeparableOperator,
    z: Tensor,
    eps: Tensor,
    scale: SpectralScale,
    fixed: boolean,
    out: Tensor,
  ): void {
    const c = this.#separableConstants(op), { h, w, mats } = c;
    const d = Array.from(op.original, (v) => scale.noise(v));
    const rotate = (
      t: Tensor,
    ) => (fixed ? this.#sandwich(t, mats.vhT, mats.vwT, h, w, h, w) : t);
    const scaled = (t: Tensor, k: 0 | 1) =>
      this.#mulMapBuffer(
        Tensor.zeros(z.shape),
        rotate(t),
        this.#stepMap(op, `noise${k}`, Float32Array.from(d, (x) => x[k])),
        d.length,
      );
    const pz = scaled(z, 0), pe = scaled(eps, 1);
    const u = this.combine(pz, [[1, pz], [1, pe]]);
    const res = this.#sandwich(u, mats.vh, mats.vw, h, w, h, w);
    this.combine(out, [[1, res]]);
  }

  /** The orthonormal Walsh-Hadamard transform of each plane, log2(N) butterfly passes. */
  #fwht(x: Tensor, n: number): Tensor {
    let cur = x;
    for (let hh = 1; hh < n; hh *= 2) {
      const next = Tensor.zeros(x.shape);
      const params = new ArrayBuffer(16);
      new Uint32Array(params, 0, 3).set([x.size / n, n, hh]);
      new Float32Array(params, 12, 1)[0] = hh * 2 === n ? 1 / Math.sqrt(n) : 1;
      this.#dispatch(
        "fwht",
        FWHT_PASS_SHADER,
        params,
        [this.#target(next, [cur]), this.#on(cur)],
        x.size,
      );
      cur = next;
    }
    return cur;
  }

  /** The kept-coefficient mask of a WHT operator (float for maps, u32 for the mask kernel). */
  /** Q's kept rows, their transpose, Q, Qᵀ and the kept-coordinate mask, uploaded once. */
  #blockCsConstants(op: BlockCs): _BlockCsGpu {
    let c = this.#blockCs.get(op);
    if (!c) {
      const n = 1024, k = op.kept, q = op.q;
      const qT = new Float32Array(n * n);
      for (let r = 0; r < n; r++) for (let j = 0; j < n; j++) qT[j * n + r] = q[r * n + j];
      const keptT = new Float32Array(n * k);
      for (let j = 0; j < n; j++) for (let r = 0; r < k; r++) keptT[j * k + r] = q[r * n + j];
      c = {
        kept: this.#matrix({}, q.subarray(0, k * n)),
        keptT: this.#matrix({}, keptT),
        q: this.#matrix({}, q),
        qT: this.#matrix({}, qT),
        mask: this.#constant({}, Uint32Array.from({ length: n }, (_, r) => (r < k ? 1 : 0))),
      };
      this.#blockCs.set(op, c);
    }
    return c;
  }

  /** Gather the 32x32 blocks into rows of a [C, blocks, 1024] tensor, or scatter them back. */
  #blockPermute(op: BlockCs, t: Tensor, scatter: boolean): Tensor {
    const [, , h, w] = op.xShape;
    const out = Tensor.zeros(t.shape);
    this.#dispatch(
      "blockPermute",
      BLOCK_PERMUTE_SHADER,
      new Uint32Array([t.size, h, w, scatter ? 1 : 0]).buffer,
      [
        this.#target(out, [t]),
        this.#on(t),
      ],
      t.size,
    );
    return out;
  }

  /** Block CS: x0 − λ Q_Kᵀ(Q_K B x0 − y) per block, with B the block gather. */
  #blockCsProject(
    op: BlockCs,
    x0: Tensor,
    y: Float32Array,
    scale: SpectralScale | null,
    out: Tensor,
  ): void {
    const c = this.#blockCsConstants(op), blocks = op.yShape[2], k = op.kept;
    const rows = this.#blockPermute(op, x0, false);
    const measured = this.#matmul(rows, c.kept, false, blocks, 1024, k);
    this.combine(measured, [[1, measured], [-1, this.#observation(y, op.yShape)]]);
    const back = this.#blockPermute(
      op,
      this.#matmul(measured, c.keptT, false, blocks, k, 1024),
      true,
    );
    this.combine(out, [[1, x0], [-(scale ? scale.lambda(1) : 1), back]]);
  }

  /** Block CS's Λ-noise: Qᵀ(d ⊙ (Q) B z, d ⊙ (Q) B ε) per block, scattered back. */
  #blockCsNoise(
    op: BlockCs,
    z: Tensor,
    eps: Tensor,
    scale: SpectralScale,
    fixed: boolean,
    out: Tensor,
  ): void {
    const c = this.#blockCsConstants(op), blocks = op.yShape[2];
    const rotate = (t: Tensor) => {
      const rows = this.#blockPermute(op, t, false);
      return fixed ? this.#matmul(rows, c.q, false, blocks, 1024, 1024) : rows;
    };
    const mixed = this.#maskNoise(
      c.mask,
      1024,
      scale,
      rotate(z),
      rotate(eps),
      Tensor.zeros(z.shape),
    );
    const back = this.#matmul(mixed, c.qT, false, blocks, 1024, 1024);
    this.combine(out, [[1, this.#blockPermute(op, back, true)]]);
  }

  #whtConstants(op: WalshHadamardCs): { mask: Float32Array; maskBuffer: GPUBuffer; n: number } {
    let c = this.#wht.get(op);
    if (!c) {
      const n = op.xShape[2] * op.xShape[3];
      const mask = new Float32Array(n);
      for (let q = 0; q < op.kept; q++) mask[op.perm[q]] = 1;
      // keyed by `perm`: `mask` itself keys its float copy when used as a map
      c = { mask, maskBuffer: this.#constant(op.perm, Uint32Array.from(mask)), n };
      this.#wht.set(op, c);
    }
    return c;
  }

  /** Walsh-Hadamard CS projection in coefficient space: x0 − λ fwht(M ⊙ fwht(x0) − y scattered). */
  #whtProject(
    op: WalshHadamardCs,
    x0: Tensor,
    y: Float32Array,
    scale: SpectralScale | null,
    out: Tensor,
  ): void {
    const { mask, n } = this.#whtConstants(op);
    let scattered = this.#observations.get(y);
    if (!scattered) {
      const full = new Float32Array(x0.size);
      for (let ch = 0; ch < op.xShape[1]; ch++) {
        for (let q = 0; q < op.kept; q++) full[ch * n + op.perm[q]] = y[ch * op.kept + q];
      }
      scattered = this.#observation(full, x0.shape);
      this.#observations.set(y, scattered);
    }
    const f = this.#fwht(x0, n);
    this.mulMap(f, f, mask);
    this.combine(f, [[1, f], [-1, scattered]]);
    const back = this.#fwht(f, n);
    this.combine(out, [[1, x0], [-(scale ? scale.lambda(1) : 1), back]]);
  }

  /** Walsh-Hadamard Λ-noise: fwht(D1 ⊙ P z + D2 ⊙ P ε), P the identity (quirk) or fwht. */
  #whtNoise(
    op: WalshHadamardCs,
    z: Tensor,
    eps: Tensor,
    scale: SpectralScale,
    fixed: boolean,
    out: Tensor,
  ): void {
    const { maskBuffer, n } = this.#whtConstants(op);
    const pz = fixed ? this.#fwht(z, n) : z, pe = fixed ? this.#fwht(eps, n) : eps;
    const a = this.#maskNoise(maskBuffer, n, scale, pz, pe, Tensor.zeros(z.shape));
    this.combine(out, [[1, this.#fwht(a, n)]]);
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
    if (op instanceof RowBlockOperator && op.blockSize <= MAX_BLOCK) {
      const { idx, coef } = this.#rowConstants(op);
      const params = new ArrayBuffer(16);
      new Uint32Array(params, 0, 2).set([op.blocks, op.blockSize]);
      new Float32Array(params, 8, 1)[0] = scale ? scale.lambda(op.v.singular) : 1;
      this.#dispatch("rowProject", ROW_PROJECT_SHADER, params, [
        this.#target(out, [x0]),
        this.#on(x0),
        this.#constant(y, y),
        idx,
        coef,
      ], op.blocks);
    } else if (op instanceof MaskOperator) {
      const params = new ArrayBuffer(16);
      new Uint32Array(params, 0, 2).set([out.size, op.xShape[2] * op.xShape[3]]);
      new Float32Array(params, 8, 1)[0] = scale ? scale.lambda(1) : 1;
      this.#dispatch("maskProject", MASK_PROJECT_SHADER, params, [
        this.#target(out, [x0]),
        this.#on(x0),
        this.#constant(y, y),
        this.#maskConstant(op),
      ], out.size);
    } else if (op instanceof SeparableOperator) {
      this.#separableProject(op, x0, y, scale, out);
    } else if (op instanceof WalshHadamardCs) {
      this.#whtProject(op, x0, y, scale, out);
    } else if (op instanceof BlockCs) {
      this.#blockCsProject(op, x0, y, scale, out);
    } else {
      await this.#fallback([x0], out, () => op.project(x0.data, y, scale, out.data));
    }
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
    if (op instanceof RowBlockOperator && op.blockSize <= MAX_BLOCK) {
      const { idx, coef } = this.#rowConstants(op);
      const [r1, r2] = scale.noise(op.v.singular), [n1, n2] = scale.noise(0);
      const params = new ArrayBuffer(32);
      new Uint32Array(params, 0, 3).set([op.blocks, op.blockSize, fixed ? 1 : 0]);
      new Float32Array(params, 12, 5).set([op.v.scale, r1, r2, n1, n2]);
      const zb = this.#on(z), eb = this.#on(eps);
      this.#dispatch("rowNoise", ROW_NOISE_SHADER, params, [
        this.#target(out, [z, eps]),
        zb,
        eb,
        idx,
        coef,
      ], op.blocks);
    } else if (op instanceof MaskOperator) {
      this.#maskNoise(this.#maskConstant(op), op.xShape[2] * op.xShape[3], scale, z, eps, out);
    } else if (op instanceof SeparableOperator) {
      this.#separableNoise(op, z, eps, scale, fixed, out);
    } else if (op instanceof WalshHadamardCs) {
      this.#whtNoise(op, z, eps, scale, fixed, out);
    } else if (op instanceof BlockCs) {
      this.#blockCsNoise(op, z, eps, scale, fixed, out);
    } else {
      await this.#fallback(
        [z, eps],
        out,
        () => op.lambdaNoise(z.data, eps.data, scale, fixed, out.data),
      );
    }
    return out;
  }

  /** d(1) on kept coordinates and d(0) elsewhere: out = d1 ⊙ z + d2 ⊙ ε per a u32 mask of `plane`. */
  #maskNoise(
    mask: GPUBuffer,
    plane: number,
    scale: SpectralScale,
    z: Tensor,
    eps: Tensor,
    out: Tensor,
  ): Tensor {
    const [k1, k2] = scale.noise(1), [m1, m2] = scale.noise(0);
    const params = new ArrayBuffer(32);
    new Uint32Array(params, 0, 2).set([out.size, plane]);
    new Float32Array(params, 8, 4).set([k1, k2, m1, m2]);
    const zb = this.#on(z), eb = this.#on(eps);
    this.#dispatch("maskNoise", MASK_NOISE_SHADER, params, [
      this.#target(out, [z, eps]),
      zb,
      eb,
      mask,
    ], out.size);
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
    const bufs = [this.#on(mask), this.#on(a), this.#on(b)];
    this.#dispatch("blend", BLEND_SHADER, new Uint32Array([out.size, 0, 0, 0]).buffer, [
      this.#target(out, [mask, a, b]),
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
    return this.#mulMapBuffer(out, t, this.#constant(map, map), map.length);
  }

  /** out = t ⊙ map for a map already on the device (`plane` values). */
  #mulMapBuffer(out: Tensor, t: Tensor, map: GPUBuffer, plane: number): Tensor {
    const tb = this.#on(t);
    this.#dispatch("mulMap", MULMAP_SHADER, new Uint32Array([out.size, plane, 0, 0]).buffer, [
      this.#target(out, [t]),
      tb,
      map,
    ], out.size);
    return out;
  }

  /**
   * A per-step coefficient map (DDNM+'s d and λ over singular values change every step) in a
   * buffer kept per owner and slot, rewritten in place instead of a new constant each step.
   */
  #stepMap(owner: object, slot: string, values: Float32Array): GPUBuffer {
    let slots = this.#stepMaps.get(owner);
    if (!slots) this.#stepMaps.set(owner, slots = new Map());
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
   * out = min(max(t, lo), hi).
   *
   * @param out Receives the result.
   * @param t The tensor.
   * @param lo Lower bound.
   * @param hi Upper bound.
   * @returns out.
   */
  clamp(out: Tensor, t: Tensor, lo: number, hi: number): Tensor {
    const tb = this.#on(t);
    const params = new ArrayBuffer(16);
    new Uint32Array(params, 0, 1)[0] = out.size;
    new Float32Array(params, 4, 2).set([lo, hi]);
    this.#dispatch("clamp", CLAMP_SHADER, params, [this.#target(out, [t]), tb], out.size);
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
    const tb = this.#on(t);
    this.#dispatch("crop", CROP_SHADER, this.#tileParams(out, t, y, x), [
      this.#target(out, [t]),
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
    const bufs = [this.#on(tile), this.#constant(weights, weights)];
    this.#dispatch("accumulate", ACCUMULATE_SHADER, this.#tileParams(tile, acc, y, x), [
      this.#inPlace(acc),
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
    const tb = this.#on(t);
    const params = new Int32Array([out.size, t.h, t.w, radius]).buffer;
    this.#dispatch(
      "waveletBlur",
      WAVELET_BLUR_SHADER,
      params,
      [this.#target(out, [t]), tb],
      out.size,
    );
    return out;
  }

  /** (n, H, W, th, tw, y, x) of a tile of `image`, n counting the tile's elements. */
  #tileParams(tile: Tensor, image: Tensor, y: number, x: number): ArrayBuffer {
    return new Uint32Array([tile.size, image.h, image.w, tile.h, tile.w, y, x]).buffer;
  }

  /** The device buffer of `t` for a kernel that updates it in place (the host copy goes stale). */
  #inPlace(t: Tensor): GPUBuffer {
    const b = this.#on(t);
    this.#copies.get(t)!.host = false;
    return b;
  }

  /**
   * Record, without a readback, the first step at which `t` holds NaN or Inf.
   *
   * @param t The tensor (a network output).
   * @param step The step number (>= 0).
   */
  checkFinite(t: Tensor, step: number): void {
    this.#dispatch("finite", FINITE_SHADER, new Uint32Array([t.size, step, 0, 0]).buffer, [
      this.#flag,
      this.#on(t),
    ], t.size);
  }

  /**
   * The first step recorded by {@linkcode checkFinite} (one 4-byte readback), or null.
   *
   * @returns The step or null.
   */
  async firstNonFinite(): Promise<number | null> {
    const v = new Uint32Array(await this.#download(this.#flag, 4));
    return v[0] === 0xffffffff ? null : v[0];
  }

  async #download(buffer: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    this.flush();
    const staging = this.device.createBuffer({ size: Math.ceil(bytes / 4) * 4, usage: 0x1 | 0x8 }); // MAP_READ | COPY_DST
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(buffer, 0, staging, 0, Math.ceil(bytes / 4) * 4);
    this.device.queue.submit([enc.finish()]);
    this.stats.submits++;
    await staging.mapAsync(1); // READ
    const out = staging.getMappedRange().slice(0, bytes);
    staging.unmap();
    staging.destroy();
    return out;
  }

  /**
   * Make `t.data` current (downloading when the device copy is newer).
   *
   * @param t The tensor.
   * @returns t.
   */
  async read(t: Tensor): Promise<Tensor> {
    const c = this.#copies.get(t);
    if (c && !c.host) {
      t.data.set(new Float32Array(await this.#download(c.buffer, t.size * 4)));
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
   * The device buffer holding `t` (uploaded if needed; pending work submitted), for zero-copy
   * hand-over to ONNX Runtime's WebGPU provider.
   *
   * @param t The tensor.
   * @returns The buffer.
   */
  bufferOf(t: Tensor): GPUBuffer {
    const b = this.#on(t);
    this.flush();
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
  adopt(
    buffer: GPUBuffer,
    shape: readonly [number, number, number, number],
    dispose?: () => void,
  ): Tensor {
    const t = Tensor.zeros(shape);
    this.#copies.set(t, { buffer, host: false, device: true, dispose });
    return t;
  }
}
