// Test helper: a test that may be ignored says why in its own name, so the report's "ignored"
// line carries the reason (a message printed once per file can be missed).

/**
 * A test's name and ignore flag from the reason it cannot run here (none: it runs).
 *
 * @param name The test's name.
 * @param reason Why it cannot run here, or a falsy value when it can.
 * @returns `name` (with the reason appended when ignored) and `ignore`.
 */
export function unless(
  name: string,
  reason: string | false | null | undefined,
): { name: string; ignore: boolean } {
  return reason ? { name: `${name} [ignored: ${reason}]`, ignore: true } : { name, ignore: false };
}

/** Why a GPU test cannot run here, or null when a WebGPU adapter answers. */
export function gpuMissing(adapter: GPUAdapter | null): string | null {
  return adapter ? null : "no WebGPU adapter (install mesa-vulkan-drivers for a software one)";
}
