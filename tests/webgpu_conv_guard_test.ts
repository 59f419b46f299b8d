// The guard between models and ONNX Runtime's WebGPU provider (docs/ort_webgpu.md): one-Conv
// graphs over 1 to 14 input channels, an IR-SDE-shaped network whose first Conv takes the
// six channels [x − μ, μ] through `restore --ort webgpu --backend webgpu`, `--check-ort` and
// `info --verify --ort webgpu`, all against wasm. Nothing here knows which configurations fail:
// the tests compare the guard's report with what the provider does on this adapter.
import assert from "node:assert/strict";
import { unless } from "./_skip.ts";
import { GraphBuilder } from "../model/onnx_graph.ts";
import { createSession } from "../model/ort_runtime.ts";
import { type ConvConfig, convKey, convSites, decodeOnnx } from "../model/onnx_conv_sites.ts";
import { type ConvProber, guardWebGpuConvs } from "../model/webgpu_conv_guard.ts";
import { probeConvConfigs } from "../model/webgpu_conv_probe.ts";
import { requestGpuDevice } from "../lib/gpu.ts";
import { decodeNpy } from "../lib/npy.ts";
import { encodePng } from "../lib/png.ts";
import { gpuAdapter, noGpu } from "./_gpu.ts";
import { oneConvGraph, randomValues } from "./_graphs.ts";
import { errorLines, runCli } from "./_cli.ts";

const skip = noGpu("the WebGPU provider's Conv guard");
// probes are cached per adapter: a fresh cache makes every test probe for real
const cache = skip ? "" : await Deno.makeTempDir({ prefix: "diffrestore-probes-" });
if (cache) Deno.env.set("DIFFRESTORE_CACHE", cache);

const H = 48;
async function runOn(bytes: Uint8Array, runtime: "wasm" | "webgpu", cin: number, guard = true) {
  const s = await createSession(bytes, { runtime, threads: 1, guard });
  try {
    const x = randomValues(cin * H * H, 3);
    const out = await s.run({ x: { type: "float32", data: x, dims: [1, cin, H, H] } }, ["y"]);
    return { y: out.y.data, rewrites: s.rewrites };
  } finally {
    await s.release();
  }
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

Deno.test({
  ...unless(
    "one Conv, 1 to 14 input channels: the guarded provider matches wasm, rewrites what fails",
    skip && "no WebGPU adapter",
  ),
  sanitizeResources: false,
  async fn() {
    const device = await requestGpuDevice(gpuAdapter!);
    const failing: string[] = [];
    for (const [k, channels] of [[3, 14], [7, 10], [1, 10]] as const) {
      for (let cin = 1; cin <= channels; cin++) {
        const bytes = oneConvGraph(cin, k);
        const cpu = await runOn(bytes, "wasm", cin);
        const raw = await runOn(bytes, "webgpu", cin, false);
        const gpu = await runOn(bytes, "webgpu", cin);
        const rawDiff = maxDiff(raw.y, cpu.y), diff = maxDiff(gpu.y, cpu.y);
        assert.ok(diff < 1e-4, `k${k} cin ${cin}: guarded provider differs by ${diff}`);
        // the guard rewrites exactly the graphs the provider gets wrong as they are
        assert.equal(gpu.rewrites.length, rawDiff > 1e-3 ? 1 : 0, `k${k} cin ${cin}: ${rawDiff}`);
        if (rawDiff > 1e-3) {
          failing.push(`k${k} cin ${cin} (${rawDiff.toFixed(2)})`);
          assert.match(gpu.rewrites[0].action, /padded with zeros|split over input channels/);
        }
      }
    }
    console.log(
      `on ${gpuAdapter!.info?.description || "this adapter"}, the provider as it is ` +
        `miscomputes: ${failing.join(", ") || "none"}`,
    );
    // the probe's cache: a second probe of a known configuration gives the stored difference
    const config = {
      cin: 6,
      cout: 16,
      kernel: [3, 3] as [number, number],
      strides: [1, 1] as [number, number],
      dilations: [1, 1] as [number, number],
      group: 1,
      pads: [1, 1, 1, 1] as [number, number, number, number],
    };
    const first = await probeConvConfigs([config], device);
    const again = await probeConvConfigs([config], device);
    assert.equal(again.get(convKey(config)), first.get(convKey(config)));
    const stored = JSON.parse(await Deno.readTextFile(`${cache}/webgpu-conv-probes.json`));
    const [entry] = Object.values(stored) as Record<string, number>[];
    assert.ok(convKey(config) in entry, "the probe is cached on disk");
    device.destroy();
  },
});

Deno.test({
  ...unless(
    "--check-ort: a first call that differs from wasm stops the run with one line",
    skip && "no WebGPU adapter",
  ),
  sanitizeResources: false,
  async fn() {
    // the unguarded provider on every channel count up to 10: where it is wrong, the check says so
    for (let cin = 1; cin <= 10; cin++) {
      const bytes = oneConvGraph(cin, 3);
      const cpu = await runOn(bytes, "wasm", cin);
      const raw = await runOn(bytes, "webgpu", cin, false);
      const s = await createSession(bytes, { runtime: "webgpu", guard: false, checkOrt: true });
      const x = {
        type: "float32" as const,
        data: randomValues(cin * H * H, 3),
        dims: [1, cin, H, H],
      };
      const call = s.run({ x }, ["y"]);
      if (maxDiff(raw.y, cpu.y) > 1e-3) {
        await assert.rejects(call, /the webgpu runtime's first network call differs/);
      } else {
        assert.ok(maxDiff((await call).y.data, cpu.y) < 1e-4);
      }
      await s.release();
    }
  },
});

/** An IR-SDE-shaped network: [x − μ, μ] into a 7x7 Conv, ReLU, a 3x3 Conv back to 3 channels. */
function irsdeLike(): Uint8Array {
  const g = new GraphBuilder("irsde_like");
  const x = g.input("x", "float32", [1, 3, "h", "w"]);
  const mu = g.input("mu", "float32", [1, 3, "h", "w"]);
  g.input("t", "float32", [1]);
  const cat = g.node("Concat", [g.node("Sub", [x, mu]), mu], { axis: 1 });
  const w1 = g.constant("w1", randomValues(16 * 6 * 49, 11, 1 / Math.sqrt(6 * 49)), [16, 6, 7, 7]);
  const h = g.node("Relu", [
    g.node("Conv", [cat, w1], { kernel_shape: [7, 7], pads: [3, 3, 3, 3] }),
  ]);
  const w2 = g.constant("w2", randomValues(3 * 16 * 9, 12, 0.1 / Math.sqrt(16 * 9)), [3, 16, 3, 3]);
  const y = g.node("Conv", [h, w2], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  g.output(y, "noise", "float32", [1, 3, "h", "w"]);
  return g.toBytes();
}

Deno.test({
  ...unless(
    "an IR-SDE-shaped network through restore --ort webgpu --backend webgpu matches wasm",
    skip && "no WebGPU adapter",
  ),
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir();
    await Deno.writeFile(`${dir}/net.onnx`, irsdeLike());
    await Deno.copyFile(
      new URL("../testdata/conformance/models/tiny_irsde.json", import.meta.url).pathname,
      `${dir}/net.json`,
    );
    const px = new Float32Array(3 * 40 * 32).map((_, i) => 0.5 + 0.3 * Math.sin(i / 5));
    await Deno.writeFile(`${dir}/lq.png`, encodePng(px, 40, 32, 3));
    const restore = async (...extra: string[]) => {
      const out = `${dir}/${crypto.randomUUID()}.npy`;
      const args = [
        "restore",
        "lq.png",
        "--method",
        "irsde",
        "--model",
        "net.onnx",
        "--steps",
        "5",
      ];
      const r = await runCli([...args, "-o", out, "--json", ...extra], dir);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(errorLines(r.stderr), []);
      return { a: decodeNpy(await Deno.readFile(out)).data, json: JSON.parse(r.stdout) };
    };
    const cpu = await restore("--ort", "wasm", "--backend", "cpu");
    const gpu = await restore("--ort", "webgpu", "--backend", "webgpu", "--check-ort");
    let max = 0, sum = 0;
    for (let i = 0; i < cpu.a.length; i++) {
      const d = Math.abs(cpu.a[i] - gpu.a[i]);
      max = Math.max(max, d);
      sum += d;
    }
    assert.ok(max < 1e-3 && sum / cpu.a.length < 1e-4, `max ${max}, mean ${sum / cpu.a.length}`);
    assert.deepEqual(cpu.json.rewrites, []);
    // the six-channel 7x7 Conv is rewritten where the provider gets it wrong, and reported
    const raw = await compareRaw();
    assert.equal(gpu.json.rewrites.length, raw > 1e-3 ? 1 : 0, `raw ${raw}`);
    if (raw > 1e-3) assert.match(gpu.json.rewrites[0].config, /^cin6 cout16 k7x7/);
    const info = await runCli([
      "info",
      "--model",
      `${dir}/net.onnx`,
      "--verify",
      "--ort",
      "webgpu",
    ]);
    assert.equal(info.code, 0, info.stdout + info.stderr);
    const line = info.stdout.split("\n").find((l) => l.includes("webgpu against wasm"))!;
    assert.match(line, /generated inputs\): max \|d\| [\d.e+-]+, .*: ok$/);
    await Deno.remove(dir, { recursive: true });
  },
});

/** How far the unguarded provider is from wasm on the IR-SDE-shaped network. */
async function compareRaw(): Promise<number> {
  const bytes = irsdeLike();
  const feeds = {
    x: { type: "float32" as const, data: randomValues(3 * H * H, 1), dims: [1, 3, H, H] },
    mu: { type: "float32" as const, data: randomValues(3 * H * H, 2), dims: [1, 3, H, H] },
    t: { type: "float32" as const, data: new Float32Array([5]), dims: [1] },
  };
  const run = async (runtime: "wasm" | "webgpu") => {
    const s = await createSession(bytes, { runtime, threads: 1, guard: false });
    try {
      return (await s.run(feeds, ["noise"])).noise.data;
    } finally {
      await s.release();
    }
  };
  return maxDiff(await run("webgpu"), await run("wasm"));
}

/** A prober that fails every configuration `bad` picks, as another adapter might. */
function fakeProbe(bad: (c: ConvConfig) => boolean): ConvProber {
  return (configs) => Promise.resolve(new Map(configs.map((c) => [convKey(c), bad(c) ? 5 : 0])));
}

async function onWasm(bytes: Uint8Array, cin: number): Promise<Float32Array> {
  return (await runOn(bytes, "wasm", cin)).y;
}

Deno.test("the guard's rewrites are exact: zero pads, channel splits, float16 weights; refusal", async () => {
  const bytes = oneConvGraph(6, 3);
  const want = await onWasm(bytes, 6);
  // an adapter that fails 6 and 7 channels: padded to 8
  const padded = await guardWebGpuConvs(bytes, fakeProbe((c) => c.cin === 6 || c.cin === 7), 1e-3);
  assert.deepEqual(padded.rewrites.map((r) => r.action), [
    "input channels padded with zeros 6 → 8",
  ]);
  assert.ok(maxDiff(await onWasm(padded.bytes, 6), want) < 1e-5);
  // an adapter that fails everything above 4 channels: split 6 = 4 + 2
  const split = await guardWebGpuConvs(bytes, fakeProbe((c) => c.cin > 4), 1e-3);
  assert.deepEqual(split.rewrites.map((r) => r.action), ["split over input channels 6 = 4 + 2"]);
  assert.ok(maxDiff(await onWasm(split.bytes, 6), want) < 1e-5);
  // nothing fails: the same bytes come back
  const clean = await guardWebGpuConvs(bytes, fakeProbe(() => false), 1e-3);
  assert.equal(clean.bytes, bytes);
  assert.deepEqual(clean.rewrites, []);
  // nothing probes right: refused with one line, never run wrong
  await assert.rejects(
    guardWebGpuConvs(bytes, fakeProbe(() => true), 1e-3),
    /WebGPU provider miscomputes Conv Conv#0 \(cin6 cout16 k3x3 .*max \|d\| 5\.00 .*run it on the wasm or native runtime/,
  );
  // a float16 export's weights reach the Conv through a Cast: the site is still found
  const g = new GraphBuilder("half");
  const x = g.input("x", "float32", [1, 6, "h", "w"]);
  const w = g.node("Cast", [
    g.node("Cast", [g.constant("w", randomValues(16 * 54, 7, 0.2), [16, 6, 3, 3])], { to: 10 }),
  ], { to: 1 });
  g.output(g.node("Conv", [x, w], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }), "y", "float32", [
    1,
    16,
    "h",
    "w",
  ]);
  const sites = convSites(decodeOnnx(g.toBytes()));
  assert.deepEqual(sites.map((s) => convKey(s.config)), ["cin6 cout16 k3x3 s1x1 d1x1 g1 p1,1,1,1"]);
});
