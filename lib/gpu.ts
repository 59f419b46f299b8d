/**
 * Finding a WebGPU adapter: quietly (Mesa wants a runtime directory), once per process, and
 * telling software rasterizers apart from real GPUs.
 *
 * @module
 */

let _adapter: Promise<GPUAdapter | null> | undefined;

/**
 * Give Mesa's drivers a private runtime directory when `XDG_RUNTIME_DIR` is unset, so that
 * probing the adapter prints nothing.
 */
export function prepareGpuEnvironment(): void {
  try {
    if (Deno.env.get("XDG_RUNTIME_DIR")) return;
    const dir = `${Deno.env.get("TMPDIR") ?? "/tmp"}/diffrestore-xdg-${Deno.uid?.() ?? 0}`;
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    Deno.env.set("XDG_RUNTIME_DIR", dir);
  } catch {
    // no permission to set it: the driver may print a warning, nothing worse
  }
}

/**
 * The process's WebGPU adapter, or null when there is none (cached; kept referenced, since
 * Deno must not collect an adapter whose device lives).
 *
 * @returns The adapter or null.
 */
export function gpuAdapter(): Promise<GPUAdapter | null> {
  _adapter ??= (async () => {
    prepareGpuEnvironment();
    try {
      return (await navigator.gpu?.requestAdapter({ powerPreference: "high-performance" })) ?? null;
    } catch {
      return null;
    }
  })();
  return _adapter;
}

/**
 * Whether this machine could have a hardware GPU at all: on Linux a DRM render node or an
 * NVIDIA device exists (checking costs microseconds; probing an adapter, tens of milliseconds).
 *
 * @returns False only when no GPU device node exists on Linux.
 */
export function mayHaveHardwareGpu(): boolean {
  if (Deno.build.os !== "linux") return true;
  try {
    for (const e of Deno.readDirSync("/dev/dri")) if (e.name.startsWith("renderD")) return true;
  } catch {
    // no /dev/dri
  }
  try {
    Deno.statSync("/dev/nvidia0");
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether an adapter is a software rasterizer (lavapipe/llvmpipe, SwiftShader, WARP), which
 * runs the kernels slower than the CPU path.
 *
 * @param adapter The adapter.
 * @returns True for software adapters.
 */
export function isSoftwareAdapter(adapter: GPUAdapter): boolean {
  const d = `${adapter.info.description} ${adapter.info.device} ${adapter.info.vendor}`;
  return adapter.info.isFallbackAdapter || /llvmpipe|lavapipe|swiftshader|software|warp/i.test(d);
}

/**
 * A short name for an adapter.
 *
 * @param adapter The adapter.
 * @returns Its description, or vendor.
 */
export function adapterName(adapter: GPUAdapter): string {
  return adapter.info.description || adapter.info.vendor || "unknown adapter";
}

/**
 * A device on `adapter` with the optional features diffrestore's networks use: `shader-f16`
 * where the adapter has it (ONNX Runtime's WebGPU provider needs it for float16 graphs).
 *
 * @example
 * ```ts ignore
 * import { gpuAdapter, requestGpuDevice } from "./gpu.ts";
 * const adapter = await gpuAdapter();
 * if (adapter) console.log((await requestGpuDevice(adapter)).features.has("shader-f16"));
 * ```
 *
 * @param adapter The adapter.
 * @returns The device.
 */
export async function requestGpuDevice(adapter: GPUAdapter): Promise<GPUDevice> {
  const requiredFeatures: GPUFeatureName[] = adapter.features.has("shader-f16")
    ? ["shader-f16"]
    : [];
  return await adapter.requestDevice({ requiredFeatures });
}

/**
 * Copy the first `bytes` bytes of a device buffer (COPY_SRC usage) to the host, through a
 * mappable staging buffer of whole 4-byte words.
 *
 * @example
 * ```ts ignore
 * import { downloadBuffer } from "./gpu.ts";
 * const values = new Float32Array(await downloadBuffer(device, buffer, 4 * 3 * 64 * 64));
 * ```
 *
 * @param device The device owning the buffer.
 * @param buffer The buffer.
 * @param bytes How many bytes.
 * @returns The bytes.
 */
export async function downloadBuffer(
  device: GPUDevice,
  buffer: GPUBuffer,
  bytes: number,
): Promise<ArrayBuffer> {
  const words = Math.ceil(bytes / 4) * 4;
  const staging = device.createBuffer({ size: words, usage: 0x1 | 0x8 }); // MAP_READ | COPY_DST
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(buffer, 0, staging, 0, words);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(1); // READ
  const out = staging.getMappedRange().slice(0, bytes);
  staging.unmap();
  staging.destroy();
  return out;
}
