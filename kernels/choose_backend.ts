/**
 * The backend policy: which tensor backend a `cpu`, `webgpu` or `auto` choice gives.
 *
 * @module
 */

import type { Backend } from "./backend.ts";
import { CpuBackend } from "./cpu_backend.ts";
import { WebGpuBackend } from "./webgpu_backend.ts";
import { adapterName, gpuAdapter, isSoftwareAdapter, mayHaveHardwareGpu } from "../lib/gpu.ts";

/**
 * The tensor backend for a `--backend` choice: `auto` takes WebGPU only on a hardware
 * adapter (a software rasterizer is slower than the CPU path), and says what it chose.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { chooseBackend } from "@diffrestore/sampler";
 *
 * const notes: string[] = [];
 * const backend = await chooseBackend("cpu", (m) => notes.push(m));
 * assert.equal(backend.name, "cpu");
 * ```
 *
 * @param choice cpu, webgpu or auto.
 * @param onNote Receives one line about the choice.
 * @param quietCpu Say nothing when `auto` ends on the CPU (the unremarkable default).
 * @returns The backend.
 */
export async function chooseBackend(
  choice: "cpu" | "webgpu" | "auto",
  onNote: (m: string) => void,
  quietCpu = false,
): Promise<Backend> {
  if (choice === "cpu") return new CpuBackend();
  if (choice === "webgpu") {
    const b = await WebGpuBackend.create();
    onNote(`backend: webgpu on ${b.adapterName}`);
    return b;
  }
  // no GPU device node: no hardware adapter can exist, so skip the probe (and Mesa's start-up)
  const adapter = mayHaveHardwareGpu() ? await gpuAdapter() : null;
  if (!adapter) {
    if (!quietCpu) onNote("backend: cpu (no hardware WebGPU adapter)");
    return new CpuBackend();
  }
  if (isSoftwareAdapter(adapter)) {
    if (!quietCpu) {
      onNote(
        `backend: cpu (the WebGPU adapter '${
          adapterName(adapter)
        }' is a software rasterizer, slower than the CPU path)`,
      );
    }
    return new CpuBackend();
  }
  const b = await WebGpuBackend.create();
  onNote(`backend: webgpu on ${b.adapterName}`);
  return b;
}
