/**
 * The model layer: an ONNX network plus its manifest, called by role (`x`, `t`, `mu`, ...).
 *
 * @module
 */

import type { ConvRewrite } from "./webgpu_conv_guard.ts";
import { UserError } from "../lib/errors.ts";
import { trace } from "../lib/trace.ts";
import { manifestPathFor, type ModelManifest, readManifest } from "./manifest.ts";
import {
  createSession,
  type GpuFeed,
  type GpuOutput,
  type HostTensor,
  type IoMeta,
  type OrtSession,
  type SessionOptions,
} from "./ort_runtime.ts";
import { Tensor } from "../lib/tensor.ts";

/** Inputs of one network call, by role. */
export interface ModelInputs {
  /** The state (role `x`). */
  x: Tensor;
  /** The timestep in the reference's convention, broadcast to the batch (role `t`). */
  t?: number;
  /** IR-SDE's LQ image μ (role `mu`). */
  mu?: Tensor;
  /** The control latent (role `cond`). */
  cond?: Tensor;
  /** Text context (role `context`), fed as given. */
  context?: { data: Float32Array; dims: readonly number[] };
  /** Control strength (role `strength`). */
  strength?: number;
  /** The class label of a class-conditional network (role `y`). */
  y?: number;
}

/** Where a model comes from: a file path (manifest beside it), or bytes with a manifest. */
export type ModelSource =
  | { path: string; manifestPath?: string }
  | { bytes: Uint8Array; manifest: ModelManifest; name: string };

/** Counters of a model's calls, for benchmarks and debug reports. */
export interface ModelStats {
  /** Network calls so far. */
  calls: number;
  /** Milliseconds inside the runtime's `run()`. */
  runMs: number;
  /** Milliseconds in the wrapper around it (feeds, checks, output split). */
  wrapperMs: number;
}

function _rank(meta: IoMeta | undefined): number | null {
  return meta?.shape ? meta.shape.length : null;
}

/**
 * Check a manifest against a session's real inputs and outputs.
 *
 * Every role must name an existing input, every input must have a role, `x` must be a
 * rank-4 float32 input with the manifest's channels, `t` must have the manifest's dtype,
 * and the output must exist. Each mismatch is a {@linkcode UserError} naming the key, the
 * expected and the found value.
 *
 * @param manifest The manifest.
 * @param session The loaded session.
 * @param where The model's name for messages.
 */
export function validateManifest(
  manifest: ModelManifest,
  session: OrtSession,
  where: string,
): void {
  // every mismatch is reported at once, in one line
  const problems: string[] = [];
  const names = session.inputs.map((i) => i.name);
  for (const [role, name] of Object.entries(manifest.inputs)) {
    if (!names.includes(name)) {
      problems.push(
        `${where}: manifest key 'inputs.${role}' names input '${name}', but the ONNX file's inputs are ${
          names.join(", ")
        }`,
      );
    }
  }
  const seen = new Map<string, string>();
  for (const [role, name] of Object.entries(manifest.inputs)) {
    const other = seen.get(name);
    if (other) {
      problems.push(
        `${where}: manifest keys 'inputs.${other}' and 'inputs.${role}' both name input '${name}'`,
      );
    }
    seen.set(name, role);
  }
  const mapped = new Set(Object.values(manifest.inputs));
  for (const n of names) {
    if (!mapped.has(n)) {
      problems.push(
        `${where}: the ONNX file has an input '${n}' that no 'inputs' key of the manifest names`,
      );
    }
  }
  const x = session.inputs.find((i) => i.name === manifest.inputs.x);
  if (x && x.type !== "unknown" && x.type !== "float32" && x.type !== "float16") {
    problems.push(
      `${where}: input '${x.name}' (inputs.x) must be float32 or float16, found ${x.type}`,
    );
  }
  const xr = _rank(x);
  if (xr !== null && xr !== 4) {
    problems.push(
      `${where}: input '${x!.name}' (inputs.x) must have rank 4 (NCHW), found rank ${xr}`,
    );
  }
  const c = x?.shape?.[1];
  const channelsChecked = manifest.kind !== "vae-decoder" && manifest.kind !== "vae-encoder";
  if (channelsChecked && typeof c === "number" && c !== manifest.channels) {
    problems.push(
      `${where}: manifest key 'channels' is ${manifest.channels}, but input '${
        x!.name
      }' has ${c} channels`,
    );
  }
  if (manifest.inputs.t) {
    const t = session.inputs.find((i) => i.name === manifest.inputs.t);
    // a float16 timestep takes the manifest's float32 values, rounded at the boundary
    const halfOk = t?.type === "float16" && manifest.timestepDtype === "float32";
    if (t && t.type !== "unknown" && t.type !== manifest.timestepDtype && !halfOk) {
      problems.push(
        `${where}: manifest key 'timestep.dtype' is ${manifest.timestepDtype}, but input '${t.name}' is ${t.type}`,
      );
    }
  }
  const outNames = session.outputs.map((o) => o.name);
  if (!outNames.includes(manifest.output)) {
    problems.push(
      `${where}: manifest key 'output' names '${manifest.output}', but the ONNX file's outputs are ${
        outNames.join(", ")
      }`,
    );
  }
  const out = session.outputs.find((o) => o.name === manifest.output);
  const orank = _rank(out);
  if (orank !== null && orank !== 4) {
    problems.push(
      `${where}: output '${manifest.output}' must have rank 4, found rank ${orank}`,
    );
  }
  if (problems.length) {
    throw new UserError(
      problems.map((
        p,
        i,
      ) => (i === 0 ? p : p.slice(p.startsWith(`${where}: `) ? where.length + 2 : 0)))
        .join("; "),
    );
  }
}

/**
 * An ONNX network with its manifest, called by role.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadModel, Tensor } from "@diffrestore/sampler";
 *
 * const model = await loadModel("builtin:gaussian");
 * const eps = await model.run({ x: Tensor.zeros([1, 3, 8, 8]), t: 500 }, "one call");
 * assert.deepEqual(eps.shape, [1, 3, 8, 8]);
 * assert.equal(model.stats.calls, 1);
 * await model.release();
 * ```
 */
export class Model {
  /** A name for messages (the file path or the built-in name). */
  readonly name: string;
  /** The validated manifest. */
  readonly manifest: ModelManifest;
  #session: OrtSession;
  #released = false;
  /** Call counters. */
  readonly stats: ModelStats = { calls: 0, runMs: 0, wrapperMs: 0 };

  /**
   * Wrap a session; the manifest is validated against it.
   *
   * @param name A name for messages.
   * @param manifest The manifest.
   * @param session The session.
   * @ignore
   */
  constructor(name: string, manifest: ModelManifest, session: OrtSession) {
    validateManifest(manifest, session, name);
    this.name = name;
    this.manifest = manifest;
    this.#session = session;
  }

  /**
   * Load a model from a path (manifest beside it or explicit) or from bytes.
   *
   * @param source Where the model is.
   * @param options Runtime options.
   * @returns The model.
   */
  static async load(source: ModelSource, options: SessionOptions = {}): Promise<Model> {
    if ("path" in source) {
      // the model first: a missing file is named as such, not as a missing manifest
      await Deno.stat(source.path).catch(() => {
        throw new UserError(`model ${source.path} not found`);
      });
      const manifest = await readManifest(manifestPathFor(source.path, source.manifestPath))
        .catch((e) => {
          if (source.manifestPath || !(e instanceof UserError) || !/not found$/.test(e.message)) {
            throw e;
          }
          throw UserError.about(
            "modelSpec",
            `${e.message} (draftManifest or the command line's info drafts one)`,
          );
        });
      // by path: the native runtime reads the file itself (and may use its optimised-graph cache)
      return new Model(
        source.path,
        manifest,
        await createSession(source.path, options).catch(_rename(source.path)),
      );
    }
    return new Model(
      source.name,
      source.manifest,
      await createSession(source.bytes, options).catch(_rename(source.name)),
    );
  }

  /** The network's inputs as the ONNX file declares them. */
  get inputs(): readonly IoMeta[] {
    return this.#session.inputs;
  }

  /** The network's outputs as the ONNX file declares them. */
  get outputs(): readonly IoMeta[] {
    return this.#session.outputs;
  }

  /** Which runtime runs the network. */
  get runtime(): string {
    return this.#session.runtime;
  }

  /** The `Conv` rewrites the WebGPU provider's guard made to this network (docs/ort_webgpu.md). */
  get rewrites(): readonly ConvRewrite[] {
    return this.#session.rewrites;
  }

  /**
   * Call the network.
   *
   * Checks the input against a fixed size, feeds the timestep in the manifest's dtype, checks
   * the output's shape, keeps the first C channels of a learned-sigma output, and fails on
   * NaN or Inf naming `label`.
   *
   * @param inputs Inputs by role.
   * @param label Which call this is (for example `step 3/20`), for messages.
   * @returns The output (batch of the input).
   */
  async run(inputs: ModelInputs, label = "model call"): Promise<Tensor> {
    const t0 = performance.now();
    const m = this.manifest;
    const [n, c, h, w] = inputs.x.shape;
    const feeds = this.#feeds(
      inputs,
      (t): HostTensor => ({ type: "float32", data: t.data, dims: t.shape }),
    );
    const t1 = performance.now();
    if (this.stats.calls === 0) trace(`first call of ${this.name}`);
    const res = await this.#session.run(feeds, [m.output]);
    const t2 = performance.now();
    const out = res[m.output];
    const oc = m.learnedSigma ? 2 * c : c;
    const diffusion = m.kind === "ddpm" || m.kind === "irsde" || m.kind === "latent-denoiser";
    const d = out.dims;
    const spatialOk = diffusion ? d[2] === h && d[3] === w : d.length === 4;
    if (d.length !== 4 || d[0] !== n || (diffusion && d[1] !== oc) || !spatialOk) {
      throw new UserError(
        `${this.name}: output '${m.output}' has shape [${d.join(", ")}], expected [${n}, ${
          diffusion ? oc : "C"
        }, ${diffusion ? h : "H"}, ${diffusion ? w : "W"}]` +
          (diffusion && d[1] === 2 * c && !m.learnedSigma ? " (set learnedSigma: true?)" : ""),
      );
    }
    let result = new Tensor([d[0], d[1], d[2], d[3]], out.data);
    if (m.learnedSigma) result = result.firstChannels(c);
    const data = result.data;
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) {
        throw new UserError(`${this.name}: the network returned NaN or Inf at ${label}`);
      }
    }
    this.stats.calls++;
    this.stats.runMs += t2 - t1;
    this.stats.wrapperMs += (t1 - t0) + (performance.now() - t2);
    return result;
  }

  #feeds<F>(inputs: ModelInputs, image: (t: Tensor) => F): Record<string, HostTensor | F> {
    const m = this.manifest;
    const [n, , h, w] = inputs.x.shape;
    if (m.size && (h !== m.size[0] || w !== m.size[1])) {
      throw new UserError(
        `${this.name}: the model takes ${m.size[0]}x${m.size[1]} inputs, got ${h}x${w}`,
      );
    }
    const feeds: Record<string, HostTensor | F> = { [m.inputs.x]: image(inputs.x) };
    if (m.inputs.t !== undefined) {
      if (inputs.t === undefined) throw new Error(`${this.name}: timestep missing`);
      feeds[m.inputs.t] = m.timestepDtype === "int64"
        ? {
          type: "int64",
          data: new BigInt64Array(n).fill(BigInt(Math.round(inputs.t))),
          dims: [n],
        }
        : { type: "float32", data: new Float32Array(n).fill(inputs.t), dims: [n] };
    }
    for (const role of ["mu", "cond"] as const) {
      const name = m.inputs[role];
      const v = inputs[role];
      if (name === undefined) continue;
      if (!v) throw new Error(`${this.name}: input role '${role}' missing`);
      feeds[name] = image(v);
    }
    if (m.inputs.context !== undefined) {
      if (!inputs.context) {
        throw UserError.about("context", `${this.name}: the model has a 'context' input; give one`);
      }
      feeds[m.inputs.context] = { type: "float32", ...inputs.context };
    }
    if (m.inputs.y !== undefined) {
      if (inputs.y === undefined) {
        throw UserError.about(
          "classLabel",
          `${this.name} is class-conditional (input '${m.inputs.y}'): give its class label`,
        );
      }
      const meta = this.#session.inputs.find((i) => i.name === m.inputs.y);
      feeds[m.inputs.y] = meta?.type === "float32"
        ? { type: "float32", data: new Float32Array(n).fill(inputs.y), dims: [n] }
        : { type: "int64", data: new BigInt64Array(n).fill(BigInt(inputs.y)), dims: [n] };
    }
    if (m.inputs.strength !== undefined) {
      const meta = this.#session.inputs.find((i) => i.name === m.inputs.strength);
      const dims = meta?.shape?.length === 0 ? [] : [1];
      feeds[m.inputs.strength] = {
        type: "float32",
        data: new Float32Array([inputs.strength ?? 1]),
        dims,
      };
    }
    return feeds;
  }

  /** Whether {@linkcode runOnDevice} is available (the WebGPU runtime). */
  get onDevice(): boolean {
    return this.#session.runOnDevice !== undefined;
  }

  /**
   * Call the network with image inputs and the output on the GPU (WebGPU runtime): `gpu(t)`
   * gives the device buffer of an image input. The output's shape is checked; its values are
   * not read (check them on the device).
   *
   * @param inputs Inputs by role.
   * @param gpu The device buffer of a tensor.
   * @param label Which call this is.
   * @returns The output buffer, its shape, and how to release it.
   * @ignore
   */
  async runOnDevice(
    inputs: ModelInputs,
    gpu: (t: Tensor) => GPUBuffer,
    label = "model call",
  ): Promise<GpuOutput> {
    if (!this.#session.runOnDevice) {
      throw new Error(`${this.name}: runOnDevice needs the WebGPU runtime`);
    }
    const m = this.manifest;
    const [n, c, h, w] = inputs.x.shape;
    const feeds = this.#feeds(
      inputs,
      (t): GpuFeed => ({ type: "float32", gpuBuffer: gpu(t), dims: t.shape }),
    );
    const res = await this.#session.runOnDevice(feeds, [m.output]);
    const out = res[m.output];
    const oc = m.learnedSigma ? 2 * c : c;
    const d = out.dims;
    if (d.length !== 4 || d[0] !== n || d[1] !== oc || d[2] !== h || d[3] !== w) {
      out.dispose();
      throw new UserError(
        `${this.name}: output '${m.output}' has shape [${
          d.join(", ")
        }] at ${label}, expected [${n}, ${oc}, ${h}, ${w}]`,
      );
    }
    this.stats.calls++;
    return out;
  }

  /** Free the session (once; later calls do nothing). */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await this.#session.release();
  }

  /** Free the session at the end of an `await using` block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }
}

function _rename(name: string): (e: unknown) => never {
  return (e) => {
    if (e instanceof UserError) throw new UserError(e.message.replace(/^model:/, `${name}:`));
    throw e;
  };
}
