// The data of docs/ort_webgpu.md's bug report: one Conv node (3x3 or 7x7 or 1x1, pads to keep
// the size, 16 outputs, float32, 48x48) run by ONNX Runtime Web's WebGPU provider and by its wasm
// provider on the same input, for 1 to 16 input channels, with the versions and the adapter.
// `--out DIR` also writes the failing case (6 channels, 3x3) as files to attach: the graph, its
// input and both outputs (.npy).
// Run: deno run -A tests/bench/ort_webgpu_conv.ts [--out DIR]
import { ortModule, type OrtTensorApi } from "../../model/ort_modules.ts";
import { adapterName, gpuAdapter, requestGpuDevice } from "../../lib/gpu.ts";
import { encodeNpy } from "../../lib/npy.ts";
import { oneConvGraph, randomValues as values } from "../_graphs.ts";

const adapter = await gpuAdapter();
if (!adapter) {
  console.log("no WebGPU adapter here: nothing to measure (install mesa-vulkan-drivers)");
  Deno.exit(0);
}
const device = await requestGpuDevice(adapter);
const H = 48;

async function run(runtime: "webgpu" | "wasm", bytes: Uint8Array, x: Float32Array, cin: number) {
  const ort = await ortModule(runtime);
  ort.env.wasm.numThreads = 1;
  const s = await ort.InferenceSession.create(bytes, {
    executionProviders: runtime === "webgpu" ? [{ name: "webgpu", device }] : ["wasm"],
  });
  const feeds: Record<string, OrtTensorApi> = { x: new ort.Tensor("float32", x, [1, cin, H, H]) };
  const y = (await s.run(feeds)).y.data as Float32Array;
  await s.release();
  return y;
}

const web = await ortModule("webgpu") as unknown as { env: { versions?: { web?: string } } };
console.log(
  `Deno ${Deno.version.deno} (V8 ${Deno.version.v8}), onnxruntime-web ${web.env.versions?.web}, ` +
    `adapter: ${adapterName(adapter)}`,
);
for (const k of [3, 7, 1]) {
  const cells: string[] = [];
  for (let cin = 1; cin <= 16; cin++) {
    const bytes = oneConvGraph(cin, k, H), x = values(cin * H * H, 3, 1);
    const [a, b] = [await run("webgpu", bytes, x, cin), await run("wasm", bytes, x, cin)];
    let max = 0;
    for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
    cells.push(`${cin}: ${max.toExponential(1)}`);
  }
  console.log(`${k}x${k} kernel, max |webgpu − wasm| by input channels: ${cells.join(", ")}`);
}
const x = values(6 * H * H, 3, 1), bytes = oneConvGraph(6, 3, H);
const [a, b] = [await run("webgpu", bytes, x, 6), await run("wasm", bytes, x, 6)];
const show = (v: Float32Array) => [...v.subarray(0, 6)].map((u) => u.toFixed(4)).join(", ");
console.log(`6 channels, 3x3, y[0, 0, 0, 0:6]: webgpu ${show(a)}; wasm ${show(b)}`);
const at = H * H * 5 + H * 20 + 20;
console.log(`y[0, 5, 20, 20:26]: webgpu ${show(a.subarray(at))}; wasm ${show(b.subarray(at))}`);
const out = Deno.args[0] === "--out" ? Deno.args[1] : null;
if (out) {
  await Deno.mkdir(out, { recursive: true });
  await Deno.writeFile(`${out}/conv_6ch_3x3.onnx`, bytes);
  await Deno.writeFile(`${out}/x.npy`, encodeNpy([1, 6, H, H], x));
  await Deno.writeFile(`${out}/y_webgpu.npy`, encodeNpy([1, 16, H, H], a));
  await Deno.writeFile(`${out}/y_wasm.npy`, encodeNpy([1, 16, H, H], b));
  console.log(`wrote ${out}/conv_6ch_3x3.onnx, x.npy, y_webgpu.npy, y_wasm.npy`);
}
device.destroy();
Deno.exit(0);
