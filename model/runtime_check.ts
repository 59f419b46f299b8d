/**
 * `--check-ort`: a session whose first network call also runs on the wasm runtime, stopping the
 * run with one error line when the two differ beyond a tolerance (docs/ort_webgpu.md).
 *
 * @module
 */

import { UserError } from "../lib/errors.ts";
import type { GpuFeed, GpuOutput, HostTensor, OrtSession } from "./ort_runtime.ts";

/** Largest difference allowed, relative to the output's scale: max |d| ≤ tol · max(1, max |ref|). */
export const CHECK_ORT_TOLERANCE = 1e-3;

/**
 * Copy a device buffer's first `bytes` bytes to the host as float32 values.
 *
 * @example
 * ```ts ignore
 * import { readGpuBuffer } from "./runtime_check.ts";
 * const values = await readGpuBuffer(device, output.buffer, 4 * 3 * 64 * 64);
 * ```
 *
 * @param device The device owning the buffer.
 * @param buffer The buffer (COPY_SRC usage).
 * @param bytes How many bytes, a multiple of 4.
 * @returns The values.
 */
export async function readGpuBuffer(
  device: GPUDevice,
  buffer: GPUBuffer,
  bytes: number,
): Promise<Float32Array> {
  const staging = device.createBuffer({ size: bytes, usage: 0x0001 | 0x0008 }); // MAP_READ|COPY_DST
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(buffer, 0, staging, 0, bytes);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(1); // READ
  const out = new Float32Array(staging.getMappedRange().slice(0));
  staging.unmap();
  staging.destroy();
  return out;
}

/**
 * The largest absolute difference and the reference's scale.
 *
 * @param got The runtime's output.
 * @param want The wasm output.
 * @returns max |d| and max |want|.
 */
function _compare(got: Float32Array, want: Float32Array): { max: number; scale: number } {
  let max = got.length === want.length ? 0 : Infinity, scale = 0;
  for (let i = 0; i < Math.min(got.length, want.length); i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= max)) max = Number.isNaN(d) ? Infinity : d;
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return { max, scale };
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
      const { max, scale } = _compare(got, want);
      const tol = CHECK_ORT_TOLERANCE * Math.max(1, scale);
      if (!(max <= tol)) {
        throw new UserError(
          `--check-ort: the ${session.runtime} runtime's first network call differs from wasm by ` +
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
    rewrites: session.rewrites,
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
              ? {
                type: "float32",
                data: await readGpuBuffer(device, v.gpuBuffer, 4 * n),
                dims: v.dims,
              }
              : v;
          }
          const o = out[outputs[0]];
          const n = o.dims.reduce((a, b) => a * b, 1);
          await check(host, outputs[0], await readGpuBuffer(device, o.buffer, 4 * n));
        }
        return out;
      }
      : undefined,
    release: () => session.release(),
  };
}
