/**
 * `restore`: restore an image, several, or a directory with DDNM, IR-SDE or DiffBIR
 * (docs/cli.md): flags checked, the backend chosen, models loaded once, each input read,
 * restored, written atomically and reported; a batch reports failures per file.
 *
 * @module
 */

import { asFlags, closest, numberFlag, UsageError } from "../args.ts";
import { UserError } from "../../lib/errors.ts";
import { trace } from "../../lib/trace.ts";
import { DEFAULT_MAX_PIXELS, writeImageTensor } from "../../lib/image.ts";
import { readNpyFile } from "../../lib/npy.ts";
import { ArrayNoise } from "../../lib/noise.ts";
import { ProgressBar } from "../../lib/progress_bar.ts";
import type { OrtChoice } from "../../model/ort_runtime.ts";
import { DEFAULT_IRSDE_MODEL, DEFAULT_MODEL } from "../../model/builtin_models.ts";
import type { Backend } from "../../kernels/backend.ts";
import { chooseBackend } from "../../kernels/choose_backend.ts";
import { cachedModel, type LoadContext, type MethodRunner } from "./context.ts";
import { ALL_RESTORE_FLAGS, parseRestoreFlags, stringFlag } from "./flags.ts";
import { RESTORE_HELP } from "./help.ts";
import {
  expandInputs,
  isDirectory,
  outputTargets,
  passThroughAlpha,
  readObserved,
  stem,
} from "./inputs.ts";
import { compareSheet, report } from "./report.ts";
import { runDdnm } from "./ddnm.ts";
import { runIrsde } from "./irsde.ts";
import { runDiffbir } from "./diffbir.ts";

/** The runners by method name. */
export const METHOD_RUNNERS: Record<string, MethodRunner> = {
  ddnm: runDdnm,
  irsde: runIrsde,
  diffbir: runDiffbir,
};

async function _restore(args: string[]): Promise<number> {
  trace("restore command loaded");
  const { values, positionals } = parseRestoreFlags(args);
  if (values.help) {
    console.log(RESTORE_HELP);
    return 0;
  }
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
  const method = stringFlag(values.method);
  if (!method) throw new UsageError("restore needs --method ddnm, irsde or diffbir");
  const runner = METHOD_RUNNERS[method];
  if (!runner) {
    const hint = closest(method, Object.keys(METHOD_RUNNERS));
    throw new UsageError(
      `unknown --method '${method}' (ddnm, irsde or diffbir)` +
        (hint ? `; did you mean '${hint}'?` : ""),
    );
  }
  const maxPixels = numberFlag(values, "max-pixels", DEFAULT_MAX_PIXELS, { integer: true, min: 1 });
  const seed = numberFlag(values, "seed", 0, { integer: true, min: 0 });
  const runtime = (stringFlag(values.ort) ?? "auto") as OrtChoice;
  if (!["auto", "native", "wasm", "webgpu"].includes(runtime)) {
    throw new UsageError(`--ort must be auto, native, wasm or webgpu, got '${runtime}'`);
  }
  const backendName = stringFlag(values.backend) ?? "auto";
  if (!["cpu", "webgpu", "auto"].includes(backendName)) {
    throw new UsageError(`--backend must be cpu, webgpu or auto, got '${backendName}'`);
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
  const checkOrt = values["check-ort"] === true;
  // start building the network's session now: it runs on a native thread while inputs are read
  const cache = new Map<string, Promise<unknown>>();
  const sha256 = stringFlag(values.sha256);
  if (sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(sha256)) {
    throw new UsageError(`--sha256 needs 64 hexadecimal digits, got '${sha256}'`);
  }
  const downloads = quiet ? null : new ProgressBar({ label: "MB" });
  const onDownload = downloads
    ? (file: string, done: number, total: number | null) =>
      downloads.update(
        Math.round(done / 1e6),
        Math.max(1, Math.round((total ?? done) / 1e6)),
        `${file.slice(file.lastIndexOf("/") + 1)} `,
      )
    : undefined;
  const early: LoadContext = {
    cache,
    runtime,
    threads,
    checkOrt,
    backend,
    onNote: (m: string) => void notes.push(m),
    sha256,
    onDownload,
  };
  const spec = stringFlag(values.model);
  if (method === "diffbir" && spec) cachedModel(early, "pipeline", spec).catch(() => {});
  else if (method !== "diffbir") {
    if (method === "irsde" && !spec) {
      notes.push(
        `--method irsde without --model: ${DEFAULT_IRSDE_MODEL}, trained for Gaussian noise of sigma 25/255`,
      );
    }
    const fallback = method === "irsde" ? DEFAULT_IRSDE_MODEL : DEFAULT_MODEL;
    cachedModel(early, "model", spec ?? fallback, stringFlag(values["model-spec"])).catch(
      () => {},
    );
  }
  let noiseValues: Float32Array | undefined;
  if (typeof values.noise === "string") {
    noiseValues = (await readNpyFile(values.noise, `noise file ${values.noise} not found`)).data;
  }
  const saveEvery = values["save-every"] === undefined
    ? 0
    : numberFlag(values, "save-every", 0, { integer: true, min: 1 });
  const saveDir = stringFlag(values["save-dir"]);
  if (saveEvery && !saveDir) throw new UsageError("--save-every K needs --save-dir DIR");
  if (saveEvery) await Deno.mkdir(saveDir!, { recursive: true });
  const inputs = await expandInputs(positionals);
  const batch = inputs.length > 1 || (await isDirectory(positionals[0]));
  if (batch && !output.endsWith("/") && !(await isDirectory(output))) {
    throw new UsageError(`several inputs need -o DIR/ (a directory), got ${output}`);
  }
  if (!batch && !/\.(png|jpe?g|npy)$/i.test(output)) {
    throw new UsageError(`${output}: output must end in .png, .jpg, .jpeg or .npy`);
  }
  const targets = outputTargets(inputs, output, batch);
  const bitDepth = numberFlag(values, "bit-depth", 8, { integer: true, min: 8, max: 16 });
  if (bitDepth !== 8 && bitDepth !== 16) {
    throw new UsageError(`--bit-depth must be 8 or 16, got ${bitDepth}`);
  }
  const quality = numberFlag(values, "quality", 95, { integer: true, min: 1, max: 100 });
  if (batch) await Deno.mkdir(output, { recursive: true });
  const controller = new AbortController();
  const onSigint = () => controller.abort(new DOMException("interrupted", "AbortError"));
  Deno.addSignalListener("SIGINT", onSigint);
  let failures = 0;
  try {
    for (const [k, input] of inputs.entries()) {
      const target = targets[k];
      const prefix = batch ? `[${k + 1}/${inputs.length}] ${input} ` : "";
      try {
        trace("inputs parsed");
        const { image, observed } = await readObserved(input, maxPixels);
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
          checkOrt,
          maxPixels,
          cache,
          sha256,
          onDownload,
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
              const file = `${saveDir}/${stem(input)}_w${p.window}_step${
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
        await writeImageTensor(target, result.image, {
          bitDepth: bitDepth as 8 | 16,
          quality,
          alpha: passThroughAlpha(image, result.image, values),
        });
        trace("output written");
        await compareSheet(values, observed, result.image, quiet);
        report(values, quiet, target, method, seed, result);
      } catch (e) {
        if (!batch || (e as Error)?.name === "AbortError") throw e;
        failures++;
        notes.length = 0;
        const msg = e instanceof UserError && !(e instanceof UsageError)
          ? asFlags(e.message, ALL_RESTORE_FLAGS)
          : (e as Error).message;
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

/** The `restore` command's entry point. */
export const run: (args: string[]) => Promise<number> = _restore;
