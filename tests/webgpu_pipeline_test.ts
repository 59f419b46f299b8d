// Whole runs on the WebGPU backend: conformance with both ONNX runtimes, and the zero-copy
// promise (no host↔device tensor transfer between the first and the last step).
import assert from "node:assert/strict";
import { unless } from "./_skip.ts";
import { WebGpuBackend } from "../kernels/webgpu_backend.ts";
import { restoreDdnm } from "../pipelines/restore_ddnm.ts";
import { restoreIrsde } from "../pipelines/restore_irsde.ts";
import { restoreDiffbir } from "../pipelines/restore_diffbir.ts";
import { Tensor } from "../lib/tensor.ts";
import { decodeNpy } from "../lib/npy.ts";
import { runCli } from "./_cli.ts";
import { noGpu } from "./_gpu.ts";
import { randomValues, writeDiffbirStandIns } from "./_graphs.ts";

const skip = noGpu("WebGPU pipeline tests");
const ROOT = new URL("../testdata/conformance/", import.meta.url).pathname;

Deno.test({
  ...unless(
    "conformance cases with --backend webgpu (native and WebGPU ONNX runtimes)",
    skip && "no WebGPU adapter",
  ),
  fn: async () => {
    for (
      const name of ["ddnm_sr4", "ddnm_inpaint_travel", "irsde_sde", "diffbir_spaced_cfg_guidance"]
    ) {
      const spec = JSON.parse(await Deno.readTextFile(`${ROOT}${name}/case.json`));
      const args: string[] = spec.cli.map((a: string) => a.replace("MODELS", `${ROOT}models`));
      for (const ort of ["native", "webgpu"]) {
        const out = await Deno.makeTempFile({ suffix: ".npy" });
        const r = await runCli([
          "restore",
          "lq.png",
          "-o",
          out,
          ...args,
          "--backend",
          "webgpu",
          "--ort",
          ort,
          "--quiet",
        ], `${ROOT}${name}`);
        assert.equal(r.code, 0, r.stderr);
        const got = decodeNpy(await Deno.readFile(out)).data,
          ref = decodeNpy(await Deno.readFile(`${ROOT}${name}/ref.npy`)).data;
        let max = 0;
        for (let i = 0; i < ref.length; i++) max = Math.max(max, Math.abs(got[i] - ref[i]));
        assert.ok(max <= 2e-4, `${name} --ort ${ort}: max |d| ${max}`);
      }
    }
  },
});

Deno.test({
  ...unless(
    "--ort webgpu --backend webgpu: zero host↔device transfers between the first and the last step",
    skip && "no WebGPU adapter",
  ),
  fn: async () => {
    const gpu = await WebGpuBackend.create();
    const lr = new Tensor([1, 3, 16, 16], randomValues(768, 1).map((v) => 0.5 + 0.3 * v));
    for (
      const [task, sigmaY] of [[{ name: "sr", scale: 4 }, 0], [{ name: "colorize" }, 0.05]] as const
    ) {
      const snapshots: { step: number; uploads: number; downloads: number; fallbacks: number }[] =
        [];
      const steps = 12;
      const r = await restoreDdnm(
        task.name === "colorize" ? new Tensor([1, 1, 16, 16], lr.data.slice(0, 256)) : lr,
        {
          task,
          model: `${ROOT}models/tiny_eps.onnx`,
          runtime: "webgpu",
          backend: gpu,
          steps,
          sigmaY,
          seed: 3,
          onProgress: (p) => snapshots.push({ step: p.step, ...gpu.stats }),
        },
      );
      assert.equal(r.runtime, "webgpu");
      const first = snapshots[0], last = snapshots[steps - 1];
      assert.equal(last.uploads - first.uploads, 0, `${task.name}: uploads during the run`);
      assert.equal(last.downloads - first.downloads, 0, `${task.name}: downloads during the run`);
      assert.equal(last.fallbacks, first.fallbacks, `${task.name}: CPU fallbacks during the run`);
      assert.ok(r.image.data.every(Number.isFinite));
    }
    // the same holds for IR-SDE
    const snapshots: number[] = [];
    await restoreIrsde(new Tensor([1, 3, 16, 16], randomValues(768, 2).map((v) => 0.5 + 0.2 * v)), {
      model: `${ROOT}models/tiny_irsde.onnx`,
      runtime: "webgpu",
      backend: gpu,
      steps: 10,
      solver: "posterior",
      onProgress: () => snapshots.push(gpu.stats.uploads + gpu.stats.downloads),
    });
    assert.equal(snapshots.at(-1), snapshots[0]);
  },
});

Deno.test({
  ...unless(
    "WebGPU and CPU backends give the same restoration for the same seed",
    skip && "no WebGPU adapter",
  ),
  fn: async () => {
    const lr = new Tensor([1, 3, 16, 16], randomValues(768, 4).map((v) => 0.5 + 0.3 * v));
    const opts = {
      task: { name: "sr" as const, scale: 2 },
      steps: 20,
      seed: 9,
      model: `${ROOT}models/tiny_eps.onnx`,
      runtime: "native" as const,
    };
    const gpuBackend = await WebGpuBackend.create();
    // the main loop, hq_demo's sampler with RePaint jumps and DDNM+'s λ, γ, and a warm start
    // averaging two samples
    for (
      const extra of [
        {},
        { sampler: "hq-demo" as const, travelLength: 5, sigmaY: 0.05 },
        { warmStart: 0.4, samples: 2 },
      ]
    ) {
      const cpu = await restoreDdnm(lr, { ...opts, ...extra });
      const gpu = await restoreDdnm(lr, { ...opts, ...extra, backend: gpuBackend });
      let max = 0;
      for (let i = 0; i < cpu.image.size; i++) {
        max = Math.max(max, Math.abs(cpu.image.data[i] - gpu.image.data[i]));
      }
      assert.ok(max < 2e-4, `cpu vs webgpu ${JSON.stringify(extra)}: ${max}`);
    }
  },
});

Deno.test({
  ...unless(
    "DiffBIR with CFG, whole, tiled and EDM: zero transfers between steps on WebGPU, the CPU's numbers",
    skip && "no WebGPU adapter",
  ),
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const model = await writeDiffbirStandIns(dir);
    const lq = new Tensor([1, 3, 48, 40], randomValues(3 * 48 * 40, 5).map((v) => 0.5 + 0.3 * v));
    const gpu = await WebGpuBackend.create();
    const runs = [
      { tile: undefined, sampler: { name: "spaced" } as const },
      { tile: { size: 32, stride: 16 }, sampler: { name: "spaced" } as const },
      { tile: undefined, sampler: { name: "edm", solver: "dpm++_3m_sde" } as const },
    ];
    for (const { tile, sampler } of runs) {
      const opts = {
        sampler,
        model,
        steps: 6,
        seed: 4,
        cfg: 3,
        context: { data: randomValues(8, 6), dims: [1, 8] },
        negativeContext: { data: randomValues(8, 7), dims: [1, 8] },
        tile,
      };
      const what = `${sampler.name} ${tile ? "tiled" : "whole"}`;
      const snapshots: number[] = [];
      const onGpu = await restoreDiffbir(lq, {
        ...opts,
        runtime: "webgpu",
        backend: gpu,
        onProgress: () =>
          snapshots.push(gpu.stats.uploads + gpu.stats.downloads + gpu.stats.fallbacks),
      });
      assert.equal(onGpu.runtime, "webgpu");
      assert.equal(snapshots.length, 6);
      assert.equal(snapshots.at(-1), snapshots[0], `${what}: no transfer or fallback in steps 1-6`);
      const onCpu = await restoreDiffbir(lq, { ...opts, runtime: "native" });
      let max = 0;
      for (let i = 0; i < onCpu.image.size; i++) {
        max = Math.max(max, Math.abs(onCpu.image.data[i] - onGpu.image.data[i]));
      }
      // relative: the stand-in is no denoiser, so EDM's c_out = −σ_0 = −1e4 leaves huge values
      const scale = Math.max(1, ...onCpu.image.data.map(Math.abs));
      assert.ok(max < 5e-6 * scale, `${what}: max |cpu − gpu| = ${max} of ${scale}`);
    }
    await Deno.remove(dir, { recursive: true });
  },
});
