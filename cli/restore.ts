/**
 * `restore`: restore an image with DDNM, IR-SDE or DiffBIR (CONTRACT.md section 1).
 *
 * @module
 */

import { type FlagSpec, numberFlag, type ParsedArgs, parseFlags } from "./args.ts";
import { UserError } from "../lib/errors.ts";
import { trace } from "../lib/trace.ts";
import {
  type DecodedImage,
  DEFAULT_MAX_PIXELS,
  imageToTensor,
  readImage,
  writeImageTensor,
} from "../lib/image.ts";
import { decodeNpy } from "../lib/npy.ts";
import { ArrayNoise, type NoiseSource } from "../lib/noise.ts";
import { Tensor } from "../lib/tensor.ts";
import { ProgressBar } from "../lib/progress_bar.ts";
import type { OrtChoice } from "../model/ort_runtime.ts";
import {
  restoreDdnm,
  type RestoreProgress,
  type RestoreResult,
  type RunOptions,
} from "../pipelines/restore_ddnm.ts";
import type { IrsdeTask } from "../pipelines/restore_irsde.ts";
import type { DiffbirModels, DiffbirSamplerName } from "../pipelines/restore_diffbir.ts";
import { DEFAULT_MODEL, loadModel } from "../model/builtin_models.ts";
import type { Model } from "../model/model.ts";
import type { IrsdeSolver } from "../samplers/irsde.ts";
import type { SdeSettings, ThetaScheduleName } from "../schedules/irsde_schedule.ts";
import type { DdnmTask, DdnmTaskName } from "../operators/ddnm_tasks.ts";
import type { Backend } from "../kernels/backend.ts";
import { CpuBackend } from "../kernels/cpu_backend.ts";
import { WebGpuBackend } from "../kernels/webgpu_backend.ts";
import { adapterName, gpuAdapter, isSoftwareAdapter, mayHaveHardwareGpu } from "../lib/gpu.ts";

/** Flags shared by every method. */
export const COMMON_FLAGS: FlagSpec = {
  help: { type: "boolean", short: "h" },
  output: { type: "string", short: "o" },
  method: { type: "string" },
  model: { type: "string" },
  "model-spec": { type: "string" },
  steps: { type: "string" },
  seed: { type: "string" },
  noise: { type: "string" },
  backend: { type: "string" },
  ort: { type: "string" },
  threads: { type: "string" },
  quiet: { type: "boolean", short: "q" },
  json: { type: "boolean" },
  "max-pixels": { type: "string" },
  compare: { type: "string" },
  reference: { type: "string" },
  "save-every": { type: "string" },
  "save-dir": { type: "string" },
  task: { type: "string" },
  scale: { type: "string" },
  mask: { type: "string" },
};

/** Flags of each method (a flag of another method is an error that says which). */
export const METHOD_FLAGS: Record<string, FlagSpec> = {
  ddnm: {
    eta: { type: "string" },
    "sigma-y": { type: "string" },
    "travel-length": { type: "string" },
    "travel-repeat": { type: "string" },
    variant: { type: "string" },
    kernel: { type: "string" },
    ratio: { type: "string" },
    "cs-seed": { type: "string" },
    "fixed-lambda-noise": { type: "boolean" },
    "fixed-deblur": { type: "boolean" },
    window: { type: "string" },
    "mask-shift": { type: "string" },
    sampler: { type: "string" },
    "paper-lambda": { type: "boolean" },
  },
  irsde: {
    solver: { type: "string" },
    "noise-level": { type: "string" },
    "max-sigma": { type: "string" },
    schedule: { type: "string" },
    eps: { type: "string" },
  },
  diffbir: {
    sampler: { type: "string" },
    cfg: { type: "string" },
    "rescale-cfg": { type: "boolean" },
    context: { type: "string" },
    "negative-context": { type: "string" },
    strength: { type: "string" },
    "guidance-scale": { type: "string" },
    "guidance-space": { type: "string" },
    "guidance-start": { type: "string" },
    "guidance-stop": { type: "string" },
    "guidance-repeat": { type: "string" },
    "guidance-loss": { type: "string" },
    "tile-size": { type: "string" },
    "tile-stride": { type: "string" },
    "color-fix": { type: "string" },
    upscale: { type: "string" },
    eta: { type: "string" },
    "s-churn": { type: "string" },
    "s-tmin": { type: "string" },
    "s-tmax": { type: "string" },
    "s-noise": { type: "string" },
    order: { type: "string" },
    "start-point": { type: "string" },
    "noise-aug": { type: "string" },
    "min-size": { type: "string" },
  },
};

const _HELP =
  `usage: deno run -A cli.ts restore <input> -o <output.png|output.npy> --method ddnm|irsde|diffbir [options]

common options:
  --model F.onnx|builtin:NAME  the network (manifest F.json beside it); default builtin:gmm (builtin:gaussian also ships)
  --model-spec F.json          the manifest, when it is not beside the model
  --steps N                    sampling steps (DDNM: T_sampling, stride 1000 // N)
  --seed N                     seed of the documented Gaussian generator (default 0)
  --noise F.npy                read the standard-normal draws from a float32 .npy instead
  --backend cpu|webgpu|auto    where the per-step math runs (auto: webgpu on a hardware GPU, else cpu)
  --ort auto|native|wasm|webgpu  how the networks run (auto: native when it loads, else wasm)
  --threads N                  CPU threads of the ONNX runtime
  --quiet, --json              no progress bar; a JSON summary on stdout
  --compare S.png              write a sheet: input (nearest), output, and --reference R.png (PSNR/SSIM printed)
  --save-every K --save-dir D  write the x0 estimate every K steps
  several inputs or a directory, with -o DIR/: batch mode (one model session, failures reported per file)
  --max-pixels N               refuse larger input images (default ${DEFAULT_MAX_PIXELS})

DDNM (--method ddnm):
  --task sr|sr-bicubic|colorize|inpaint|denoise|deblur|cs|cs-block
  --scale K (sr)  --mask M.png (inpaint; white = known)  --kernel gauss|uniform|aniso (deblur)
  --ratio R (cs, cs-block; the input is the measurement .npy from 'degrade')  --cs-seed N
  --eta E (0.85)  --sigma-y S (0; > 0 selects DDNM+)  --travel-length L  --travel-repeat R
  --variant svd|simplified  --fixed-lambda-noise  --fixed-deblur
  --window N (Mask-Shift windows for a model of any size)  --mask-shift fresh|reference
  --sampler ddnm|hq-demo (hq-demo: hq_demo's respaced posterior with RePaint jumps, --steps 100,
    travel 10 x 3 by default; --paper-lambda for the paper's λ instead of the reference's)

IR-SDE (--method irsde; --model required):
  --solver sde|ode|posterior (sde)  --steps T  --max-sigma S  --schedule cosine|linear|constant  --eps E
  --task sr --scale K (bicubic-upsample the LQ into mu)  --task inpaint --mask M.png (holes set to 1)
  --noise-level S (DenoisingSDE networks without a mu input: start from the matching step)

DiffBIR (--method diffbir; --model pipeline.json):
  --steps N (50)  --sampler spaced|ddim|edm_SOLVER|dpm++_m2  --eta E (ddim 0, edm 1)  --cfg S  --rescale-cfg
  EDM (DiffBIR HEAD; v2.1 uses --sampler edm_dpm++_3m_sde --steps 10): SOLVER is euler, euler_a,
    heun, dpm_2, dpm_2_a, lms, dpm++_2s_a, dpm++_sde, dpm++_2m, dpm++_2m_sde or dpm++_3m_sde;
    --s-churn 0 --s-tmin 0 --s-tmax 300 --s-noise 1 (--order 1: lms)
  dpm++_m1|m2|m3: multistep DPM-Solver++ (needs a float32 timestep input: fractional timesteps)
  --start-point noise|cond (cond: x_T = q_sample(condition latent, T−1))  --noise-aug K (0)
  --min-size 512: HEAD's rule, a short edge below 512 is enlarged for the diffusion stage and the
    result resized back (antialiased bicubic; default 0, off)
  --context F.npy --negative-context F.npy  --strength S (1)
  --guidance-scale G (0: off)  --guidance-start 1001 --guidance-stop -1 --guidance-repeat 1
  --guidance-loss mse|wmse  --guidance-space latent
  --tile-size P --tile-stride Q (pixels)  --color-fix wavelet|adain|none  --upscale K

examples:
  deno run -A cli.ts restore small.png -o big.png --method ddnm --task sr --scale 4 --steps 50
  deno run -A cli.ts restore hole.png -o filled.png --method ddnm --task inpaint --mask mask.png
  deno run -A cli.ts restore gray.png -o color.npy --method ddnm --task colorize --seed 7`;

/** Everything a method's runner gets from the command line. */
export interface RestoreContext {
  /** Parsed flags. */
  values: ParsedArgs["values"];
  /** The input's path. */
  input: string;
  /** The decoded input image (null for a `.npy` input). */
  image: DecodedImage | null;
  /** The input as a [1, C, h, w] tensor in [0,1] (or the raw `.npy` values). */
  observed: Tensor;
  /** The noise source when `--noise` was given. */
  noise?: NoiseSource;
  /** The seed. */
  seed: number;
  /** The tensor backend. */
  backend: Backend;
  /** The ONNX runtime choice. */
  runtime: OrtChoice;
  /** Runtime threads. */
  threads?: number;
  /** Progress callback. */
  onProgress: (p: RestoreProgress) => void;
  /** Whether progress reports should carry x0 previews (`--save-every`). */
  previews: boolean;
  /** Cancellation. */
  signal: AbortSignal;
  /** Notes for the user. */
  onNote: (message: string) => void;
  /** Maximum pixels of images read. */
  maxPixels: number;
  /** Loaded models by key, shared by the images of a batch. */
  cache?: Map<string, Promise<unknown>>;
}

/** A method's runner. */
export type MethodRunner = (ctx: RestoreContext) => Promise<RestoreResult>;

/** The runners by method name. */
export const METHOD_RUNNERS: Record<string, MethodRunner> = {
  ddnm: _runDdnm,
  irsde: _runIrsde,
  diffbir: _runDiffbir,
};

function _str(v: ParsedArgs["values"][string]): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/**
 * Read a mask image: white (>= 128 of 255) = known.
 *
 * @param path The mask's path.
 * @param maxPixels Pixel limit.
 * @returns The mask and its size.
 */
export async function readMask(
  path: string,
  maxPixels: number,
): Promise<{ mask: Uint8Array; width: number; height: number }> {
  const img = await readImage(path, { maxPixels });
  const plane = img.width * img.height;
  const mask = new Uint8Array(plane);
  for (let p = 0; p < plane; p++) {
    let v = 0;
    for (let c = 0; c < img.channels; c++) v += img.pixels[c * plane + p];
    mask[p] = (v / img.channels) * 255 >= 127.5 ? 1 : 0;
  }
  return { mask, width: img.width, height: img.height };
}

/** Refuse an output above --max-pixels: a mistyped scale would otherwise exhaust memory. */
function _checkOutputSize(ctx: RestoreContext, factor: number, flag: string): void {
  const w = Math.round(ctx.observed.w * factor), h = Math.round(ctx.observed.h * factor);
  if (w * h > ctx.maxPixels) {
    throw new UserError(
      `${flag} would make a ${w}x${h} output (${
        w * h
      } pixels), above the limit of ${ctx.maxPixels} (--max-pixels)`,
    );
  }
}

async function _runDdnm(ctx: RestoreContext): Promise<RestoreResult> {
  const v = ctx.values;
  const name = _str(v.task);
  if (!name) {
    throw new UserError(
      "--method ddnm needs --task (sr, sr-bicubic, colorize, inpaint, denoise, deblur, cs)",
    );
  }
  const task: DdnmTask = {
    name: name as DdnmTaskName,
    scale: v.scale === undefined ? undefined : numberFlag(v, "scale", 0, { integer: true, min: 1 }),
    kernel: _str(v.kernel) as DdnmTask["kernel"],
    ratio: v.ratio === undefined ? undefined : numberFlag(v, "ratio", 0, { integer: true, min: 1 }),
    csPermutation: numberFlag(v, "cs-seed", 0, { integer: true, min: 0 }),
    fixedDeblur: v["fixed-deblur"] === true,
  };
  if ((task.name === "sr" || task.name === "sr-bicubic") && task.scale) {
    _checkOutputSize(ctx, task.scale, `--scale ${task.scale}`);
  }
  let mask: Uint8Array | undefined;
  if (task.name === "inpaint") {
    if (typeof v.mask === "string") {
      mask = await _inputMask(ctx, v.mask);
    } else if (ctx.image?.alpha) {
      mask = Uint8Array.from(ctx.image.alpha, (a) => (a >= 0.5 ? 1 : 0));
    } else {
      throw new UserError(
        "--task inpaint needs --mask M.png, or an input whose transparent pixels mark the holes",
      );
    }
  } else if (v.mask !== undefined) {
    throw new UserError(`--mask applies to --task inpaint, not ${task.name}`);
  }
  const variant = _str(v.variant) ?? "svd";
  if (variant !== "svd" && variant !== "simplified") {
    throw new UserError(`--variant must be svd or simplified, got '${variant}'`);
  }
  const ddnmSampler = _str(v.sampler) ?? "ddnm";
  if (ddnmSampler !== "ddnm" && ddnmSampler !== "hq-demo") {
    throw new UserError(
      `--sampler for --method ddnm must be ddnm or hq-demo, got '${ddnmSampler}'`,
    );
  }
  if (v["paper-lambda"] === true && ddnmSampler !== "hq-demo") {
    throw new UserError("--paper-lambda applies to --sampler hq-demo");
  }
  const maskShift = _str(v["mask-shift"]) ?? "fresh";
  if (maskShift !== "fresh" && maskShift !== "reference") {
    throw new UserError(`--mask-shift must be fresh or reference, got '${maskShift}'`);
  }
  return await restoreDdnm(ctx.observed, {
    task,
    model: await _cached(ctx, "model", _str(v.model) ?? DEFAULT_MODEL, _str(v["model-spec"])),
    mask,
    steps: v.steps === undefined
      ? undefined
      : numberFlag(v, "steps", 0, { integer: true, min: 1, max: 1000 }),
    eta: v.eta === undefined ? undefined : numberFlag(v, "eta", 0, { min: 0, max: 1 }),
    sigmaY: numberFlag(v, "sigma-y", 0, { min: 0 }),
    travelLength: v["travel-length"] === undefined
      ? undefined
      : numberFlag(v, "travel-length", 1, { integer: true, min: 1 }),
    travelRepeat: v["travel-repeat"] === undefined
      ? undefined
      : numberFlag(v, "travel-repeat", 1, { integer: true, min: 1 }),
    variant,
    fixedLambdaNoise: v["fixed-lambda-noise"] === true,
    sampler: ddnmSampler,
    paperLambda: v["paper-lambda"] === true,
    ..._runOptions(ctx),
    window: v.window === undefined
      ? undefined
      : numberFlag(v, "window", 0, { integer: true, min: 8 }),
    maskShift,
  });
}

/** A `--mask` file that must match the input's size. */
async function _inputMask(ctx: RestoreContext, path: string): Promise<Uint8Array> {
  const m = await readMask(path, ctx.maxPixels);
  if (m.width !== ctx.observed.w || m.height !== ctx.observed.h) {
    throw new UserError(
      `mask ${path} is ${m.width}x${m.height}, the input is ${ctx.observed.w}x${ctx.observed.h}`,
    );
  }
  return m.mask;
}

/** The options every method passes through from the command line. */
function _runOptions(ctx: RestoreContext): RunOptions {
  const { seed, noise, backend, runtime, threads, onProgress, previews, signal, onNote } = ctx;
  return { seed, noise, backend, runtime, threads, onProgress, previews, signal, onNote };
}

async function _runIrsde(ctx: RestoreContext): Promise<RestoreResult> {
  const v = ctx.values;
  const model = _str(v.model);
  if (!model) {
    throw new UserError(
      "--method irsde needs --model F.onnx (an IR-SDE noise network with its manifest)",
    );
  }
  const taskName = _str(v.task);
  if (taskName !== undefined && !["sr", "inpaint", "denoise"].includes(taskName)) {
    throw new UserError(`--method irsde: --task must be sr, inpaint or denoise, got '${taskName}'`);
  }
  const task: IrsdeTask = { name: taskName as IrsdeTask["name"] };
  if (task.name === "sr") {
    task.scale = numberFlag(v, "scale", 0, { integer: true, min: 1 });
    _checkOutputSize(ctx, task.scale, `--scale ${task.scale}`);
  }
  if (task.name === "inpaint") {
    if (typeof v.mask !== "string") {
      throw new UserError("--method irsde --task inpaint needs --mask M.png");
    }
    task.mask = await _inputMask(ctx, v.mask);
  } else if (v.mask !== undefined) throw new UserError(`--mask applies to --task inpaint`);
  if (v["noise-level"] !== undefined) task.noiseLevel = numberFlag(v, "noise-level", 0, { min: 0 });
  const sde: Partial<SdeSettings> = {};
  if (v.steps !== undefined) {
    sde.T = numberFlag(v, "steps", 100, { integer: true, min: 1, max: 10000 });
  }
  if (v["max-sigma"] !== undefined) sde.maxSigma = numberFlag(v, "max-sigma", 10, { min: 0 });
  if (v.eps !== undefined) sde.eps = numberFlag(v, "eps", 0.01);
  if (v.schedule !== undefined) sde.schedule = _str(v.schedule) as ThetaScheduleName;
  const { restoreIrsde } = await import("../pipelines/restore_irsde.ts"); // loaded only for IR-SDE runs
  return await restoreIrsde(ctx.observed.c === 1 ? _toRgb(ctx.observed) : ctx.observed, {
    model: await _cached(ctx, "model", model, _str(v["model-spec"])),
    solver: _str(v.solver) as IrsdeSolver | undefined,
    sde,
    task,
    ..._runOptions(ctx),
  });
}

async function _readContext(path: string): Promise<{ data: Float32Array; dims: number[] }> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch {
    throw new UserError(`context file ${path} not found`);
  }
  const a = decodeNpy(bytes, path);
  return { data: a.data, dims: a.shape };
}

async function _runDiffbir(ctx: RestoreContext): Promise<RestoreResult> {
  const v = ctx.values;
  const model = _str(v.model);
  if (!model) {
    throw new UserError(
      '--method diffbir needs --model pipeline.json (a "diffbir-pipeline" manifest)',
    );
  }
  const upscale = numberFlag(v, "upscale", 1, { min: 1 });
  _checkOutputSize(ctx, upscale, `--upscale ${upscale}`);
  if (v.task !== undefined) {
    throw new UserError("--task applies to --method ddnm or irsde; DiffBIR is blind restoration");
  }
  const space = _str(v["guidance-space"]) ?? "latent";
  if (space !== "latent") {
    throw new UserError(
      `--guidance-space ${space}: only latent guidance is offered (rgb guidance needs the VAE decoder's gradient, which an ONNX inference graph does not give)`,
    );
  }
  const loss = _str(v["guidance-loss"]) ?? "mse";
  if (loss !== "mse" && loss !== "wmse") {
    throw new UserError(`--guidance-loss must be mse or wmse, got '${loss}'`);
  }
  const tileSize = v["tile-size"] === undefined
    ? undefined
    : numberFlag(v, "tile-size", 512, { integer: true, min: 8 });
  const tileStride = v["tile-stride"] === undefined
    ? undefined
    : numberFlag(v, "tile-stride", 256, { integer: true, min: 8 });
  if ((tileSize === undefined) !== (tileStride === undefined)) {
    throw new UserError("--tile-size and --tile-stride go together");
  }
  const colorFix = _str(v["color-fix"]) ?? "wavelet";
  const sampler = _str(v.sampler) ?? "spaced";
  if (!sampler.startsWith("edm_")) {
    for (const flag of ["s-churn", "s-tmin", "s-tmax", "s-noise", "order"]) {
      if (v[flag] !== undefined) {
        throw new UserError(`--${flag} applies to the edm_* samplers, not --sampler ${sampler}`);
      }
    }
  }
  // flags left out take the sampler's own defaults
  const optional = (name: string, check: Parameters<typeof numberFlag>[3] = {}) =>
    v[name] === undefined ? undefined : numberFlag(v, name, 0, check);
  const { restoreDiffbir } = await import("../pipelines/restore_diffbir.ts"); // loaded only for DiffBIR runs
  return await restoreDiffbir(ctx.observed.c === 1 ? _toRgb(ctx.observed) : ctx.observed, {
    model: await _cached(ctx, "pipeline", model),
    steps: v.steps === undefined
      ? undefined
      : numberFlag(v, "steps", 50, { integer: true, min: 1, max: 1000 }),
    sampler: sampler as DiffbirSamplerName,
    eta: v.eta === undefined ? undefined : numberFlag(v, "eta", 0, { min: 0 }),
    edm: {
      sChurn: optional("s-churn", { min: 0 }),
      sTmin: optional("s-tmin"),
      sTmax: optional("s-tmax"),
      sNoise: optional("s-noise", { min: 0 }),
      order: optional("order", { integer: true, min: 1, max: 4 }),
    },
    cfg: numberFlag(v, "cfg", 1, { min: 0 }),
    rescaleCfg: v["rescale-cfg"] === true,
    context: typeof v.context === "string" ? await _readContext(v.context) : undefined,
    negativeContext: typeof v["negative-context"] === "string"
      ? await _readContext(v["negative-context"])
      : undefined,
    strength: numberFlag(v, "strength", 1, { min: 0 }),
    guidance: {
      scale: numberFlag(v, "guidance-scale", 0, { min: 0 }),
      start: numberFlag(v, "guidance-start", 1001),
      stop: numberFlag(v, "guidance-stop", -1),
      repeat: numberFlag(v, "guidance-repeat", 1, { integer: true, min: 1 }),
      loss,
    },
    startPoint: (_str(v["start-point"]) ?? "noise") as "noise" | "cond",
    noiseAug: optional("noise-aug", { integer: true, min: 0, max: 999 }),
    minSize: optional("min-size", { integer: true, min: 0, max: 4096 }),
    tile: tileSize === undefined ? undefined : { size: tileSize, stride: tileStride! },
    colorFix: colorFix as "wavelet" | "adain" | "none",
    upscale,
    ..._runOptions(ctx),
  });
}

type _LoadContext = Pick<RestoreContext, "cache" | "runtime" | "threads" | "backend" | "onNote">;

/** A model (or DiffBIR pipeline) loaded once per command and shared by a batch's images. */
function _cached(ctx: _LoadContext, kind: "model", spec: string, manifest?: string): Promise<Model>;
function _cached(ctx: _LoadContext, kind: "pipeline", spec: string): Promise<DiffbirModels>;
function _cached(
  ctx: _LoadContext,
  kind: "model" | "pipeline",
  spec: string,
  manifest?: string,
): Promise<unknown> {
  const key = `${kind}|${spec}|${manifest ?? ""}`;
  let p = ctx.cache?.get(key);
  if (!p) {
    const options = {
      runtime: ctx.runtime,
      threads: ctx.threads,
      onNote: ctx.onNote,
      device: ctx.backend instanceof WebGpuBackend ? ctx.backend.device : undefined,
    };
    p = kind === "model"
      ? loadModel(spec, options, manifest)
      : import("../pipelines/restore_diffbir.ts").then((m) => m.loadDiffbirPipeline(spec, options));
    p.catch(() => ctx.cache?.delete(key)); // a failed load is retried by the next image
    ctx.cache?.set(key, p);
  }
  return p;
}

function _toRgb(t: Tensor): Tensor {
  const d = new Float32Array(3 * t.h * t.w);
  for (let c = 0; c < 3; c++) d.set(t.data, c * t.h * t.w);
  return new Tensor([1, 3, t.h, t.w], d);
}

/**
 * Parse `restore`'s flags: common ones plus the chosen method's; a flag of another method
 * is an error naming the method it belongs to.
 *
 * @param args The arguments after `restore`.
 * @returns The parsed flags.
 */
export function parseRestoreFlags(args: string[]): ParsedArgs {
  const all: FlagSpec = { ...COMMON_FLAGS };
  for (const spec of Object.values(METHOD_FLAGS)) Object.assign(all, spec);
  const parsed = parseFlags(args, all, "restore");
  const method = _str(parsed.values.method);
  if (method && METHOD_FLAGS[method]) {
    for (const [k, val] of Object.entries(parsed.values)) {
      if (val === undefined || k in COMMON_FLAGS || k in METHOD_FLAGS[method]) continue;
      const owner = Object.entries(METHOD_FLAGS).filter(([, s]) => k in s).map(([n]) => n).join(
        " or ",
      );
      throw new UserError(`--${k} applies to --method ${owner}, not ${method}`);
    }
  }
  return parsed;
}

async function _readObserved(
  path: string,
  maxPixels: number,
): Promise<{ image: DecodedImage | null; observed: Tensor }> {
  if (path.toLowerCase().endsWith(".npy")) {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(path);
    } catch {
      throw new UserError(`${path}: no such file`);
    }
    const a = decodeNpy(bytes, path);
    const s = a.shape.length === 4 ? a.shape : [1, 1, 1, a.data.length];
    return { image: null, observed: new Tensor([s[0], s[1], s[2], s[3]], a.data) };
  }
  const image = await readImage(path, { maxPixels });
  return { image, observed: imageToTensor(image) };
}

async function _restore(args: string[]): Promise<number> {
  trace("restore command loaded");
  const { values, positionals } = parseRestoreFlags(args);
  if (values.help) {
    console.log(_HELP);
    return 0;
  }
  if (positionals.length === 0) {
    throw new UserError(
      "restore needs an input image (or several, or a directory); see 'restore --help'",
    );
  }
  const output = _str(values.output);
  if (!output) {
    throw new UserError("restore needs -o <output.png|output.npy> (or -o DIR/ for several inputs)");
  }
  const method = _str(values.method);
  if (!method) throw new UserError("restore needs --method ddnm, irsde or diffbir");
  const runner = METHOD_RUNNERS[method];
  if (!runner) throw new UserError(`unknown --method '${method}' (ddnm, irsde or diffbir)`);
  const maxPixels = numberFlag(values, "max-pixels", DEFAULT_MAX_PIXELS, { integer: true, min: 1 });
  const seed = numberFlag(values, "seed", 0, { integer: true, min: 0 });
  const runtime = (_str(values.ort) ?? "auto") as OrtChoice;
  if (!["auto", "native", "wasm", "webgpu"].includes(runtime)) {
    throw new UserError(`--ort must be auto, native, wasm or webgpu, got '${runtime}'`);
  }
  const backendName = _str(values.backend) ?? "auto";
  if (!["cpu", "webgpu", "auto"].includes(backendName)) {
    throw new UserError(`--backend must be cpu, webgpu or auto, got '${backendName}'`);
  }
  const quiet = values.quiet === true || values.json === true;
  // notes wait until the run has started: a run that fails prints only its error line
  const notes: string[] = [];
  const flushNotes = () => {
    if (!quiet) { for (const m of notes.splice(0)) console.error(`note: ${m}`); }
  };
  const backend: Backend = await chooseBackend(
    backendName as "cpu" | "webgpu" | "auto",
    (m) => notes.push(m),
    values.backend === undefined,
  );
  const threads = values.threads === undefined
    ? undefined
    : numberFlag(values, "threads", 1, { integer: true, min: 1 });
  // start building the network's session now: it runs on a native thread while inputs are read
  const cache = new Map<string, Promise<unknown>>();
  const early: _LoadContext = {
    cache,
    runtime,
    threads,
    backend,
    onNote: (m: string) => void notes.push(m),
  };
  const spec = _str(values.model);
  if (method === "diffbir" && spec) _cached(early, "pipeline", spec).catch(() => {});
  else if (method !== "diffbir" && (spec || method === "ddnm")) {
    _cached(early, "model", spec ?? DEFAULT_MODEL, _str(values["model-spec"])).catch(() => {});
  }
  let noiseValues: Float32Array | undefined;
  if (typeof values.noise === "string") {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(values.noise);
    } catch {
      throw new UserError(`noise file ${values.noise} not found`);
    }
    noiseValues = decodeNpy(bytes, values.noise).data;
  }
  const saveEvery = values["save-every"] === undefined
    ? 0
    : numberFlag(values, "save-every", 0, { integer: true, min: 1 });
  const saveDir = _str(values["save-dir"]);
  if (saveEvery && !saveDir) throw new UserError("--save-every K needs --save-dir DIR");
  if (saveEvery) await Deno.mkdir(saveDir!, { recursive: true });
  const inputs = await _expandInputs(positionals);
  const batch = inputs.length > 1 || (await _isDirectory(positionals[0]));
  if (batch && !output.endsWith("/") && !(await _isDirectory(output))) {
    throw new UserError(`several inputs need -o DIR/ (a directory), got ${output}`);
  }
  if (!batch && !/\.(png|npy)$/i.test(output)) {
    throw new UserError(`${output}: output must end in .png or .npy`);
  }
  if (batch) await Deno.mkdir(output, { recursive: true });
  const controller = new AbortController();
  const onSigint = () => controller.abort(new DOMException("interrupted", "AbortError"));
  Deno.addSignalListener("SIGINT", onSigint);
  let failures = 0;
  try {
    for (const [k, input] of inputs.entries()) {
      const target = batch ? `${output.replace(/\/$/, "")}/${_stem(input)}.png` : output;
      const prefix = batch ? `[${k + 1}/${inputs.length}] ${input} ` : "";
      try {
        trace("inputs parsed");
        const { image, observed } = await _readObserved(input, maxPixels);
        trace("image read");
        const bar = new ProgressBar({ label: backend.name });
        const saves: Promise<void>[] = [];
        const result = await runner({
          values,
          input,
          image,
          observed,
          noise: noiseValues ? new ArrayNoise(noiseValues, values.noise as string) : undefined,
          seed,
          backend,
          runtime,
          threads,
          maxPixels,
          cache,
          signal: controller.signal,
          onNote: (m) => notes.push(m),
          previews: !!saveEvery,
          onProgress: (p) => {
            flushNotes();
            if (!quiet) {
              bar.label = `${backend.name}, ${p.runtime ?? runtime} runtime`;
              bar.update(
                p.step,
                p.total,
                prefix + (p.windows > 1 ? `window ${p.window}/${p.windows} ` : ""),
              );
            }
            if (saveEvery && p.preview && p.step % saveEvery === 0) {
              const file = `${saveDir}/${_stem(input)}_w${p.window}_step${
                String(p.step).padStart(4, "0")
              }.png`;
              const save = p.preview().then((x0) => writeImageTensor(file, x0));
              save.catch(() => {}); // observed by Promise.all below; never an unhandled rejection
              saves.push(save);
            }
          },
        });
        await Promise.all(saves);
        flushNotes();
        if (!quiet) bar.done();
        await writeImageTensor(target, result.image);
        trace("output written");
        await _compare(values, observed, result.image, quiet);
        _report(values, quiet, target, method, seed, result);
      } catch (e) {
        if (!batch || (e as Error)?.name === "AbortError") throw e;
        failures++;
        notes.length = 0;
        const msg = e instanceof UserError ? e.message : (e as Error).message;
        console.error(`error: ${msg.startsWith(input) ? msg : `${input}: ${msg}`}`);
      }
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onSigint);
  }
  // release the sessions now: a process with live ONNX Runtime sessions takes longer to exit
  for (const p of cache.values()) {
    const loaded = await (p as Promise<{ release?: () => Promise<void> }>).catch(() => null);
    await loaded?.release?.().catch(() => {});
  }
  if (batch && !quiet) {
    console.error(`${inputs.length - failures} of ${inputs.length} images restored into ${output}`);
  }
  return failures ? 1 : 0;
}

function _report(
  values: ParsedArgs["values"],
  quiet: boolean,
  output: string,
  method: string,
  seed: number,
  result: RestoreResult,
): void {
  if (values.json) {
    console.log(JSON.stringify({
      output,
      method,
      model: result.model,
      runtime: result.runtime,
      backend: result.backend,
      seed,
      calls: result.calls,
      seconds: Number(result.seconds.toFixed(3)),
      shape: result.image.shape,
    }));
  } else if (!quiet) {
    console.error(
      `wrote ${output} (${result.image.w}x${result.image.h}, ${result.calls} network calls, ${
        result.seconds.toFixed(1)
      } s, ` +
        `${result.runtime} runtime, ${result.backend} backend)`,
    );
  }
}

/** --compare out.png: input (nearest), output and --reference side by side; PSNR/SSIM printed. */
async function _compare(
  values: ParsedArgs["values"],
  observed: Tensor,
  output: Tensor,
  quiet: boolean,
): Promise<void> {
  const sheet = _str(values.compare);
  const refPath = _str(values.reference);
  if (!sheet && !refPath) return;
  const { psnr, ssim } = await import("../lib/metrics.ts");
  const { sideBySide } = await import("../lib/sheet.ts");
  const clamp = output.map((v) => Math.min(1, Math.max(0, v)));
  const panels = [observed.c === 1 || observed.c === 3 ? observed : output, clamp];
  if (refPath) {
    const ref = imageToTensor(await readImage(refPath), output.c as 1 | 3);
    if (ref.w !== output.w || ref.h !== output.h) {
      throw new UserError(
        `--reference ${refPath} is ${ref.w}x${ref.h}, the output is ${output.w}x${output.h}`,
      );
    }
    panels.push(ref);
    const p = psnr(clamp, ref);
    const line = `PSNR ${p.toFixed(2)} dB, SSIM ${ssim(clamp, ref).toFixed(4)} against ${refPath}`;
    if (values.json) {
      console.log(
        JSON.stringify({
          reference: refPath,
          psnr: Number.isFinite(p) ? p : "inf",
          ssim: ssim(clamp, ref),
        }),
      );
    } else if (!quiet) console.error(line);
  }
  if (sheet) await writeImageTensor(sheet, sideBySide(panels, output.h));
}

async function _isDirectory(path: string): Promise<boolean> {
  return await Deno.stat(path).then((s) => s.isDirectory, () => false);
}

function _stem(path: string): string {
  const base = path.split("/").pop() ?? path;
  return base.replace(/\.[^.]+$/, "");
}

/** Inputs: files as given; a directory stands for its PNG, JPEG and .npy files, sorted. */
async function _expandInputs(positionals: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of positionals) {
    if (await _isDirectory(p)) {
      const names: string[] = [];
      for await (const e of Deno.readDir(p)) {
        if (e.isFile && /\.(png|jpe?g|npy)$/i.test(e.name)) {
          names.push(`${p.replace(/\/$/, "")}/${e.name}`);
        }
      }
      if (names.length === 0) {
        throw new UserError(`${p}: no PNG, JPEG or .npy files in this directory`);
      }
      out.push(...names.sort());
    } else out.push(p);
  }
  return out;
}

/**
 * The tensor backend for a `--backend` choice: `auto` takes WebGPU only on a hardware
 * adapter (a software rasterizer is slower than the CPU path), and says what it chose.
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

/** The `restore` command's entry point. */
export const run: (args: string[]) => Promise<number> = _restore;
