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
import { createSession, type HostTensor, type SessionOptions } from "./ort_runtime.ts";
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
  const dir = probePath.includes("/") ? probePath.slice(0, probePath.lastIndexOf("/") + 1) : "";
  const session = await createSession(modelPath, options);
  try {
    const feeds: Record<string, HostTensor> = {};
    for (const [name, spec] of Object.entries(probe.inputs)) {
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
    const outName = session.outputs[0].name;
    const got = (await session.run(feeds, [outName]))[outName];
    const want = await readNpyFile(dir + probe.output);
    if (got.data.length !== want.data.length) {
      throw new UserError(
        `${modelPath}: output has ${got.data.length} values, the probe ${want.data.length}`,
      );
    }
    let max = 0, sum = 0;
    for (let i = 0; i < got.data.length; i++) {
      const d = Math.abs(got.data[i] - want.data[i]);
      if (!(d <= max)) max = Number.isNaN(d) ? Infinity : d;
      sum += d;
    }
    const tolerance = { max: probe.tolerance?.max ?? 1e-3, mean: probe.tolerance?.mean ?? 1e-4 };
    const mean = sum / got.data.length;
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
