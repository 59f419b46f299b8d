// Networks whose inputs and outputs are float16: the model layer rounds the float32 inputs at
// the boundary and widens the float16 output, on the native and the wasm runtime.
import assert from "node:assert/strict";
import { unless } from "./_skip.ts";
import { GraphBuilder } from "../model/onnx_graph.ts";
import { Model } from "../model/model.ts";
import { parseManifest } from "../model/manifest.ts";
import { fromHalf, toHalf } from "../lib/float16.ts";
import { Tensor } from "../lib/tensor.ts";
import { randomValues } from "./_graphs.ts";

/** out = x · t in float32 arithmetic, with float16 x, t and output. */
function halfGraph(): Uint8Array {
  const g = new GraphBuilder("half_io");
  const x = g.input("x", "float16", ["n", 3, "h", "w"]);
  const t = g.input("t", "float16", ["n"]);
  const xf = g.node("Cast", [x], { to: 1 });
  const tf = g.node("Reshape", [
    g.node("Cast", [t], { to: 1 }),
    g.constant("s", [-1, 1, 1, 1], [4]),
  ]);
  g.output(g.node("Cast", [g.node("Mul", [xf, tf])], { to: 10 }), "eps", "float16", [
    "n",
    3,
    "h",
    "w",
  ]);
  return g.toBytes();
}

const half = (v: number) => fromHalf(toHalf(v));

const { gpuAdapter } = await import("../lib/gpu.ts");
const gpu = await gpuAdapter();
const f16 = gpu?.features.has("shader-f16") ?? false;
if (!f16) {
  console.log(
    `float16 I/O on the webgpu runtime skipped: ${
      gpu
        ? "the adapter lacks shader-f16, which the WebGPU provider's float16 Cast needs"
        : "no WebGPU adapter"
    }`,
  );
}
for (const runtime of ["native", "wasm", "webgpu"] as const) {
  Deno.test({
    ...unless(
      `float16 inputs and outputs on the ${runtime} runtime: rounded at the boundary`,
      runtime === "webgpu" && !f16 &&
        (gpu
          ? "the adapter lacks shader-f16, which the WebGPU provider's float16 Cast needs"
          : "no WebGPU adapter"),
    ),
    fn: async () => {
      const manifest = parseManifest(
        { kind: "ddpm", inputs: { x: "x", t: "t" }, output: "eps", timestep: { dtype: "float32" } },
        "half.json",
      );
      const model = await Model.load({ bytes: halfGraph(), manifest, name: "half.onnx" }, {
        runtime,
      });
      assert.equal(model.inputs[0].type, "float16");
      assert.equal(
        model.onDevice,
        false,
        "zero-copy calls are float32: this network runs via the host",
      );
      const x = new Tensor([1, 3, 4, 5], randomValues(60, 3).map((v) => v * 3));
      const t = 0.3;
      const got = await model.run({ x, t });
      // the reference: x and t rounded to float16, multiplied in float32, the product rounded
      const want = x.data.map((v) => half(Math.fround(half(v) * half(t))));
      assert.deepEqual(Array.from(got.data), Array.from(want));
      // and the rounding is real: float32 arithmetic alone would differ
      assert.ok(x.data.some((v, i) => Math.abs(Math.fround(v * t) - got.data[i]) > 1e-4));
      await model.release();
    },
  });
}
