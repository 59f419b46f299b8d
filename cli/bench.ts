/**
 * `bench`: time a sampler on the user's own model and machine, separating the network's time
 * from the sampler's own.
 *
 * @module
 */

import { numberFlag, parseFlags, UsageError } from "./args.ts";
import { Tensor } from "../lib/tensor.ts";
import { GaussianNoise } from "../lib/noise.ts";
import { DEFAULT_IRSDE_MODEL, DEFAULT_MODEL, loadModel } from "../model/builtin_models.ts";
import type { OrtChoice } from "../model/ort_runtime.ts";
import { restoreDdnm } from "../pipelines/restore_ddnm.ts";
import { restoreIrsde } from "../pipelines/restore_irsde.ts";
import { chooseBackend } from "../kernels/choose_backend.ts";

const _HELP = `usage: deno run -A cli.ts bench [--method ddnm|irsde] [--model F.onnx] [--size 256]
       [--steps 20 (IR-SDE: its network's T)] [--repeat 3] [--backend cpu|webgpu]
       [--ort auto|native|wasm|webgpu] [--threads N]

Runs the sampler on a random observation (DDNM: SR x4 at --size output; IR-SDE: --size image)
and prints, per run, the wall time, the network's time and the sampler's own time per step.

examples:
  deno run -A cli.ts bench --steps 50
  deno run -A cli.ts bench --method ddnm --model 256x256_diffusion_uncond.onnx --size 256 \\
    --ort native`;

async function _bench(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    help: { type: "boolean", short: "h" },
    method: { type: "string" },
    model: { type: "string" },
    size: { type: "string" },
    steps: { type: "string" },
    repeat: { type: "string" },
    backend: { type: "string" },
    ort: { type: "string" },
    threads: { type: "string" },
  }, "bench");
  if (values.help) {
    console.log(_HELP);
    return 0;
  }
  const method = typeof values.method === "string" ? values.method : "ddnm";
  if (method !== "ddnm" && method !== "irsde") {
    throw new UsageError(`bench --method must be ddnm or irsde, got '${method}'`);
  }
  const size = numberFlag(values, "size", 256, { integer: true, min: 8 });
  const stepsFlag = numberFlag(values, "steps", undefined, { integer: true, min: 1, max: 1000 });
  const repeat = numberFlag(values, "repeat", 3, { integer: true, min: 1 });
  const runtime = (typeof values.ort === "string" ? values.ort : "auto") as OrtChoice;
  const backendName = typeof values.backend === "string" ? values.backend : "cpu";
  if (backendName !== "cpu" && backendName !== "webgpu") {
    throw new UsageError(`--backend must be cpu or webgpu`);
  }
  const backend = await chooseBackend(backendName, (m) => console.error(`note: ${m}`));
  const threads = numberFlag(values, "threads", undefined, { integer: true, min: 1 });
  const spec = typeof values.model === "string"
    ? values.model
    : method === "irsde"
    ? DEFAULT_IRSDE_MODEL
    : DEFAULT_MODEL;
  const t0 = performance.now();
  const model = await loadModel(spec, {
    runtime,
    threads,
    onNote: (m) => console.error(`note: ${m}`),
  });
  const loadMs = performance.now() - t0;
  // IR-SDE's default is the T its network was trained with
  const steps = stepsFlag ?? (method === "irsde" ? model.manifest.sde?.T ?? 100 : 20);
  const side = model.manifest.size?.[0] ?? size;
  const lr = new Tensor([
    1,
    3,
    side / (method === "ddnm" ? 4 : 1),
    side / (method === "ddnm" ? 4 : 1),
  ], new Float32Array(3 * (side / (method === "ddnm" ? 4 : 1)) ** 2));
  new GaussianNoise(1).fill(lr.data);
  for (let i = 0; i < lr.size; i++) lr.data[i] = 0.5 + 0.1 * lr.data[i];
  console.log(
    `${method} on ${model.name} (${model.runtime} runtime, ${backend.name} backend), ${side}x${side}, ${steps} steps; session created in ${
      loadMs.toFixed(0)
    } ms`,
  );
  for (let r = 0; r < repeat; r++) {
    const before = { ...model.stats };
    const s0 = performance.now();
    if (method === "ddnm") {
      await restoreDdnm(lr, { task: { name: "sr", scale: 4 }, model, steps, seed: r, backend });
    } else {
      await restoreIrsde(lr, { model, steps, seed: r, backend });
    }
    const wall = performance.now() - s0;
    const calls = model.stats.calls - before.calls;
    const net = model.stats.runMs - before.runMs;
    console.log(
      `run ${r + 1}: ${(wall / 1000).toFixed(2)} s, network ${(net / calls).toFixed(1)} ms/call, ` +
        `sampler and model layer ${((wall - net) / steps).toFixed(2)} ms/step (${
          (((wall - net) / wall) * 100).toFixed(1)
        } %)`,
    );
  }
  await model.release();
  return 0;
}

/** The `bench` command's entry point. */
export const run: (args: string[]) => Promise<number> = _bench;

/** The library options this command's flags set, to name the flag in an error about one. */
export const OPTION_FLAGS: Readonly<Record<string, string>> = {
  model: "--model",
  steps: "--steps",
  runtime: "--ort",
  threads: "--threads",
  backend: "--backend",
};
