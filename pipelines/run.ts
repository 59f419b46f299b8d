/**
 * What every restoration pipeline shares: the options it takes (noise, backend, runtime,
 * progress, cancellation), the result it returns, and one run preparation (the backend, the
 * noise source, models loaded on the backend's device, the network caller, sampler hooks that
 * report progress, the timing and the result) instead of a copy in each pipeline.
 *
 * @module
 */

import type { ConvRewrite } from "../model/webgpu_conv_guard.ts";
import { UserError } from "../lib/errors.ts";
import type { Tensor } from "../lib/tensor.ts";
import { GaussianNoise, type NoiseSource } from "../lib/noise.ts";
import type { Model } from "../model/model.ts";
import { loadModel } from "../model/builtin_models.ts";
import type { OrtChoice, SessionOptions } from "../model/ort_runtime.ts";
import type { Backend } from "../kernels/backend.ts";
import { CpuBackend } from "../kernels/cpu_backend.ts";
import { WebGpuBackend } from "../kernels/webgpu_backend.ts";
import { type DeviceCaller, deviceCaller } from "../kernels/device_calls.ts";
import type { SamplerHooks } from "../samplers/sampler_run.ts";

/** Progress of a restoration. */
export interface RestoreProgress {
  /** Transitions done in the current window. */
  step: number;
  /** Transitions per window. */
  total: number;
  /** Current window (1-based) when Mask-Shift runs. */
  window: number;
  /** Windows in all. */
  windows: number;
  /** The ONNX runtime running the network. */
  runtime?: string;
  /**
   * The current x0 estimate of the window in [0,1] image units, computed on request: call it
   * inside `onProgress` (the sampler reuses the buffer at its next step).
   */
  preview?: () => Promise<Tensor>;
}

/**
 * Progress of a run without Mask-Shift windows (window 1 of 1).
 *
 * @param step Steps done.
 * @param total Steps in all.
 * @param runtime The ONNX runtime running the network.
 * @param preview The step's x0 estimate in image units, on request.
 * @returns The progress report.
 */
export function singleWindowProgress(
  step: number,
  total: number,
  runtime: string,
  preview?: () => Promise<Tensor>,
): RestoreProgress {
  return { step, total, window: 1, windows: 1, runtime, preview };
}

/**
 * A progress preview of an x0 estimate in model units [lo, hi]: the read is started when the
 * preview is asked for, so it sees this step's values.
 *
 * @param backend Where the estimate lives.
 * @param x0 The estimate.
 * @param lo Model range low end.
 * @param hi Model range high end.
 * @returns The preview function.
 */
export function previewOf(
  backend: Backend,
  x0: Tensor,
  lo: number,
  hi: number,
): () => Promise<Tensor> {
  return async () => (await backend.read(x0)).map((v) => (v - lo) / (hi - lo));
}

/** Options every restoration takes: noise, where the math and the networks run, hooks. */
export interface RunOptions {
  /** Seed of the documented generator (default 0). */
  seed?: number;
  /** A noise source instead of the seeded generator (recorded draws). */
  noise?: NoiseSource;
  /** Where the per-step math runs (default CPU). */
  backend?: Backend;
  /** ONNX runtime for a model given by name or path (default auto). */
  runtime?: OrtChoice;
  /** Threads of the ONNX runtime. */
  threads?: number;
  /** Repeat each network's first call on wasm and stop on a difference (docs/ort_webgpu.md). */
  checkOrt?: boolean;
  /** Progress callback. */
  onProgress?: (p: RestoreProgress) => void;
  /**
   * Offer x0 previews in progress reports even where forming them costs a pass per step
   * (IR-SDE's sde and ode solvers); the other samplers offer them always.
   */
  previews?: boolean;
  /** Cancels the run between steps. */
  signal?: AbortSignal;
  /** Receives notes (runtime fallback, Mask-Shift, start step). */
  onNote?: (message: string) => void;
}

/**
 * The options the three restore functions share, meaning the same in each: the network(s) (`M`: a
 * loaded model, a path or a `builtin:` name), the steps, the known pixels, plus {@linkcode
 * RunOptions} (seed, signal, onProgress, ...).
 */
export interface RestoreOptions<M> extends RunOptions {
  /** The network(s): loaded, or a path or `builtin:` name loaded (and released) for the run;
   * default the method's built-in model where it has one. */
  model?: M;
  /** The manifest when it is not beside a model given by path. */
  modelSpec?: string;
  /** Sampling steps (default: the model's manifest, else the method's default). */
  steps?: number;
  /** Known pixels (1 = known), one per output pixel, for tasks that take a mask (inpainting). */
  mask?: Uint8Array;
}

/** What a restoration returns. */
export interface RestoreResult {
  /** The restored image, [1, C, H, W] in [0,1] units, not clipped. */
  image: Tensor;
  /** The model's name. */
  model: string;
  /** The ONNX runtime that ran it. */
  runtime: string;
  /** The tensor backend. */
  backend: string;
  /** Network calls made. */
  calls: number;
  /** Wall time in seconds. */
  seconds: number;
  /** `Conv` nodes the WebGPU provider's guard rewrote, in all of the run's networks. */
  rewrites: readonly ConvRewrite[];
}

/** One run's prepared pieces (see {@linkcode prepareRun}). */
export interface PreparedRun {
  /** Where the per-step math runs. */
  backend: Backend;
  /** The standard-normal draws. */
  noise: NoiseSource;
  /** How this run loads models. */
  loading: SessionOptions;
  /**
   * A model for this run: a loaded one as it is (the caller keeps it), or one loaded by name
   * or path, which {@linkcode PreparedRun.close} releases.
   *
   * @param spec The model, a path or `builtin:NAME`.
   * @param manifest The manifest's path when it is not beside the model.
   * @returns The model.
   */
  model(spec: Model | string, manifest?: string): Promise<Model>;
  /**
   * The network caller for `model` on the backend (zero-copy on WebGPU with its provider).
   *
   * @param model The network.
   * @returns The caller.
   */
  caller(model: Model): DeviceCaller;
  /**
   * Sampler hooks for a run without windows: cancellation, and progress whose previews map
   * the step's x0 estimate from the model range to [0,1].
   *
   * @param model The network (its runtime is reported).
   * @returns The hooks.
   */
  hooks(model: Model): SamplerHooks;
  /**
   * Count the calls of `model` from now on for this run's result (models from
   * {@linkcode PreparedRun.model} are counted from when they are handed out).
   *
   * @param model The network.
   */
  count(model: Model): void;
  /**
   * Keep `resource` until {@linkcode PreparedRun.close} (a pipeline this run loaded).
   *
   * @param resource What to release at the end of the run.
   */
  own(resource: { release(): Promise<void> }): void;
  /**
   * The run's result.
   *
   * @param image The restored image in [0,1] units.
   * @param model The network whose calls are counted.
   * @param name The model's name to report (default the network's).
   * @returns The result, timed from {@linkcode prepareRun}; `calls` counts this run's calls.
   */
  result(image: Tensor, model: Model, name?: string): RestoreResult;
  /** Release what the run loaded itself (models given loaded stay with their owner). */
  close(): Promise<void>;
}

/**
 * Prepare a run: check the seed, pick the backend (default CPU) and the noise source (recorded
 * draws, or the documented generator at the seed), and start the clock.
 *
 * @example
 * ```ts
 * import { prepareRun } from "./run.ts";
 * const run = prepareRun({ seed: 7 });
 * console.log(run.backend.name); // cpu
 * ```
 *
 * @param options The run options.
 * @returns The prepared run.
 */
export function prepareRun(options: RunOptions): PreparedRun {
  const t0 = performance.now();
  if (options.seed !== undefined && (!Number.isSafeInteger(options.seed) || options.seed < 0)) {
    throw new UserError(`seed must be an integer >= 0, got ${options.seed}`);
  }
  const backend = options.backend ?? new CpuBackend();
  const noise = options.noise ?? new GaussianNoise(options.seed ?? 0);
  const loading: SessionOptions = {
    runtime: options.runtime,
    threads: options.threads,
    checkOrt: options.checkOrt,
    onNote: options.onNote,
    device: backend instanceof WebGpuBackend ? backend.device : undefined,
  };
  const callsBefore = new Map<Model, number>();
  const owned: { release(): Promise<void> }[] = [];
  const count = (m: Model) => void (callsBefore.has(m) || callsBefore.set(m, m.stats.calls));
  return {
    backend,
    noise,
    loading,
    model: async (spec, manifest) => {
      const m = typeof spec === "object" ? spec : await loadModel(spec, loading, manifest);
      if (m !== spec) owned.push(m);
      count(m);
      return m;
    },
    count,
    own: (resource) => void owned.push(resource),
    close: async () => {
      for (const r of owned.splice(0)) await r.release();
    },
    caller: (model) => deviceCaller(backend, model),
    hooks: (model) => {
      const [lo, hi] = model.manifest.range;
      return {
        signal: options.signal,
        estimates: options.previews,
        onStep: (p) =>
          options.onProgress?.(
            singleWindowProgress(
              p.step,
              p.total,
              model.runtime,
              p.x0 && previewOf(backend, p.x0, lo, hi),
            ),
          ),
      };
    },
    result: (image, model, name) => ({
      image,
      model: name ?? model.name,
      runtime: model.runtime,
      backend: backend.name,
      calls: model.stats.calls - (callsBefore.get(model) ?? 0),
      seconds: (performance.now() - t0) / 1000,
      rewrites: [...new Set([model, ...callsBefore.keys()])].flatMap((m) => m.rewrites),
    }),
  };
}

/**
 * Run `body` with a prepared run and release what the run loaded afterwards, also when it fails.
 *
 * @example
 * ```ts ignore
 * import { withRun } from "./run.ts";
 * const result = await withRun({ seed: 1 }, async (run) => {
 *   const model = await run.model("builtin:gmm"); // released when the body ends
 *   return model.name;
 * });
 * ```
 *
 * @param options The run options.
 * @param body The run.
 * @returns What `body` returns.
 */
export async function withRun<T>(
  options: RunOptions,
  body: (run: PreparedRun) => Promise<T>,
): Promise<T> {
  const run = prepareRun(options);
  try {
    return await body(run);
  } finally {
    await run.close();
  }
}
