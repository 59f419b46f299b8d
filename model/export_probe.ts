/**
 * Checking an exported network against the probe its exporter saved beside it
 * (`<name>.probe.json`: inputs by ONNX name as `.npy` files, PyTorch's output on them and a
 * tolerance; docs/export.md): the ONNX file runs on the same inputs and the largest difference
 * is reported.
 *
 * @module
 */

import { UserError } from "../lib/errors.ts";
import { readNpyFile } from "../lib/npy.ts";
import {
  createSession,
  type HostTensor,
  type OrtSession,
  type SessionOptions,
} from "./ort_runtime.ts";
import type { ConvRewrite } from "./webgpu_conv_guard.ts";
import { philoxNormalsScalar } from "../lib/philox.ts";
import { maxAbsDiff, meanAbsDiff } from "../lib/tensor.ts";
import { readJsonFile } from "./manifest.ts";

/** How one exported network compares with its probe. */
export interface ProbeCheck {
  /** The ONNX file. */
  model: string;
  /** The runtime that ran it. */
  runtime: string;
  /** Largest absolute difference from PyTorch's output. */
  maxDiff: number;
  /** Mean absolute difference. */
  meanDiff: number;
  /** The probe's tolerance. */
  tolerance: { max: number; mean: number };
  /** Both differences within the tolerance. */
  ok: boolean;
}

/**
 * The probe file of an exported network: `net.onnx` → `net.probe.json`.
 *
 * @param modelPath The ONNX file.
 * @returns The probe's path.
 */
export function probePathFor(modelPath: string): string {
  return modelPath.replace(/\.onnx$/i, "") + ".probe.json";
}

/** The probe's inputs, read from the `.npy` files beside it, by ONNX input name. */
async function _probeFeeds(
  session: OrtSession,
  probePath: string,
  inputs: Record<string, { file: string }>,
): Promise<Record<string, HostTensor>> {
  const dir = probePath.includes("/") ? probePath.slice(0, probePath.lastIndexOf("/") + 1) : "";
  const feeds: Record<string, HostTensor> = {};
  for (const [name, spec] of Object.entries(inputs)) {
    const meta = session.inputs.find((i) => i.name === name);
    if (!meta) throw new UserError(`${probePath}: the model has no input '${name}'`);
    const a = await readNpyFile(dir + spec.file);
    feeds[name] = meta.type === "int64"
      ? {
        type: "int64",
        data: BigInt64Array.from(a.data, (v) => BigInt(Math.round(v))),
        dims: a.shape,
      }
      : { type: "float32", data: a.data, dims: a.shape };
  }
  return feeds;
}

/**
 * Inputs for a model without a probe: named dimensions become 1 (the first) or 64, images get
 * standard-normal values and a one-value-per-item input (a timestep) the step 10.
 */
function _syntheticFeeds(session: OrtSession): Record<string, HostTensor> {
  const feeds: Record<string, HostTensor> = {};
  session.inputs.forEach((meta, i) => {
    const dims = (meta.shape ?? [1]).map((d, k) => typeof d === "number" && d > 0 ? d : k ? 64 : 1);
    const n = dims.reduce((a, b) => a * b, 1);
    if (meta.type === "int64") {
      feeds[meta.name] = { type: "int64", data: new BigInt64Array(n).fill(10n), dims };
      return;
    }
    // one value per batch item is a timestep: a plausible step index, not a random draw
    if (n === dims[0]) {
      feeds[meta.name] = { type: "float32", data: new Float32Array(n).fill(10), dims };
      return;
    }
    const data = new Float32Array(Math.ceil(n / 4) * 4);
    philoxNormalsScalar(11, i, 0, data.length / 4, data, 0);
    feeds[meta.name] = { type: "float32", data: data.subarray(0, n), dims };
  });
  return feeds;
}

/** Largest and mean absolute difference of two outputs of the same network. */
function _diff(got: Float32Array, want: Float32Array): { max: number; mean: number } {
  return { max: maxAbsDiff(got, want), mean: meanAbsDiff(got, want) };
}

/** How ONNX Runtime's WebGPU provider compares with wasm on one network. */
export interface ProviderCheck {
  /** The ONNX file. */
  model: string;
  /** Largest difference with the guard's rewrites. */
  maxDiff: number;
  /** Mean difference with the guard's rewrites. */
  meanDiff: number;
  /** Largest difference of the graph as it is, without the guard. */
  unguardedMaxDiff: number;
  /** What the guard rewrote. */
  rewrites: readonly ConvRewrite[];
  /** Where the inputs came from: the export's probe, or generated. */
  inputs: "probe" | "generated";
}

/**
 * Run a network on ONNX Runtime's WebGPU provider (with and without the `Conv` guard) and on
 * wasm, on its export probe's inputs or on generated ones, and report the differences.
 *
 * @example
 * ```ts ignore
 * import { compareWebGpuWithWasm } from "./export_probe.ts";
 * const r = await compareWebGpuWithWasm("net.onnx");
 * console.log(r.maxDiff, r.unguardedMaxDiff, r.rewrites.length);
 * ```
 *
 * @param modelPath The ONNX file.
 * @returns The differences.
 */
export async function compareWebGpuWithWasm(modelPath: string): Promise<ProviderCheck> {
  const probePath = probePathFor(modelPath);
  const probe = await Deno.stat(probePath).then(
    () =>
      readJsonFile(probePath, "export probe") as Promise<
        { inputs?: Record<string, { file: string }> }
      >,
    () => null,
  );
  const wasm = await createSession(modelPath, { runtime: "wasm", threads: 1 });
  try {
    const feeds = probe?.inputs
      ? await _probeFeeds(wasm, probePath, probe.inputs)
      : _syntheticFeeds(wasm);
    const name = wasm.outputs[0].name;
    const want = (await wasm.run(feeds, [name]))[name].data;
    const onGpu = async (guard: boolean) => {
      const s = await createSession(modelPath, { runtime: "webgpu", guard });
      try {
        return { diff: _diff((await s.run(feeds, [name]))[name].data, want), rewrites: s.rewrites };
      } finally {
        await s.release();
      }
    };
    const guarded = await onGpu(true), raw = await onGpu(false);
    return {
      model: modelPath,
      maxDiff: guarded.diff.max,
      meanDiff: guarded.diff.mean,
      unguardedMaxDiff: raw.diff.max,
      rewrites: guarded.rewrites,
      inputs: probe?.inputs ? "probe" : "generated",
    };
  } finally {
    await wasm.release();
  }
}

/**
 * Run an exported network on its probe inputs and compare with the saved PyTorch output.
 *
 * @example
 * ```ts ignore
 * import { checkProbe } from "./export_probe.ts";
 * const r = await checkProbe("exported/model.onnx", { runtime: "wasm" });
 * console.log(r.ok, r.maxDiff);
 * ```
 *
 * @param modelPath The ONNX file (its probe beside it).
 * @param options The runtime to check on.
 * @returns The comparison.
 */
export async function checkProbe(
  modelPath: string,
  options: SessionOptions = {},
): Promise<ProbeCheck> {
  const probePath = probePathFor(modelPath);
  const probe = await readJsonFile(probePath, "export probe") as {
    inputs?: Record<string, { file: string; dtype?: string }>;
    output?: string;
    tolerance?: { max?: number; mean?: number };
  };
  if (!probe || typeof probe.inputs !== "object" || typeof probe.output !== "string") {
    throw new UserError(`${probePath}: needs 'inputs' and 'output'`);
  }
  const session = await createSession(modelPath, options);
  try {
    const feeds = await _probeFeeds(session, probePath, probe.inputs);
    const outName = session.outputs[0].name;
    const got = (await session.run(feeds, [outName]))[outName];
    const dir = probePath.slice(0, probePath.lastIndexOf("/") + 1);
    const want = await readNpyFile(dir + probe.output);
    if (got.data.length !== want.data.length) {
      throw new UserError(
        `${modelPath}: output has ${got.data.length} values, the probe ${want.data.length}`,
      );
    }
    const { max, mean } = _diff(got.data, want.data);
    const tolerance = { max: probe.tolerance?.max ?? 1e-3, mean: probe.tolerance?.mean ?? 1e-4 };
    return {
      model: modelPath,
      runtime: session.runtime,
      maxDiff: max,
      meanDiff: mean,
      tolerance,
      ok: max <= tolerance.max && mean <= tolerance.mean,
    };
  } finally {
    await session.release();
  }
}
