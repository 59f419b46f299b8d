/**
 * `restore`'s loop over its inputs: each read, restored with the planned runner, written
 * atomically and reported; in a batch a failed file is reported on its own line and the rest go
 * on. Notes wait until a run has started, so a run that fails prints only its error line.
 *
 * @module
 */

import { inFlagWords } from "../args.ts";
import { UserError } from "../../lib/errors.ts";
import { trace } from "../../lib/trace.ts";
import { writeImageTensor } from "../../lib/image.ts";
import { ProgressBar } from "../../lib/progress_bar.ts";
import type { Backend } from "../../kernels/backend.ts";
import type { RestoreProgress } from "../../pipelines/run.ts";
import type { LoadContext } from "./context.ts";
import type { RestorePlan } from "./command.ts";
import { OPTION_FLAGS } from "./flags.ts";
import { passThroughAlpha, readObserved, stem } from "./inputs.ts";
import { compareSheet, report } from "./report.ts";

/**
 * A batch's per-file error line, in the command line's words.
 *
 * @param input The input it belongs to.
 * @param e The error.
 * @returns The line.
 */
export function fileErrorLine(input: string, e: unknown): string {
  const msg = e instanceof UserError ? inFlagWords(e, OPTION_FLAGS).message : (e as Error).message;
  return `error: ${msg.startsWith(input) ? msg : `${input}: ${msg}`}`;
}

/** Progress of one input: the bar, and the x0 estimates `--save-every` asks for. */
function _progress(plan: RestorePlan, backend: Backend, input: string, k: number) {
  const bar = new ProgressBar({ label: backend.name });
  const saves: Promise<void>[] = [];
  const prefix = plan.batch ? `[${k + 1}/${plan.inputs.length}] ${input} ` : "";
  const onProgress = (p: RestoreProgress) => {
    if (!plan.quiet) {
      bar.label = `${backend.name}, ${p.runtime ?? plan.runtime} runtime`;
      bar.update(
        p.step,
        p.total,
        prefix + (p.windows > 1 ? `window ${p.window}/${p.windows} ` : ""),
      );
    }
    if (plan.saveEvery && p.preview && p.step % plan.saveEvery === 0) {
      const step = String(p.step).padStart(4, "0");
      const file = `${plan.saveDir}/${stem(input)}_w${p.window}_step${step}.png`;
      const save = p.preview().then((x0) => writeImageTensor(file, x0));
      save.catch(() => {}); // observed by Promise.all in `finish`; never an unhandled rejection
      saves.push(save);
    }
  };
  const finish = async () => {
    await Promise.all(saves);
    if (!plan.quiet) bar.done();
  };
  return { onProgress, finish };
}

/** Restore, write and report one input. */
async function _one(
  plan: RestorePlan,
  backend: Backend,
  early: LoadContext,
  k: number,
  signal: AbortSignal,
): Promise<void> {
  const { values, quiet } = plan;
  const input = plan.inputs[k], target = plan.targets[k];
  const flushNotes = () => {
    if (!quiet) { for (const m of plan.notes.splice(0)) console.error(`note: ${m}`); }
  };
  trace("inputs parsed");
  const { image, observed } = await readObserved(input, plan.maxPixels);
  trace("image read");
  const progress = _progress(plan, backend, input, k);
  const result = await plan.runner({
    ...early,
    image,
    observed,
    noise: plan.noise,
    seed: plan.seed,
    backend,
    runtime: plan.runtime,
    maxPixels: plan.maxPixels,
    signal,
    onNote: (m) => plan.notes.push(m),
    previews: !!plan.saveEvery,
    onProgress: (p) => {
      flushNotes();
      progress.onProgress(p);
    },
  });
  await progress.finish();
  flushNotes();
  await writeImageTensor(target, result.image, {
    bitDepth: plan.bitDepth,
    quality: plan.quality,
    alpha: passThroughAlpha(image, result.image, values),
  });
  trace("output written");
  await compareSheet(values, input, observed, result.image, quiet);
  report(values, quiet, input, target, plan.method, plan.seed, result);
}

/**
 * Restore every planned input in turn; Ctrl-C stops the run between steps, writing nothing more.
 *
 * @param plan The checked plan.
 * @param backend Where the per-step math runs.
 * @param early The loading context the models started loading with.
 * @returns How many inputs failed (a single input's failure is thrown instead).
 */
export async function restoreEach(
  plan: RestorePlan,
  backend: Backend,
  early: LoadContext,
): Promise<number> {
  const controller = new AbortController();
  const onSigint = () => controller.abort(new DOMException("interrupted", "AbortError"));
  Deno.addSignalListener("SIGINT", onSigint);
  let failures = 0;
  try {
    for (const k of plan.inputs.keys()) {
      try {
        await _one(plan, backend, early, k, controller.signal);
      } catch (e) {
        if (!plan.batch || (e as Error)?.name === "AbortError") throw e;
        failures++;
        plan.notes.length = 0;
        console.error(fileErrorLine(plan.inputs[k], e));
      }
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onSigint);
  }
  return failures;
}
