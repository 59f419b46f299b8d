// The trained built-in networks (model/builtin/, made by tools/train/): their files match their
// pedigree, the ONNX graphs reproduce PyTorch, they denoise, and DDNM runs with them on every
// backend and runtime.
import assert from "node:assert/strict";
import { gpuMissing, unless } from "./_skip.ts";
import { createHash } from "node:crypto";
import { BUILTIN_MODELS, loadModel } from "../model/builtin_models.ts";
import { readNpyFile } from "../lib/npy.ts";
import { maxAbsDiff, Tensor } from "../lib/tensor.ts";
import { imageToTensor, readImage } from "../lib/image.ts";
import { restoreDdnm } from "../pipelines/restore_ddnm.ts";
import { psnr } from "../lib/metrics.ts";
import { gpuAdapter } from "./_gpu.ts";
import { WebGpuBackend } from "../kernels/webgpu_backend.ts";
import type { OrtChoice } from "../model/ort_modules.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const SHIPPED = [["unet", "unet"], ["unet-edge", "unet_edge"]] as const;
const SHIPPED_IRSDE = [["irsde", "irsde"]] as const;
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

Deno.test("shipped networks: file, manifest and pedigree agree", async () => {
  const dataList = sha256(await Deno.readFile(`${ROOT}tools/train/data_list.json`));
  for (const [name, file] of [...SHIPPED, ...SHIPPED_IRSDE]) {
    const manifest = JSON.parse(await Deno.readTextFile(`${ROOT}model/builtin/${file}.json`));
    const onnx = await Deno.readFile(`${ROOT}model/builtin/${file}.onnx`);
    assert.equal(sha256(onnx), manifest.sha256, `${name}: the file's SHA-256`);
    // `info` shows it; export_builtin.py writes the --description it is given (reproduce.py's)
    assert.match(
      manifest.description,
      /^trained .+ \([\d.]+ M parameters\)$/,
      `${name}: description`,
    );
    const t = manifest.training;
    assert.equal(t.sha256, manifest.sha256);
    assert.equal(t.dataListSha256, dataList, `${name}: trained on tools/train/data_list.json`);
    assert.match(t.command, /^python3 tools\/train\/train\.py .*--iters (\d+) --seed (\d+)/);
    // one command per stage: the iterations add up
    const iters = [...t.command.matchAll(/--iters (\d+)/g)].map((m: string[]) => Number(m[1]));
    assert.equal(iters.reduce((a: number, b: number) => a + b, 0), t.iterations);
    assert.ok(t.minutes > 0 && t.parameters > 0);
    assert.equal(BUILTIN_MODELS[name].manifest.defaults.steps, manifest.defaults.steps);
  }
});

Deno.test("shipped networks: ONNX on native and wasm reproduces PyTorch at an odd size", async () => {
  for (const [name, file] of SHIPPED) {
    const x = await readNpyFile(`${ROOT}testdata/builtin/${file}.probe.x.npy`);
    const expected = await readNpyFile(`${ROOT}testdata/builtin/${file}.probe.eps.npy`);
    assert.deepEqual(x.shape, [1, 3, 23, 37]);
    for (const runtime of ["native", "wasm"] as const) {
      const model = await loadModel(`builtin:${name}`, { runtime });
      const eps = await model.run({ x: new Tensor([1, 3, 23, 37], x.data), t: 400 });
      const d = maxAbsDiff(eps.data, expected.data);
      assert.ok(d < 1e-4, `${name} on ${runtime}: max |ONNX − PyTorch| = ${d}`);
      await model.release();
    }
  }
});

Deno.test("shipped IR-SDE networks: ONNX on native and wasm reproduces PyTorch at an odd size", async () => {
  for (const [name, file] of SHIPPED_IRSDE) {
    const probe = (role: string) =>
      readNpyFile(`${ROOT}testdata/builtin/${file}.probe.${role}.npy`);
    const [x, mu, t, expected] = await Promise.all(["x", "mu", "t", "noise"].map(probe));
    const shape = x.shape as [number, number, number, number];
    assert.deepEqual(shape, [1, 3, 23, 37]);
    for (const runtime of ["native", "wasm"] as const) {
      const model = await loadModel(`builtin:${name}`, { runtime });
      const noise = await model.run({
        x: new Tensor(shape, x.data),
        mu: new Tensor(shape, mu.data),
        t: t.data[0],
      });
      const d = maxAbsDiff(noise.data, expected.data);
      assert.ok(d < 1e-3, `${name} on ${runtime}: max |ONNX − PyTorch| = ${d}`);
      assert.equal(model.manifest.sde?.T, BUILTIN_MODELS[name].manifest.sde?.T);
      await model.release();
    }
  }
});

// the x0 estimate (x_t − √(1−ā) ε)/√ā at the step whose noise is 25/255 in [0,1] units
async function denoisePsnr(spec: string, clean: Tensor): Promise<number> {
  let ab = 1, t = 0;
  for (; t < 1000; t++) {
    ab *= 1 - (1e-4 + ((0.02 - 1e-4) * t) / 999);
    if (Math.sqrt((1 - ab) / ab) >= 2 * 25 / 255) break;
  }
  const s = Math.sqrt(ab), r = Math.sqrt(1 - ab);
  let seed = 7;
  const u = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  const xt = clean.map((v) =>
    s * (2 * v - 1) + r * Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u())
  );
  const model = await loadModel(spec, { runtime: "native" });
  const eps = await model.run({ x: xt, t });
  await model.release();
  return psnr(
    new Tensor(xt.shape, xt.data.map((v, i) => ((v - r * eps.data[i]) / s + 1) / 2)),
    clean,
  );
}

Deno.test("shipped networks denoise a held-out photo far better than the Gaussian prior", async () => {
  const clean = imageToTensor(await readImage(`${ROOT}assets/rocket_256.png`), 3);
  const gaussian = await denoisePsnr("builtin:gaussian", clean);
  for (const [name] of SHIPPED) {
    const p = await denoisePsnr(`builtin:${name}`, clean);
    // the noisy input is at 20.2 dB; the exact MMSE of a stationary Gaussian prior is the floor
    assert.ok(
      p > gaussian + 1,
      `${name}: ${p.toFixed(2)} dB, Gaussian prior ${gaussian.toFixed(2)}`,
    );
  }
});

Deno.test({
  ...unless(
    "DDNM with the edge network: WebGPU backend and runtime agree with the CPU",
    gpuMissing(gpuAdapter),
  ),
  fn: async () => {
    const clean = imageToTensor(await readImage(`${ROOT}assets/rocket_256.png`), 3);
    const small = new Tensor([1, 3, 32, 32], new Float32Array(3 * 32 * 32));
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < 32; i++) {
        for (let j = 0; j < 32; j++) {
          small.data[(c * 32 + i) * 32 + j] = clean.data[(c * 256 + 100 + i) * 256 + 100 + j];
        }
      }
    }
    const gpu = await WebGpuBackend.create();
    const run = (backend: WebGpuBackend | undefined, runtime: OrtChoice) =>
      restoreDdnm(small, {
        task: { name: "sr-bicubic", scale: 2 },
        model: "builtin:unet-edge",
        steps: 5,
        warmStart: 1, // every step from noise, one sample: not the preview's defaults
        samples: 1,
        seed: 3,
        backend,
        runtime,
      });
    const cpu = await run(undefined, "native");
    for (const runtime of ["native", "wasm", "webgpu"] as const) {
      const r = await run(gpu, runtime);
      const d = maxAbsDiff(r.image.data, cpu.image.data);
      assert.ok(d < 2e-3, `webgpu backend, ${runtime} runtime: max |Δ| = ${d}`);
    }
  },
});
