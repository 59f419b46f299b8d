/**
 * Loading the three onnxruntime modules (onnxruntime-node, onnxruntime-web and its WebGPU build),
 * the part of their API the model layer uses, and reading a model's bytes.
 *
 * @module
 */

import { UserError } from "../lib/errors.ts";

/** The runtime asked for: `auto` picks native when it loads, else wasm. */
export type OrtChoice = "auto" | "native" | "wasm" | "webgpu";

/** The runtime actually running a session. */
export type RuntimeName = "native" | "wasm" | "webgpu";

/** Element types the model layer feeds and reads. */
export type ElementType = "float32" | "int64";

/** The part of an onnxruntime tensor this layer uses (common to -node and -web). */
export interface OrtTensorApi {
  data: unknown;
  dims: readonly number[];
  type: string;
  location?: string;
  gpuBuffer?: GPUBuffer;
  getData?(releaseData?: boolean): Promise<unknown>;
  dispose?(): void;
}
/** The part of an onnxruntime session this layer uses. */
export interface OrtSessionApi {
  inputNames: readonly string[];
  outputNames: readonly string[];
  inputMetadata?: readonly {
    name: string;
    isTensor: boolean;
    type?: string;
    shape?: readonly (number | string)[];
  }[];
  outputMetadata?: readonly {
    name: string;
    isTensor: boolean;
    type?: string;
    shape?: readonly (number | string)[];
  }[];
  run(
    feeds: Record<string, OrtTensorApi>,
    fetches?: readonly string[],
  ): Promise<Record<string, OrtTensorApi>>;
  release(): Promise<void>;
}
/** The part of an onnxruntime module this layer uses. */
export interface OrtModuleApi {
  Tensor: new (
    type: ElementType | "float16",
    data: Float32Array | BigInt64Array | Uint16Array,
    dims: readonly number[],
  ) => OrtTensorApi;
  InferenceSession: {
    create(
      model: Uint8Array | string,
      options?: Record<string, unknown>,
    ): Promise<OrtSessionApi>;
  };
  env: { wasm: { numThreads?: number }; logLevel?: string };
}

const _loaded = new Map<RuntimeName, Promise<OrtModuleApi>>();
let _nativeFailure: string | undefined;

async function _importRuntime(name: RuntimeName): Promise<OrtModuleApi> {
  if (name === "native") {
    return (await import("npm:onnxruntime-node@1.30.0")) as unknown as OrtModuleApi;
  }
  if (name === "webgpu") {
    return (await import("npm:onnxruntime-web@1.30.0/webgpu")) as unknown as OrtModuleApi;
  }
  return (await import("npm:onnxruntime-web@1.30.0")) as unknown as OrtModuleApi;
}

/**
 * The onnxruntime module of a runtime, imported once per process.
 *
 * @example
 * ```ts ignore
 * import { ortModule } from "./ort_modules.ts";
 * const ort = await ortModule("wasm");
 * ```
 *
 * @param name The runtime.
 * @returns Its module.
 */
export function ortModule(name: RuntimeName): Promise<OrtModuleApi> {
  let p = _loaded.get(name);
  if (!p) {
    p = _importRuntime(name);
    _loaded.set(name, p);
    p.catch(() => _loaded.delete(name));
  }
  return p;
}

/**
 * Resolve a runtime choice to the runtime that will run, loading it.
 *
 * `auto` tries onnxruntime-node and falls back to wasm, saying so through `onNote`.
 *
 * @param choice The runtime asked for.
 * @param onNote Receives a line when `auto` falls back.
 * @returns The runtime's name.
 */
export async function resolveRuntime(
  choice: OrtChoice,
  onNote?: (message: string) => void,
): Promise<RuntimeName> {
  if (choice !== "auto") {
    try {
      await ortModule(choice);
    } catch (e) {
      throw UserError.about(
        "runtime",
        `runtime ${choice} does not load here (${(e as Error).message})`,
      );
    }
    return choice;
  }
  if (_nativeFailure === undefined) {
    try {
      await ortModule("native");
      return "native";
    } catch (e) {
      _nativeFailure = (e as Error).message.split("\n")[0];
    }
  }
  onNote?.(`onnxruntime-node does not load here (${_nativeFailure}); using onnxruntime-web (wasm)`);
  await ortModule("wasm");
  return "wasm";
}

/**
 * Read a model's bytes from a path, a `file:`/`http(s):` URL, or pass bytes through.
 *
 * @param source Where the model is.
 * @returns The bytes.
 */
export async function readModelBytes(source: string | URL | Uint8Array): Promise<Uint8Array> {
  if (source instanceof Uint8Array) return source;
  const text = source.toString();
  try {
    if (source instanceof URL || /^https?:\/\//.test(text)) {
      const res = await fetch(text);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      return new Uint8Array(await res.arrayBuffer());
    }
    return await Deno.readFile(text);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new UserError(`model ${text} not found`);
    throw new UserError(`cannot read model ${text}: ${(e as Error).message}`);
  }
}
