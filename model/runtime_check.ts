/**
 * `--check-ort`: a session whose first network call also runs on the wasm runtime, stopping the
 * run with one error line when the two differ beyond a tolerance (docs/ort_webgpu.md).
 *
 * @module
 */

import { UserError } from "../lib/errors.ts";
import { downloadBuffer } from "../lib/gpu.ts";
import { maxAbsDiff } from "../lib/tensor.ts";
import type { GpuFeed, GpuOutput, HostTensor, OrtSession } from "./ort_runtime.ts";

/** Largest difference allowed, relative to the output's scale: max |d| ≤ tol · max(1, max |ref|). */
export const CHECK_ORT_TOLERANCE = 1e-3;

/** A float32 tensor of `n` values left on the device, copied to the host. */
async function _download(device: GPUDevice, buffer: GPUBuffer, n: number): Promise<Float32Array> {
  return new Float32Array(await downloadBuffer(device, buffer, 4 * n));
}

/**
 * Wrap a session so that its first call (host or device) is repeated on wasm and compared.
 *
 * @example
 * ```ts ignore
 * import { checkedAgainstWasm } from "./runtime_check.ts";
 * const checked = checkedAgainstWasm(session, () => createSession(path, { runtime: "wasm" }), device);
 * ```
 *
 * @param session The session to check.
 * @param reference Creates the same network on wasm (called once, released after the check).
 * @param device The device of a WebGPU session (to read its device inputs and outputs).
 * @returns The wrapped session.
 */
export function checkedAgainstWasm(
  session: OrtSession,
  reference: () => Promise<OrtSession>,
  device?: GPUDevice,
): OrtSession {
  let checked = false;
  const check = async (
    feeds: Record<string, HostTensor>,
    name: string,
    got: Float32Array,
  ): Promise<void> => {
    checked = true;
    const wasm = await reference();
    try {
      const want = (await wasm.run(feeds, [name]))[name].data;
      const max = maxAbsDiff(got, want);
      const tol = CHECK_ORT_TOLERANCE * want.reduce((m, v) => Math.max(m, Math.abs(v)), 1);
      if (!(max <= tol)) {
        throw UserError.about(
          "checkOrt",
          `the ${session.runtime} runtime's first network call differs from wasm by ` +
            `max |d| ${max.toPrecision(3)} (tolerance ${tol.toPrecision(2)}): its output ` +
            `cannot be trusted here`,
        );
      }
    } finally {
      await wasm.release();
    }
  };
  const runOnDevice = session.runOnDevice;
  return {
    ...session,
    async run(feeds, outputs) {
      const out = await session.run(feeds, outputs);
      if (!checked) await check(feeds, outputs[0], out[outputs[0]].data);
      return out;
    },
    runOnDevice: runOnDevice && device
      ? async (feeds: Record<string, HostTensor | GpuFeed>, outputs: string[]) => {
        const out: Record<string, GpuOutput> = await runOnDevice(feeds, outputs);
        if (!checked) {
          const host: Record<string, HostTensor> = {};
          for (const [k, v] of Object.entries(feeds)) {
            const n = v.dims.reduce((a, b) => a * b, 1);
            host[k] = "gpuBuffer" in v
              ? { type: "float32", data: await _download(device, v.gpuBuffer, n), dims: v.dims }
              : v;
          }
          const o = out[outputs[0]];
          const n = o.dims.reduce((a, b) => a * b, 1);
          await check(host, outputs[0], await _download(device, o.buffer, n));
        }
        return out;
      }
      : undefined,
  };
}
