/**
 * Probing ONNX Runtime's WebGPU provider on `Conv` configurations: one small graph holds a
 * `Conv` per configuration, runs on the provider and on wasm, and each configuration's largest
 * difference is kept, cached per adapter and ONNX Runtime version in memory and in the model
 * cache folder (docs/ort_webgpu.md).
 *
 * @module
 */

import { philoxNormalsScalar } from "../lib/philox.ts";
import { maxAbsDiff } from "../lib/tensor.ts";
import { writeFileAtomic } from "../lib/atomic_write.ts";
import { adapterName, gpuAdapter } from "../lib/gpu.ts";
import { GraphBuilder } from "./onnx_graph.ts";
import { type ConvConfig, convKey } from "./onnx_conv_sites.ts";
import { ortModule, type OrtTensorApi } from "./ort_modules.ts";
import { modelCacheDir } from "./model_cache.ts";

/** Largest difference from wasm (values of order 1) a configuration may show and pass. */
export const CONV_PROBE_TOLERANCE = 1e-3;

/** Probed configurations: key → largest difference from wasm, per adapter and version. */
const _memory = new Map<string, Map<string, number>>();

/** The spatial size a probe runs at: a few outputs past the kernel's reach. */
function _side(c: ConvConfig): number {
  const reach = (k: number, d: number) => (k - 1) * d + 1;
  return Math.max(12, reach(c.kernel[0], c.dilations[0]), reach(c.kernel[1], c.dilations[1])) + 4;
}

function _outSide(c: ConvConfig, s: number, axis: 0 | 1): number {
  const pads = c.pads[axis] + c.pads[axis + 2];
  return Math.floor((s + pads - (c.kernel[axis] - 1) * c.dilations[axis] - 1) / c.strides[axis]) +
    1;
}

function _normals(n: number, seed: number, scale: number): Float32Array {
  const blocks = Math.ceil(n / 4);
  const out = new Float32Array(blocks * 4);
  philoxNormalsScalar(seed, 7, 0, blocks, out, 0);
  return out.subarray(0, n).map((v) => v * scale);
}

/**
 * The probe graph: one `Conv` per configuration, input `x<i>` and output `y<i>`, with weights
 * scaled so outputs are of order 1, and the inputs to feed it.
 *
 * @example
 * ```ts
 * import { convProbeGraph } from "./webgpu_conv_probe.ts";
 * const { bytes, inputs } = convProbeGraph([{
 *   cin: 6, cout: 16, kernel: [3, 3], strides: [1, 1], dilations: [1, 1], group: 1,
 *   pads: [1, 1, 1, 1],
 * }]);
 * console.log(bytes.length > 0, inputs[0].dims); // true [ 1, 6, 16, 16 ]
 * ```
 *
 * @param configs The configurations.
 * @returns The graph's bytes and one input per configuration.
 */
export function convProbeGraph(
  configs: readonly ConvConfig[],
): { bytes: Uint8Array; inputs: { name: string; data: Float32Array; dims: number[] }[] } {
  const g = new GraphBuilder("conv_probe");
  const inputs: { name: string; data: Float32Array; dims: number[] }[] = [];
  configs.forEach((c, i) => {
    const s = _side(c), perGroup = c.cin / c.group;
    const dims = [1, c.cin, s, s];
    const x = g.input(`x${i}`, "float32", dims);
    inputs.push({ name: x, data: _normals(c.cin * s * s, 1000 + i, 1), dims });
    const fanIn = perGroup * c.kernel[0] * c.kernel[1];
    const w = g.constant(
      "w",
      _normals(c.cout * fanIn, 2000 + i, 1 / Math.sqrt(fanIn)),
      [c.cout, perGroup, ...c.kernel],
    );
    const b = g.constant("b", _normals(c.cout, 3000 + i, 0.1), [c.cout]);
    const y = g.node("Conv", [x, w, b], {
      kernel_shape: c.kernel,
      strides: c.strides,
      dilations: c.dilations,
      group: c.group,
      pads: c.pads,
    });
    g.output(y, `y${i}`, "float32", [1, c.cout, _outSide(c, s, 0), _outSide(c, s, 1)]);
  });
  return { bytes: g.toBytes(), inputs };
}

async function _identity(): Promise<string> {
  const adapter = await gpuAdapter();
  const ort = await ortModule("webgpu") as unknown as { env: { versions?: { web?: string } } };
  return `${adapter ? adapterName(adapter) : "no adapter"} | onnxruntime-web ${
    ort.env.versions?.web ?? "unknown"
  }`;
}

function _cacheFile(): string | null {
  try {
    return `${modelCacheDir()}/webgpu-conv-probes.json`;
  } catch {
    return null;
  }
}

async function _readCache(file: string | null): Promise<Record<string, Record<string, number>>> {
  if (!file) return {};
  try {
    const parsed = JSON.parse(await Deno.readTextFile(file));
    return parsed && typeof parsed === "object" ? parsed : {};
  } catch {
    return {}; // no cache yet, or one that cannot be read: probe again
  }
}

/** Run the probe graph on one runtime; the outputs in input order. */
async function _runProbe(
  runtime: "webgpu" | "wasm",
  graph: ReturnType<typeof convProbeGraph>,
  device?: GPUDevice,
): Promise<Float32Array[]> {
  const ort = await ortModule(runtime);
  ort.env.wasm.numThreads = 1; // the WebGPU build needs it under Deno; wasm needs no pool here
  const session = await ort.InferenceSession.create(graph.bytes, {
    executionProviders: runtime === "webgpu" ? [{ name: "webgpu", device }] : ["wasm"],
    logSeverityLevel: 3,
  });
  try {
    const feeds: Record<string, OrtTensorApi> = {};
    for (const x of graph.inputs) feeds[x.name] = new ort.Tensor("float32", x.data, x.dims);
    const res = await session.run(feeds);
    return graph.inputs.map((_, i) => res[`y${i}`].data as Float32Array);
  } finally {
    await session.release();
  }
}

/**
 * The largest difference between the WebGPU provider and wasm for each configuration, probing
 * only those not seen before on this adapter and ONNX Runtime version.
 *
 * @example
 * ```ts ignore
 * import { probeConvConfigs } from "./webgpu_conv_probe.ts";
 * const diffs = await probeConvConfigs([config], device);
 * console.log(diffs.get(convKey(config)));
 * ```
 *
 * @param configs The configurations.
 * @param device The device the provider runs on.
 * @returns Key ({@linkcode convKey}) → largest absolute difference.
 */
export async function probeConvConfigs(
  configs: readonly ConvConfig[],
  device: GPUDevice,
): Promise<Map<string, number>> {
  const identity = await _identity();
  const file = _cacheFile();
  let known = _memory.get(identity);
  if (!known) {
    // a difference written as null (JSON has no Infinity) stays a failure
    const cached = Object.entries((await _readCache(file))[identity] ?? {});
    known = new Map(cached.map(([k, v]) => [k, typeof v === "number" ? v : Infinity]));
    _memory.set(identity, known);
  }
  const todo = new Map<string, ConvConfig>();
  for (const c of configs) if (!known.has(convKey(c))) todo.set(convKey(c), c);
  if (todo.size) {
    const list = [...todo.values()];
    const graph = convProbeGraph(list);
    const [gpu, cpu] = [await _runProbe("webgpu", graph, device), await _runProbe("wasm", graph)];
    list.forEach((c, i) => known!.set(convKey(c), maxAbsDiff(gpu[i], cpu[i])));
    if (file) {
      // a cache that cannot be written costs a probe next time, nothing more
      const all = await _readCache(file);
      all[identity] = Object.fromEntries(known);
      await Deno.mkdir(file.slice(0, file.lastIndexOf("/")), { recursive: true })
        .then(() => writeFileAtomic(file, new TextEncoder().encode(JSON.stringify(all))))
        .catch(() => {});
    }
  }
  return new Map(configs.map((c) => [convKey(c), known!.get(convKey(c))!]));
}
