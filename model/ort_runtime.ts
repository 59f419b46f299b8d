/**
 * One interface over three ONNX runtimes: onnxruntime-node (native CPU), onnxruntime-web
 * (wasm, multi-threaded) and onnxruntime-web's WebGPU provider (sharing our `GPUDevice`).
 *
 * @module
 */

import { UserError } from "../lib/errors.ts";
import { trace } from "../lib/trace.ts";
import { optimizedModelPath } from "./ort_cache.ts";
import { externalDataFiles } from "./onnx_external.ts";
import { gpuAdapter, requestGpuDevice } from "../lib/gpu.ts";
import { halfArray, halfToFloat32 } from "../lib/float16.ts";
import { type ConvRewrite, guardWebGpuConvs } from "./webgpu_conv_guard.ts";
import { CONV_PROBE_TOLERANCE, probeConvConfigs } from "./webgpu_conv_probe.ts";
import { checkedAgainstWasm } from "./runtime_check.ts";
import {
  type ElementType,
  type OrtChoice,
  ortModule,
  type OrtModuleApi,
  type OrtSessionApi,
  type OrtTensorApi,
  readModelBytes,
  resolveRuntime,
  type RuntimeName,
} from "./ort_modules.ts";

export {
  type ElementType,
  type OrtChoice,
  readModelBytes,
  resolveRuntime,
  type RuntimeName,
} from "./ort_modules.ts";

/** Name, element type and shape (symbolic dimensions as strings) of a session input or output. */
export interface IoMeta {
  /** The name. */
  name: string;
  /** Element type (`float32`, `int64`, ...). */
  type: string;
  /** Shape, or null when the file does not say. */
  shape: (number | string)[] | null;
}

/** A tensor handed to or returned by a session, on the host. */
export interface HostTensor {
  /** Element type. */
  type: ElementType;
  /** The values. */
  data: Float32Array | BigInt64Array;
  /** The shape. */
  dims: readonly number[];
}

/** A float32 tensor that stays on the GPU (the WebGPU runtime's zero-copy input). */
export interface GpuFeed {
  /** Always float32. */
  type: "float32";
  /** The device buffer (STORAGE usage; at least the tensor's size). */
  gpuBuffer: GPUBuffer;
  /** The shape. */
  dims: readonly number[];
}

/** A network output left on the GPU. */
export interface GpuOutput {
  /** The buffer ONNX Runtime wrote. */
  buffer: GPUBuffer;
  /** The shape. */
  dims: readonly number[];
  /** Give the buffer back to ONNX Runtime. */
  dispose: () => void;
}

/** A loaded ONNX network. */
export interface OrtSession {
  /** Which runtime runs it. */
  readonly runtime: RuntimeName;
  /** Its inputs. */
  readonly inputs: IoMeta[];
  /** Its outputs. */
  readonly outputs: IoMeta[];
  /**
   * Run the network.
   *
   * @param feeds Inputs by name.
   * @param outputs Names of the outputs to fetch.
   * @returns float32 outputs by name.
   */
  run(
    feeds: Record<string, HostTensor>,
    outputs: string[],
  ): Promise<Record<string, { data: Float32Array; dims: readonly number[] }>>;
  /**
   * Run with inputs and outputs on the GPU (WebGPU runtime only; absent otherwise).
   *
   * @param feeds Inputs by name: GPU buffers, or host tensors (small ones like timesteps).
   * @param outputs Names of the outputs to fetch.
   * @returns The outputs, left on the GPU.
   */
  runOnDevice?(
    feeds: Record<string, HostTensor | GpuFeed>,
    outputs: string[],
  ): Promise<Record<string, GpuOutput>>;
  /** The graph rewrites the WebGPU guard made (empty elsewhere). */
  readonly rewrites: readonly ConvRewrite[];
  /** Free the session. */
  release(): Promise<void>;
}

/** Options of session creation. */
export interface SessionOptions {
  /** Which runtime (default `auto`). */
  runtime?: OrtChoice;
  /** CPU threads: native (default all cores) and wasm (default 1: several can hang). */
  threads?: number;
  /** The GPU device to share with the WebGPU provider. */
  device?: GPUDevice;
  /** Receives one line when `auto` falls back or a runtime is chosen. */
  onNote?: (message: string) => void;
  /** The model file's path, which enables the native runtime's optimised-model cache. */
  modelPath?: string;
  /** Progress of downloads (models by URL): file, bytes so far, size when known. */
  onDownload?: (file: string, done: number, total: number | null) => void;
  /** The expected SHA-256 (hex) of a model given by URL. */
  sha256?: string;
  /** Probe and rewrite `Conv` nodes for the WebGPU provider (default true; docs/ort_webgpu.md). */
  guard?: boolean;
  /** Repeat the first network call on wasm and stop on a difference (`--check-ort`). */
  checkOrt?: boolean;
}

function _meta(
  list: OrtSessionApi["inputMetadata"],
  names: readonly string[],
): IoMeta[] {
  return names.map((name) => {
    const m = list?.find((x) => x.name === name);
    return { name, type: m?.type ?? "unknown", shape: m?.shape ? [...m.shape] : null };
  });
}

/**
 * A float16 tensor from half-precision bits. onnxruntime-common turns a Uint16Array into a
 * Float16Array view where the global exists (Deno has it), which onnxruntime-node's binding
 * reads as empty; the native runtime keeps the Uint16Array (its `cpuData`, ORT 1.30).
 */
function _halfTensor(
  ort: OrtModuleApi,
  bits: Uint16Array,
  dims: readonly number[],
  runtime: RuntimeName,
): OrtTensorApi {
  const t = new ort.Tensor("float16", bits, dims);
  if (runtime === "native") (t as unknown as { cpuData: Uint16Array }).cpuData = bits;
  return t;
}

/** Models above this size are not kept in the optimised-model cache. */
const _CACHE_MAX_BYTES = 256 * 2 ** 20;

/** The external data files of a model, read from beside it, for ONNX Runtime Web. */
async function _externalData(
  model: string,
  files: string[],
): Promise<{ path: string; data: Uint8Array }[]> {
  const dir = model.includes("/") ? model.slice(0, model.lastIndexOf("/") + 1) : "";
  return await Promise.all(files.map(async (f) => {
    try {
      return { path: f, data: await Deno.readFile(dir + f) };
    } catch {
      throw new UserError(`model ${model} names external data ${f}, which is not beside it`);
    }
  }));
}

/**
 * Create a session on the chosen runtime.
 *
 * @example
 * ```ts ignore
 * import { createSession } from "./ort_runtime.ts";
 * const s = await createSession("net.onnx", { runtime: "auto" });
 * console.log(s.runtime, s.inputs.map((i) => i.name));
 * ```
 *
 * @param source Path, URL or bytes of the `.onnx` file.
 * @param options Runtime, threads, device.
 * @returns The session.
 */
/** Each runtime's session options (threads, providers, the WebGPU device). */
async function _runtimeOptions(
  runtime: RuntimeName,
  ort: OrtModuleApi,
  options: SessionOptions,
): Promise<{ sessionOptions: Record<string, unknown>; device?: GPUDevice }> {
  const threads = options.threads ?? navigator.hardwareConcurrency ?? 1;
  let sessionOptions: Record<string, unknown>;
  let device: GPUDevice | undefined;
  if (runtime === "native") {
    sessionOptions = {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: "all",
      logSeverityLevel: 3,
    };
  } else if (runtime === "wasm") {
    // one thread unless asked: on several, ONNX Runtime Web can hang a call for good (a 192x128
    // call 5 of 5 times: docs/ort_wasm_threads.md); the count takes effect when the module starts
    ort.env.wasm.numThreads = options.threads ?? 1;
    if ((options.threads ?? 1) > 1) {
      options.onNote?.(
        `wasm on ${options.threads} threads: ONNX Runtime Web 1.30 can hang a call for good ` +
          `on several (docs/ort_wasm_threads.md)`,
      );
    }
    sessionOptions = {
      executionProviders: ["wasm"],
      graphOptimizationLevel: "all",
      logSeverityLevel: 3,
    };
  } else {
    ort.env.wasm.numThreads = 1; // required by the WebGPU build under Deno
    device = options.device ?? (await _defaultDevice());
    sessionOptions = {
      executionProviders: [{ name: "webgpu", device }],
      graphOptimizationLevel: "all",
      logSeverityLevel: 3,
      preferredOutputLocation: "gpu-buffer",
    };
  }
  return { sessionOptions, device };
}

/** The session, through the optimised-graph cache where it applies (the cache policy). */
async function _openSession(
  ort: OrtModuleApi,
  source: string | URL | Uint8Array,
  sessionOptions: Record<string, unknown>,
  options: SessionOptions,
  files: { path: string | null; external: string[]; guarded: Uint8Array | null },
): Promise<OrtSessionApi> {
  const { path, external, guarded } = files;
  let session: OrtSessionApi;
  try {
    // an optimised graph saved in the cache would lose its way to the data files
    if (external.length && path) {
      options.onNote?.(
        `${path} keeps its weights as external data (${
          external.join(", ")
        }): the optimised-model cache is skipped`,
      );
    }
    // a large model's optimised copy costs a copy of the weights on disk, and the first
    // session that writes it holds them three times over (3.1x the file at 1 GB, measured)
    const large = path && !external.length
      ? (await Deno.stat(path).then((st) => st.size, () => 0)) > _CACHE_MAX_BYTES
      : false;
    if (large) {
      options.onNote?.(`${path} is larger than 256 MB: the optimised-model cache is skipped`);
    }
    const cached = path && !external.length && !large
      ? await optimizedModelPath(path, "1.30.0")
      : null;
    const hit = cached ? await Deno.stat(cached).then((st) => st.size > 0, () => false) : false;
    if (hit) {
      trace("optimised model found in the cache");
      session = await ort.InferenceSession.create(cached!, {
        ...sessionOptions,
        graphOptimizationLevel: "disabled",
      });
    } else if (cached) {
      // save the optimised graph next to its final name, then rename it in (never half written)
      const tmp = `${cached}.${Deno.pid}.tmp`;
      session = await ort.InferenceSession.create(path!, {
        ...sessionOptions,
        optimizedModelFilePath: tmp,
      });
      await Deno.rename(tmp, cached).catch(() => Deno.remove(tmp).catch(() => {}));
    } else {
      session = await ort.InferenceSession.create(
        path ?? guarded ?? (await readModelBytes(source)),
        sessionOptions,
      );
    }
  } catch (e) {
    const where = source instanceof Uint8Array ? "model" : `model ${source}`;
    throw new UserError(
      `${where}: not a loadable ONNX file (${(e as Error).message.split("\n")[0]})`,
    );
  }
  return session;
}

/** The session behind the {@linkcode OrtSession} interface: float16 at the boundary, GPU outputs. */
function _wrapSession(
  ort: OrtModuleApi,
  session: OrtSessionApi,
  runtime: RuntimeName,
  rewrites: ConvRewrite[],
): OrtSession {
  const inputs = _meta(session.inputMetadata, session.inputNames);
  const outputs = _meta(session.outputMetadata, session.outputNames);
  const halfInputs = new Set(inputs.filter((i) => i.type === "float16").map((i) => i.name));
  // zero-copy GPU calls feed and fetch float32 buffers: a float16 network runs through the host
  const halfIo = halfInputs.size > 0 || outputs.some((o) => o.type === "float16");
  return {
    runtime,
    inputs,
    outputs,
    rewrites,
    async run(feeds, outputs) {
      const ortFeeds: Record<string, OrtTensorApi> = {};
      for (const [k, v] of Object.entries(feeds)) {
        // a float16 input gets the float32 values rounded at the boundary
        ortFeeds[k] = v.type === "float32" && halfInputs.has(k)
          ? _halfTensor(ort, halfArray(v.data as Float32Array), v.dims, runtime)
          : new ort.Tensor(v.type, v.data, v.dims);
      }
      const res = await session.run(ortFeeds, outputs);
      const out: Record<string, { data: Float32Array; dims: readonly number[] }> = {};
      for (const name of outputs) {
        const t = res[name];
        // a WebGPU session keeps outputs on the GPU; a host caller downloads them
        const data = t.location === "gpu-buffer" && t.getData ? await t.getData(true) : t.data;
        if (t.type === "float16") {
          out[name] = { data: halfToFloat32(data as ArrayLike<number>), dims: t.dims };
          continue;
        }
        if (t.location === "gpu-buffer") {
          out[name] = { data: data as Float32Array, dims: t.dims };
          continue;
        }
        if (!(t.data instanceof Float32Array)) {
          throw new UserError(`output '${name}' is ${t.type}, expected float32 or float16`);
        }
        out[name] = { data: t.data, dims: t.dims };
      }
      return out;
    },
    runOnDevice: runtime !== "webgpu" || halfIo ? undefined : async (feeds, outputs) => {
      const fromGpu = (ort.Tensor as unknown as {
        fromGpuBuffer(b: GPUBuffer, o: { dataType: string; dims: readonly number[] }): OrtTensorApi;
      }).fromGpuBuffer;
      const ortFeeds: Record<string, OrtTensorApi> = {};
      for (const [k, v] of Object.entries(feeds)) {
        ortFeeds[k] = "gpuBuffer" in v
          ? fromGpu(v.gpuBuffer, { dataType: "float32", dims: v.dims })
          : new ort.Tensor(v.type, v.data, v.dims);
      }
      const res = await session.run(ortFeeds, outputs);
      const out: Record<string, GpuOutput> = {};
      for (const name of outputs) {
        const t = res[name];
        if (!t.gpuBuffer) throw new Error(`output '${name}' did not stay on the GPU`);
        out[name] = { buffer: t.gpuBuffer, dims: t.dims, dispose: () => t.dispose?.() };
      }
      return out;
    },
    release: () => session.release(),
  };
}

export async function createSession(
  source: string | URL | Uint8Array,
  options: SessionOptions = {},
): Promise<OrtSession> {
  const runtime = await resolveRuntime(options.runtime ?? "auto", options.onNote);
  const ort = await ortModule(runtime);
  trace(`onnxruntime ${runtime} loaded`);
  const { sessionOptions, device } = await _runtimeOptions(runtime, ort, options);
  // the native runtime opens files itself (no copy through JS), and keeps optimised graphs
  const path = runtime === "native"
    ? options.modelPath ?? (typeof source === "string" ? source : null)
    : null;
  const file = typeof source === "string" && !/^https?:\/\//.test(source) ? source : null;
  const external = file ? await externalDataFiles(file).catch(() => []) : [];
  if (external.length && runtime !== "native") {
    // wasm and WebGPU read no files: hand them the data files the model names
    sessionOptions.externalData = await _externalData(file!, external);
    if (runtime === "wasm" && ort.env.wasm.numThreads !== 1) {
      // ONNX Runtime Web 1.30 intermittently hangs running such a model on several threads
      ort.env.wasm.numThreads = 1;
      options.onNote?.(
        `${file} keeps its weights as external data: the wasm runtime runs it on one thread`,
      );
    }
  }
  // the WebGPU provider runs only Conv configurations that probe right (docs/ort_webgpu.md)
  let guarded: Uint8Array | null = null, rewrites: ConvRewrite[] = [];
  if (device && options.guard !== false) {
    ({ bytes: guarded, rewrites } = await guardWebGpuConvs(
      await readModelBytes(source),
      (configs) => probeConvConfigs(configs, device),
      CONV_PROBE_TOLERANCE,
    ));
    for (const r of rewrites) {
      options.onNote?.(
        `ONNX Runtime's WebGPU provider miscomputes Conv ${r.config} here (max |d| ${
          r.maxDiff.toPrecision(3)
        } against wasm): ${r.node} rewritten, ${r.action}`,
      );
    }
  }
  const session = await _openSession(ort, source, sessionOptions, options, {
    path,
    external,
    guarded,
  });
  trace("session created");
  const created = _wrapSession(ort, session, runtime, rewrites);
  if (!options.checkOrt || runtime === "wasm") return created;
  // the reference runs the file as given, on one thread (no pool to hang a first call)
  const reference = () => createSession(source, { runtime: "wasm", threads: 1, guard: false });
  return checkedAgainstWasm(created, reference, device);
}

let _device: Promise<GPUDevice> | undefined;
// Deno's wgpu panics if an adapter is collected while its device lives: keep it referenced.
let _adapter: GPUAdapter | undefined;

async function _defaultDevice(): Promise<GPUDevice> {
  _device ??= (async () => {
    _adapter = (await gpuAdapter()) ?? undefined;
    if (!_adapter) {
      throw UserError.about(
        "runtime",
        "runtime webgpu: no WebGPU adapter is available on this machine",
      );
    }
    return await requestGpuDevice(_adapter);
  })();
  return await _device;
}
