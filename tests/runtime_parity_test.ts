import assert from "node:assert/strict";
import { gpuMissing, unless } from "./_skip.ts";
import { Model } from "../model/model.ts";
import { parseManifest } from "../model/manifest.ts";
import { maxAbsDiff, Tensor } from "../lib/tensor.ts";
import { convNetGraph, randomValues } from "./_graphs.ts";
import { gpuAdapter } from "./_gpu.ts";

const manifest = parseManifest(
  { kind: "ddpm", inputs: { x: "x", t: "t" }, output: "eps" },
  "convnet",
);
const bytes = convNetGraph(16, 4);
const x = new Tensor([1, 3, 32, 32], randomValues(3 * 32 * 32, 11));

async function outputOn(runtime: "native" | "wasm" | "webgpu"): Promise<Tensor> {
  const m = await Model.load({ bytes, manifest, name: "convnet" }, { runtime, threads: 2 });
  assert.equal(m.runtime, runtime);
  const y = await m.run({ x, t: 500 });
  await m.release();
  return y;
}

Deno.test("native and wasm runtimes give the same numbers (1e-5)", async () => {
  const a = await outputOn("native");
  const b = await outputOn("wasm");
  const d = maxAbsDiff(a.data, b.data);
  assert.ok(d <= 1e-5, `native vs wasm max |d| = ${d}`);
  // and the output is not trivially zero
  assert.ok(Math.max(...a.data.map(Math.abs)) > 0.1);
});

Deno.test({
  ...unless(
    "the WebGPU runtime gives the same numbers as native (1e-5)",
    gpuMissing(gpuAdapter),
  ),
  fn: async () => {
    const a = await outputOn("native");
    const g = await outputOn("webgpu");
    const d = maxAbsDiff(a.data, g.data);
    assert.ok(d <= 1e-5, `native vs webgpu max |d| = ${d}`);
  },
});
