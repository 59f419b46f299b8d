/**
 * `info`: what this installation can run (runtimes, WebGPU adapter) and what a model holds.
 *
 * @module
 */

import { parseFlags } from "./args.ts";
import { BUILTIN_MODELS, loadModel } from "../model/builtin_models.ts";
import { type OrtChoice, resolveRuntime } from "../model/ort_runtime.ts";

const _HELP =
  `usage: deno run -A cli.ts info [--model net.onnx|builtin:NAME] [--model-spec m.json] [--ort auto|native|wasm|webgpu]

Shows the Deno version, which ONNX runtimes load, the WebGPU adapter, the built-in models,
and with --model the manifest and the ONNX file's inputs and outputs.

examples:
  deno run -A cli.ts info
  deno run -A cli.ts info --model builtin:gaussian`;

async function _info(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    help: { type: "boolean", short: "h" },
    model: { type: "string" },
    "model-spec": { type: "string" },
    ort: { type: "string" },
  }, "info");
  if (values.help) {
    console.log(_HELP);
    return 0;
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
  const adapter = await navigator.gpu?.requestAdapter().catch(() => null);
  console.log(
    `webgpu adapter: ${
      adapter ? adapter.info.description || adapter.info.vendor || "yes" : "none"
    }`,
  );
  console.log("built-in models:");
  for (const [k, b] of Object.entries(BUILTIN_MODELS)) {
    console.log(`  builtin:${k}  ${b.description}`);
  }
  if (typeof values.model === "string") {
    const notes: string[] = [];
    const m = await loadModel(values.model, {
      runtime: (values.ort as OrtChoice) ?? "auto",
      onNote: (n) => notes.push(n),
    }, values["model-spec"] as string | undefined);
    for (const n of notes) console.log(`note: ${n}`);
    console.log(`model ${m.name} (runtime ${m.runtime})`);
    console.log(`  manifest: ${JSON.stringify(m.manifest)}`);
    for (const i of m.inputs) {
      console.log(`  input  ${i.name}: ${i.type} [${i.shape?.join(", ") ?? "?"}]`);
    }
    for (const o of m.outputs) {
      console.log(`  output ${o.name}: ${o.type} [${o.shape?.join(", ") ?? "?"}]`);
    }
    await m.release();
  }
  return 0;
}

/** The `info` command's entry point. */
export const run: (args: string[]) => Promise<number> = _info;
