// Per-call time of a 4-conv 64-channel network at 128x128 on each runtime, and the model
// layer's overhead against the runtime's bare run(). Run: deno run -A tests/bench/model_layer.ts
import * as ortNode from "onnxruntime-node";
import * as ortWeb from "onnxruntime-web";
import { Model } from "../../model/model.ts";
import { parseManifest } from "../../model/manifest.ts";
import { Tensor } from "../../lib/tensor.ts";
import { convNetGraph, randomValues } from "../_graphs.ts";

const REPS = Number(Deno.env.get("REPS") ?? 30);
const bytes = convNetGraph(64, 4);
const manifest = parseManifest(
  { kind: "ddpm", inputs: { x: "x", t: "t" }, output: "eps" },
  "conv4x64",
);
const x = new Tensor([1, 3, 128, 128], randomValues(3 * 128 * 128, 5));
const threads = navigator.hardwareConcurrency;

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

type Ort = typeof ortWeb;
async function bare(ort: Ort, options: Record<string, unknown>): Promise<number[]> {
  const s = await ort.InferenceSession.create(bytes, options);
  const times: number[] = [];
  for (let i = 0; i < REPS + 3; i++) {
    const t0 = performance.now();
    const feeds = {
      x: new ort.Tensor("float32", x.data, [1, 3, 128, 128]),
      t: new ort.Tensor("float32", new Float32Array([500]), [1]),
    };
    const out = await s.run(feeds);
    if (!(out.eps.data instanceof Float32Array)) throw new Error("bad output");
    if (i >= 3) times.push(performance.now() - t0);
  }
  await s.release();
  return times;
}

const ownShare: Record<string, number> = {};
async function wrapped(runtime: "native" | "wasm" | "webgpu"): Promise<number[]> {
  const m = await Model.load({ bytes, manifest, name: "conv4x64" }, { runtime, threads });
  const times: number[] = [];
  for (let i = 0; i < REPS + 3; i++) {
    const t0 = performance.now();
    await m.run({ x, t: 500 });
    if (i >= 3) times.push(performance.now() - t0);
  }
  // the wrapper's own time (feeds, shape and NaN checks, split) against the runtime's run()
  ownShare[runtime] = m.stats.wrapperMs / m.stats.runMs;
  await m.release();
  return times;
}

console.log(
  `4 x Conv3x3(64) at 128x128, ${REPS} calls each, ${threads} threads, median ms per call`,
);
const rows: [string, number, number][] = [];
rows.push([
  "native (onnxruntime-node)",
  median(
    await bare(ortNode as unknown as Ort, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: "all",
    }),
  ),
  median(await wrapped("native")),
]);
ortWeb.env.wasm.numThreads = threads;
rows.push([
  "wasm (onnxruntime-web)",
  median(await bare(ortWeb, { executionProviders: ["wasm"], graphOptimizationLevel: "all" })),
  median(await wrapped("wasm")),
]);
const adapter = await navigator.gpu?.requestAdapter();
if (adapter && Deno.env.get("SKIP_WEBGPU") !== "1") {
  rows.push(["webgpu (onnxruntime-web/webgpu)", NaN, median(await wrapped("webgpu"))]);
} else console.log("webgpu: no adapter, skipped");
for (const [name, b, w] of rows) {
  const key = name.split(" ")[0];
  const over =
    (Number.isNaN(b) ? "" : `  wall-clock difference ${(((w - b) / b) * 100).toFixed(1)}%`) +
    `  wrapper's own time ${(ownShare[key] * 100).toFixed(2)}% of run()`;
  console.log(
    `${name.padEnd(34)} bare ${
      Number.isNaN(b) ? "  -   " : b.toFixed(2).padStart(6)
    }  model layer ${w.toFixed(2).padStart(7)}${over}`,
  );
}
