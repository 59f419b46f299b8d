// Test helper: is a WebGPU adapter available? Tests that need one skip, and say so once.
import { gpuAdapter as _probe } from "../lib/gpu.ts";

export const gpuAdapter: GPUAdapter | null = await _probe();

let _said = false;
/** True when GPU tests must skip; prints the reason once per test file. */
export function noGpu(what: string): boolean {
  if (!gpuAdapter && !_said) {
    console.log(
      `skipping ${what}: no WebGPU adapter on this machine (install mesa-vulkan-drivers for a software one)`,
    );
    _said = true;
  }
  return gpuAdapter === null;
}
