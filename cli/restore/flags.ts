/**
 * `restore`'s flags: the common ones, each method's own, and the parse that names the method a
 * misplaced flag belongs to.
 *
 * @module
 */

import { type FlagSpec, type ParsedArgs, parseFlags, UsageError } from "../args.ts";

/** Flags shared by every method. */
export const COMMON_FLAGS: FlagSpec = {
  help: { type: "boolean", short: "h" },
  output: { type: "string", short: "o" },
  method: { type: "string" },
  model: { type: "string" },
  "model-spec": { type: "string" },
  sha256: { type: "string" },
  "bit-depth": { type: "string" },
  quality: { type: "string" },
  steps: { type: "string" },
  seed: { type: "string" },
  noise: { type: "string" },
  backend: { type: "string" },
  ort: { type: "string" },
  threads: { type: "string" },
  "check-ort": { type: "boolean" },
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
    class: { type: "string" },
    "warm-start": { type: "string" },
    samples: { type: "string" },
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
    prompt: { type: "string" },
    "negative-prompt": { type: "string" },
  },
};

/**
 * A flag's value when it is a string.
 *
 * @param v The parsed value.
 * @returns The string, or undefined.
 */
export function stringFlag(v: ParsedArgs["values"][string]): string | undefined {
  return typeof v === "string" ? v : undefined;
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
  const method = stringFlag(parsed.values.method);
  if (method && METHOD_FLAGS[method]) {
    for (const [k, val] of Object.entries(parsed.values)) {
      if (val === undefined || k in COMMON_FLAGS || k in METHOD_FLAGS[method]) continue;
      const owner = Object.entries(METHOD_FLAGS).filter(([, s]) => k in s).map(([n]) => n).join(
        " or ",
      );
      throw new UsageError(`--${k} applies to --method ${owner}, not ${method}`);
    }
  }
  return parsed;
}

/**
 * The library options `restore`'s flags set, by option path: an error about one of them names the
 * flag (cli/args.ts inFlagWords). One table for the three methods; their option names agree.
 */
export const OPTION_FLAGS: Readonly<Record<string, string>> = {
  model: "--model",
  modelSpec: "--model-spec",
  steps: "--steps",
  seed: "--seed",
  mask: "--mask",
  runtime: "--ort",
  threads: "--threads",
  backend: "--backend",
  checkOrt: "--check-ort",
  "task.name": "--task",
  "task.scale": "--scale",
  "task.ratio": "--ratio",
  "task.kernel": "--kernel",
  "task.noiseLevel": "--noise-level",
  eta: "--eta",
  sigmaY: "--sigma-y",
  travelLength: "--travel-length",
  travelRepeat: "--travel-repeat",
  variant: "--variant",
  window: "--window",
  maskShift: "--mask-shift",
  sampler: "--sampler",
  classLabel: "--class",
  warmStart: "--warm-start",
  samples: "--samples",
  solver: "--solver",
  "sde.maxSigma": "--max-sigma",
  "sde.schedule": "--schedule",
  "sde.eps": "--eps",
  "sampler.eta": "--eta",
  "sampler.sChurn": "--s-churn",
  "sampler.sTmin": "--s-tmin",
  "sampler.sTmax": "--s-tmax",
  "sampler.sNoise": "--s-noise",
  "sampler.order": "--order",
  cfg: "--cfg",
  context: "--context",
  negativeContext: "--negative-context",
  prompt: "--prompt",
  strength: "--strength",
  guidance: "--guidance-scale",
  "guidance.repeat": "--guidance-repeat",
  startPoint: "--start-point",
  noiseAug: "--noise-aug",
  minSize: "--min-size",
  "tile.size": "--tile-size",
  "tile.stride": "--tile-stride",
  colorFix: "--color-fix",
  upscale: "--upscale",
  maxPixels: "--max-pixels",
};
