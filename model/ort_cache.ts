/**
 * A cache of ONNX Runtime's optimised models for the native runtime: the first session of a
 * model saves its optimised graph, later runs load it with optimisation off (tens of
 * milliseconds less start-up for a UNet). The optimised graph is hardware-specific, so the key
 * includes the CPU model; `DIFFRESTORE_NO_CACHE=1` turns the cache off.
 *
 * @module
 */

let _cpu: string | undefined;

function _cpuModel(): string {
  if (_cpu === undefined) {
    try {
      _cpu = /model name\s*:\s*(.*)/.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1] ??
        Deno.build.arch;
    } catch {
      _cpu = Deno.build.arch;
    }
  }
  return _cpu;
}

/**
 * The cache directory (`$XDG_CACHE_HOME/diffrestore/ort` or `~/.cache/diffrestore/ort`), or
 * null when caching is off or impossible.
 *
 * @returns The directory or null.
 */
export function ortCacheDir(): string | null {
  try {
    if (Deno.env.get("DIFFRESTORE_NO_CACHE") === "1") return null;
    const base = Deno.env.get("XDG_CACHE_HOME") ??
      (Deno.env.get("HOME") ? `${Deno.env.get("HOME")}/.cache` : null);
    return base ? `${base}/diffrestore/ort` : null;
  } catch {
    return null;
  }
}

/**
 * The cache file for a model file: keyed by its path, size and modification time, the
 * runtime's version and the CPU model.
 *
 * @param modelPath The `.onnx` path.
 * @param runtimeVersion The ONNX Runtime version.
 * @returns The cache file's path, or null when caching is off or the file cannot be stat'ed.
 */
export async function optimizedModelPath(
  modelPath: string,
  runtimeVersion: string,
): Promise<string | null> {
  const dir = ortCacheDir();
  if (!dir) return null;
  try {
    const st = await Deno.stat(modelPath);
    const key = [
      await Deno.realPath(modelPath),
      st.size,
      st.mtime?.getTime() ?? 0,
      runtimeVersion,
      _cpuModel(),
    ].join("|");
    const digest = new Uint8Array(
      await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key)),
    );
    const hex = [...digest.subarray(0, 12)].map((b) => b.toString(16).padStart(2, "0")).join("");
    await Deno.mkdir(dir, { recursive: true });
    return `${dir}/${hex}.onnx`;
  } catch {
    return null;
  }
}
