/**
 * `info`: what this installation can run (runtimes, WebGPU adapter) and what a model holds.
 *
 * @module
 */

import { parseFlags, UsageError } from "./args.ts";
import { BUILTIN_MODELS, loadModel } from "../model/builtin_models.ts";
import {
  createSession,
  type IoMeta,
  type OrtChoice,
  resolveRuntime,
} from "../model/ort_runtime.ts";
import { draftManifest } from "../model/draft_manifest.ts";
import { writeFileAtomic } from "../lib/atomic_write.ts";
import { adapterName, gpuAdapter } from "../lib/gpu.ts";
import { checkProbe, compareWebGpuWithWasm, probePathFor } from "../model/export_probe.ts";
import { manifestPathFor, readJsonFile } from "../model/manifest.ts";
import { UserError } from "../lib/errors.ts";

const _HELP =
  `usage: deno run -A cli.ts info [--model net.onnx|pipeline.json|builtin:NAME] [--model-spec m.json]
       [--ort auto|native|wasm|webgpu] [--verify] [--write-manifest]

Shows the Deno version, which ONNX runtimes load, the WebGPU adapter, the built-in models,
and with --model the manifest and the ONNX file's inputs and outputs; a model without a
manifest gets a draft one (--write-manifest saves it beside the model). --verify runs an
exported network (every network of a DiffBIR pipeline) on the probe inputs its exporter saved
and fails when it differs from PyTorch's output beyond the probe's tolerance; with --ort
webgpu it compares the WebGPU provider with wasm on any model (docs/ort_webgpu.md).

examples:
  deno run -A cli.ts info
  deno run -A cli.ts info --model builtin:gaussian`;

async function _info(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    help: { type: "boolean", short: "h" },
    model: { type: "string" },
    "model-spec": { type: "string" },
    ort: { type: "string" },
    verify: { type: "boolean" },
    "write-manifest": { type: "boolean" },
  }, "info");
  if (values.help) {
    console.log(_HELP);
    return 0;
  }
  const runtime = (values.ort as OrtChoice) ?? "auto";
  if (values.verify === true) {
    // a check of the export only: no environment report, no GPU probe
    if (typeof values.model !== "string") throw new UsageError("--verify needs --model");
    return await _verify(values.model, runtime);
  }
  if (typeof values.model === "string") {
    return await _model(values.model, values["model-spec"] as string | undefined, runtime, {
      write: values["write-manifest"] === true,
    });
  }
  console.log(
    `deno ${Deno.version.deno}, ${Deno.build.os}-${Deno.build.arch}, ${navigator.hardwareConcurrency} cores`,
  );
  for (const r of ["native", "wasm"] as const) {
    const ok = await resolveRuntime(r).then(
      () => "loads",
      (e) => `unavailable (${(e as Error).message})`,
    );
    console.log(`onnx runtime ${r}: ${ok}`);
  }
  const adapter = await gpuAdapter();
  console.log(`webgpu adapter: ${adapter ? adapterName(adapter) : "none"}`);
  console.log("built-in models:");
  for (const [k, b] of Object.entries(BUILTIN_MODELS)) {
    console.log(`  builtin:${k}  ${b.description}`);
  }
  return 0;
}

function _io(kind: string, list: readonly IoMeta[]): void {
  for (const i of list) {
    console.log(`  ${kind} ${i.name}: ${i.type} [${i.shape?.join(", ") ?? "?"}]`);
  }
}

/** What a model holds: its manifest, or a drafted one when it has none. */
async function _model(
  model: string,
  spec: string | undefined,
  runtime: OrtChoice,
  options: { write: boolean },
): Promise<number> {
  const notes: string[] = [];
  const onNote = (n: string) => void notes.push(n);
  const manifestPath = manifestPathFor(model, spec);
  const drafting = !model.startsWith("builtin:") &&
    !(await Deno.stat(manifestPath).then(() => true, () => false));
  if (!drafting) {
    if (options.write) throw new UserError(`--write-manifest: ${manifestPath} exists already`);
    const m = await loadModel(model, { runtime, onNote }, spec);
    for (const n of notes) console.log(`note: ${n}`);
    console.log(`model ${m.name} (runtime ${m.runtime})`);
    console.log(`  manifest: ${JSON.stringify(m.manifest)}`);
    _io("input ", m.inputs);
    _io("output", m.outputs);
    await m.release();
    return 0;
  }
  await Deno.stat(model).catch(() => {
    throw new UserError(`model ${model} not found`);
  });
  const session = await createSession(model, { runtime, onNote });
  try {
    console.log(`model ${model} (runtime ${session.runtime}), no manifest at ${manifestPath}`);
    _io("input ", session.inputs);
    _io("output", session.outputs);
    const draft = draftManifest(session.inputs, session.outputs);
    const text = JSON.stringify(draft.manifest, null, 2) + "\n";
    console.log(`draft manifest (check each guess, then save it as ${manifestPath}):`);
    console.log(text.trimEnd());
    for (const n of draft.notes) console.log(`  - ${n}`);
    if (options.write) {
      await writeFileAtomic(manifestPath, new TextEncoder().encode(text));
      console.log(`wrote ${manifestPath}`);
    }
  } finally {
    await session.release();
  }
  return 0;
}

/** The ONNX files to verify: a model, or every network a DiffBIR pipeline names. */
async function _exports(model: string): Promise<string[]> {
  if (!model.toLowerCase().endsWith(".json")) return [model];
  const json = await readJsonFile(model, "pipeline manifest") as Record<string, unknown>;
  const dir = model.includes("/") ? model.slice(0, model.lastIndexOf("/") + 1) : "";
  return ["stage1", "vaeEncoder", "vaeDecoder", "denoiser", "textEncoder"]
    .filter((k) => typeof json[k] === "string")
    .map((k) => dir + (json[k] as string));
}

async function _verify(model: string, runtime: OrtChoice): Promise<number> {
  const failed: string[] = [];
  for (const file of await _exports(model)) {
    if (await Deno.stat(probePathFor(file)).then(() => true, () => runtime !== "webgpu")) {
      const r = await checkProbe(file, { runtime });
      console.log(
        `verify ${file} (${r.runtime}): max |d| ${r.maxDiff.toExponential(2)}, mean |d| ${
          r.meanDiff.toExponential(2)
        } (tolerance ${r.tolerance.max} / ${r.tolerance.mean}): ${r.ok ? "ok" : "FAILED"}`,
      );
      if (!r.ok) failed.push(`${file} against PyTorch (max |d| ${r.maxDiff.toExponential(2)})`);
    }
    if (runtime !== "webgpu") continue;
    // any model: the provider against wasm, on the probe's inputs or generated ones
    const c = await compareWebGpuWithWasm(file);
    for (const r of c.rewrites) console.log(`  rewrote ${r.node} (${r.config}): ${r.action}`);
    const ok = c.maxDiff <= 1e-3 && c.meanDiff <= 1e-4;
    console.log(
      `verify ${file} (webgpu against wasm, ${c.inputs} inputs): max |d| ${
        c.maxDiff.toExponential(2)
      }, mean |d| ${c.meanDiff.toExponential(2)} (tolerance 0.001 / 0.0001; without the Conv ` +
        `guard max |d| ${c.unguardedMaxDiff.toExponential(2)}): ${ok ? "ok" : "FAILED"}`,
    );
    if (!ok) failed.push(`${file} on webgpu against wasm (max |d| ${c.maxDiff.toExponential(2)})`);
  }
  if (failed.length) {
    throw new UserError(`differences beyond the tolerance: ${failed.join(", ")}`);
  }
  return 0;
}

/** The `info` command's entry point. */
export const run: (args: string[]) => Promise<number> = _info;

/** The library options this command's flags set, to name the flag in an error about one. */
export const OPTION_FLAGS: Readonly<Record<string, string>> = {
  model: "--model",
  modelSpec: "--model-spec",
  runtime: "--ort",
};
