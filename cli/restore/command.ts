/**
 * `restore`: restore an image, several, or a directory with DDNM, IR-SDE or DiffBIR
 * (docs/cli.md). Every flag, the inputs and the outputs' folders are checked first; then the
 * backend is chosen, models load once, and each input is read, restored, written atomically and
 * reported; a batch reports failures per file.
 *
 * @module
 */

import { choiceFlag, closest, numberFlag, type ParsedArgs, UsageError } from "../args.ts";
import { ProgressBar } from "../../lib/progress_bar.ts";
import { trace } from "../../lib/trace.ts";
import { DEFAULT_MAX_PIXELS } from "../../lib/image.ts";
import { readNpyFile } from "../../lib/npy.ts";
import { ArrayNoise } from "../../lib/noise.ts";
import type { OrtChoice } from "../../model/ort_runtime.ts";
import { DEFAULT_IRSDE_MODEL, DEFAULT_MODEL } from "../../model/builtin_models.ts";
import type { Backend } from "../../kernels/backend.ts";
import { chooseBackend } from "../../kernels/choose_backend.ts";
import { cachedModel, type LoadContext, type MethodRunner } from "./context.ts";
import { OPTION_FLAGS, parseRestoreFlags, stringFlag } from "./flags.ts";
import { RESTORE_HELP } from "./help.ts";
import { expandInputs, isDirectory, outputTargets } from "./inputs.ts";
import { checkWritable } from "./output_check.ts";
import { restoreEach } from "./batch.ts";
import { planDdnm } from "./ddnm.ts";
import { planIrsde } from "./irsde.ts";
import { planDiffbir } from "./diffbir.ts";

/** Each method's planner: its flags checked, the runner of one image returned. */
const METHOD_PLANNERS: Record<
  string,
  (v: ParsedArgs["values"], note: (m: string) => void) => Promise<MethodRunner>
> = {
  ddnm: planDdnm,
  irsde: planIrsde,
  diffbir: planDiffbir,
};

/** Everything `restore` settles before it loads a model. */
export interface RestorePlan {
  /** Parsed flags. */
  values: ParsedArgs["values"];
  /** The method. */
  method: string;
  /** Its runner of one image. */
  runner: MethodRunner;
  /** The input files. */
  inputs: string[];
  /** One output per input. */
  targets: string[];
  /** The `-o` value. */
  output: string;
  /** Several inputs or a directory. */
  batch: boolean;
  /** The seed. */
  seed: number;
  /** The ONNX runtime choice. */
  runtime: OrtChoice;
  /** Where the per-step math runs. */
  backend: "auto" | "cpu" | "webgpu";
  /** Runtime threads. */
  threads?: number;
  /** `--check-ort`. */
  checkOrt: boolean;
  /** `--max-pixels`. */
  maxPixels: number;
  /** `--sha256` of a model by URL. */
  sha256?: string;
  /** The recorded draws of `--noise`. */
  noise?: ArrayNoise;
  /** `--save-every` (0: off) and its folder. */
  saveEvery: number;
  /** `--save-dir`. */
  saveDir?: string;
  /** `--bit-depth` of PNG outputs. */
  bitDepth: 8 | 16;
  /** `--quality` of JPEG outputs. */
  quality: number;
  /** No progress bar (`--quiet`, `--json`). */
  quiet: boolean;
  /** Notes gathered while planning (flags ignored, skipped files). */
  notes: string[];
}

/** The inputs and where each result goes, checked (the outputs' folder writable). */
async function _inputsAndTargets(
  values: ParsedArgs["values"],
  positionals: string[],
  notes: string[],
): Promise<Pick<RestorePlan, "inputs" | "targets" | "output" | "batch">> {
  if (positionals.length === 0) {
    throw new UsageError(
      "restore needs an input image (or several, or a directory); see 'restore --help'",
    );
  }
  const output = stringFlag(values.output);
  if (!output) {
    throw new UsageError(
      "restore needs -o <output.png|output.npy> (or -o DIR/ for several inputs)",
    );
  }
  const { files: inputs, skipped } = await expandInputs(positionals);
  for (const f of skipped) notes.push(`skipped ${f}: not a PNG, JPEG or .npy file`);
  const batch = inputs.length > 1 || (await isDirectory(positionals[0]));
  if (batch && !output.endsWith("/") && !(await isDirectory(output))) {
    throw new UsageError(`several inputs need -o DIR/ (a directory), got ${output}`);
  }
  if (!batch && !/\.(png|jpe?g|npy)$/i.test(output)) {
    throw new UsageError(`${output}: output must end in .png, .jpg, .jpeg or .npy`);
  }
  const targets = outputTargets(inputs, output, batch);
  await checkWritable(batch ? output : targets[0], batch);
  return { inputs, targets, output, batch };
}

/** Check every flag, the inputs and the outputs, and plan the method: no model loads here. */
async function _plan(values: ParsedArgs["values"], positionals: string[]): Promise<RestorePlan> {
  const notes: string[] = [];
  const method = stringFlag(values.method) ?? "ddnm";
  if (!METHOD_PLANNERS[method]) {
    const hint = closest(method, Object.keys(METHOD_PLANNERS));
    throw new UsageError(
      `--method must be ddnm, irsde or diffbir, got '${method}'` +
        (hint ? `; did you mean '${hint}'?` : ""),
    );
  }
  const whole = (flag: string, fallback: number, min: number, max?: number) =>
    numberFlag(values, flag, fallback, { integer: true, min, max });
  const sha256 = stringFlag(values.sha256);
  if (sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(sha256)) {
    throw new UsageError(`--sha256 must be 64 hexadecimal digits, got '${sha256}'`);
  }
  const bitDepth = whole("bit-depth", 8, 8, 16);
  if (bitDepth !== 8 && bitDepth !== 16) {
    throw new UsageError(`--bit-depth must be 8 or 16, got ${bitDepth}`);
  }
  const saveEvery = values["save-every"] === undefined ? 0 : whole("save-every", 0, 1);
  const saveDir = stringFlag(values["save-dir"]);
  if (saveEvery && !saveDir) throw new UsageError("--save-every K needs --save-dir DIR");
  const where = await _inputsAndTargets(values, positionals, notes);
  const plan = {
    values,
    method,
    runner: await METHOD_PLANNERS[method](values, (m) => notes.push(m)),
    ...where,
    seed: whole("seed", 0, 0),
    backend: choiceFlag(values, "backend", ["auto", "cpu", "webgpu"] as const, "auto"),
    runtime: choiceFlag(values, "ort", ["auto", "native", "wasm", "webgpu"] as const, "auto"),
    threads: numberFlag(values, "threads", undefined, { integer: true, min: 1 }),
    checkOrt: values["check-ort"] === true,
    maxPixels: whole("max-pixels", DEFAULT_MAX_PIXELS, 1),
    sha256,
    saveEvery,
    saveDir,
    bitDepth: bitDepth as 8 | 16,
    quality: whole("quality", 95, 1, 100),
    quiet: values.quiet === true || values.json === true,
    notes,
  };
  if (typeof values.noise === "string") {
    const draws = await readNpyFile(values.noise, `noise file ${values.noise} not found`);
    return { ...plan, noise: new ArrayNoise(draws.data, values.noise) };
  }
  return plan;
}

/** Start building the network's session: it runs on a native thread while inputs are read. */
function _startLoading(plan: RestorePlan, early: LoadContext): void {
  const spec = stringFlag(plan.values.model);
  if (plan.method === "diffbir") {
    if (spec) cachedModel(early, "pipeline", spec).catch(() => {});
    return;
  }
  if (plan.method === "irsde" && !spec) {
    plan.notes.push(
      `--method irsde without --model: ${DEFAULT_IRSDE_MODEL}, trained for Gaussian noise of sigma 25/255`,
    );
  }
  const fallback = plan.method === "irsde" ? DEFAULT_IRSDE_MODEL : DEFAULT_MODEL;
  cachedModel(early, "model", spec ?? fallback, stringFlag(plan.values["model-spec"])).catch(
    () => {},
  );
}

/** Download progress of a model by URL, unless quiet. */
function _downloadBar(quiet: boolean): LoadContext["onDownload"] {
  if (quiet) return undefined;
  const bar = new ProgressBar({ label: "MB" });
  return (file, done, total) =>
    bar.update(
      Math.round(done / 1e6),
      Math.max(1, Math.round((total ?? done) / 1e6)),
      `${file.slice(file.lastIndexOf("/") + 1)} `,
    );
}

async function _restore(args: string[]): Promise<number> {
  trace("restore command loaded");
  const { values, positionals } = parseRestoreFlags(args);
  if (values.help) {
    console.log(RESTORE_HELP);
    return 0;
  }
  const plan = await _plan(values, positionals);
  const backend: Backend = await chooseBackend(
    plan.backend,
    (m) => plan.notes.push(m),
    values.backend === undefined,
  );
  const cache = new Map<string, Promise<unknown>>();
  const early: LoadContext = {
    cache,
    runtime: plan.runtime,
    threads: plan.threads,
    checkOrt: plan.checkOrt,
    backend,
    onNote: (m: string) => void plan.notes.push(m),
    sha256: plan.sha256,
    onDownload: _downloadBar(plan.quiet),
  };
  _startLoading(plan, early);
  if (plan.saveEvery) await Deno.mkdir(plan.saveDir!, { recursive: true });
  if (plan.batch) await Deno.mkdir(plan.output, { recursive: true });
  try {
    const failures = await restoreEach(plan, backend, early);
    if (plan.batch && !plan.quiet) {
      console.error(
        `${
          plan.inputs.length - failures
        } of ${plan.inputs.length} images restored into ${plan.output}`,
      );
    }
    return failures ? 1 : 0;
  } finally {
    // release the sessions now: a process with live ONNX Runtime sessions takes longer to exit
    for (const p of cache.values()) {
      const loaded = await (p as Promise<{ release?: () => Promise<void> }>).catch(() => null);
      await loaded?.release?.().catch(() => {});
    }
  }
}

/** The `restore` command's entry point. */
export const run: (args: string[]) => Promise<number> = _restore;

export { OPTION_FLAGS };
