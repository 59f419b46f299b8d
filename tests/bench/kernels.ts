// Per-kernel time on the CPU and WebGPU backends at 256² and 1024² (3 channels), and the
// DDNM per-step totals (everything but the network). Run: deno run -A tests/bench/kernels.ts
import { CpuBackend } from "../../kernels/cpu_backend.ts";
import { WebGpuBackend } from "../../kernels/webgpu_backend.ts";
import type { Backend } from "../../kernels/backend.ts";
import { GaussianNoise } from "../../lib/noise.ts";
import { Tensor } from "../../lib/tensor.ts";
import { ddnmPlusScale } from "../../operators/operator.ts";
import { buildOperator } from "../../operators/ddnm_tasks.ts";
import { ddnmBuffers, ddnmStep } from "../../samplers/ddnm.ts";
import { gpuAdapter } from "../../lib/gpu.ts";
import { randomValues } from "../_graphs.ts";
import { tilePlan } from "../../lib/tiling.ts";
import { waveletReconstruction } from "../../pipelines/color_fix.ts";

const adapter = await gpuAdapter();
const gpu = adapter ? await WebGpuBackend.create() : null;
if (!gpu) console.log("no WebGPU adapter: CPU numbers only");
else console.log(`WebGPU adapter: ${gpu.adapterName}`);

type Row = [string, (b: Backend, t: Tensor[]) => unknown];

async function time(b: Backend, f: () => unknown, reps: number): Promise<number> {
  f();
  if (b instanceof WebGpuBackend) await b.sync();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await f();
  if (b instanceof WebGpuBackend) await b.sync();
  return (performance.now() - t0) / reps;
}

for (const size of [256, 1024]) {
  const shape = [1, 3, size, size] as const;
  const n = 3 * size * size;
  const mk = (s: number) => new Tensor(shape, randomValues(n, s));
  const sr = buildOperator({ name: "sr", scale: 4 }, 3, size, size, "svd");
  const inp = buildOperator(
    { name: "inpaint" },
    3,
    size,
    size,
    "svd",
    new Uint8Array(size * size).map((_, i) => i % 3 ? 1 : 0),
  );
  // the separable operators' SVDs are O(size³) to build (≈ 30 s and 80 s at 1024), so 256 only
  const separable = size === 256;
  const blur = separable
    ? buildOperator({ name: "deblur", kernel: "aniso" }, 3, size, size, "svd")
    : sr;
  const bic = separable
    ? buildOperator({ name: "sr-bicubic", scale: 4 }, 3, size, size, "svd")
    : sr;
  const cs = buildOperator({ name: "cs", ratio: 4 }, 3, size, size, "svd");
  const csBlock = buildOperator({ name: "cs-block", ratio: 4 }, 3, size, size, "svd");
  const y = sr.A(randomValues(n, 9)), yi = inp.A(randomValues(n, 8));
  const yb = blur.A(randomValues(n, 7)), yc = bic.A(randomValues(n, 6));
  const ycs = cs.A(randomValues(n, 5)), ycb = csBlock.A(randomValues(n, 3));
  // DiffBIR-style latent tiling of this size: 64-pixel tiles at stride 32
  const plan = tilePlan(size, size, 64, 32);
  const tileOut = new Tensor([1, 3, plan.th, plan.tw], randomValues(3 * plan.th * plan.tw, 4));
  const scale = ddnmPlusScale({ a: 0.7, sigmaT: 0.7, sigmaY: 0.2, eta: 0.85 });
  const reps = size === 256 ? 20 : 5;
  console.log(`\n${size}x${size}x3            cpu ms   webgpu ms`);
  const rows: Row[] = [
    ["combine (3 terms)", (b, [x, a, c]) => b.combine(x, [[0.5, x], [0.3, a], [0.2, c]])],
    ["randn (Philox)", (b, [x]) => b.randn(x, new GaussianNoise(1))],
    ["project sr x4", (b, [x, a]) => b.project(sr, x, y, null, a)],
    ["Λ-noise sr x4", (b, [x, a, c]) => b.lambdaNoise(sr, x, a, scale, false, c)],
    ["project inpaint", (b, [x, a]) => b.project(inp, x, yi, null, a)],
    ...(separable
      ? [
        ["project deblur aniso", (b, [x, a]) => b.project(blur, x, yb, null, a)],
        ["project sr-bicubic x4", (b, [x, a]) => b.project(bic, x, yc, null, a)],
      ] as Row[]
      : []),
    ["project cs (WHT) /4", (b, [x, a]) => b.project(cs, x, ycs, null, a)],
    // on WebGPU this one runs on the CPU (counted as a fallback)
    ["project cs-block /4", (b, [x, a]) => b.project(csBlock, x, ycb, null, a)],
    ["blend", (b, [x, a, c]) => b.blend(x, c, a, x)],
    [`tile blend (${plan.origins.length} tiles)`, (b, [x]) => {
      for (const o of plan.origins) {
        b.crop(Tensor.zeros(tileOut.shape), x, o.y, o.x);
        b.accumulate(x, tileOut, plan.weights, o.y, o.x);
      }
      return b.mulMap(x, x, plan.inverseWeightSum);
    }],
    ["wavelet colour fix", (b, [x, a]) => waveletReconstruction(x, a, b)],
  ];
  for (const [name, f] of rows) {
    const cpuT = await time(
      new CpuBackend(),
      ((t) => () => f(new CpuBackend(), t))([mk(1), mk(2), mk(3)]),
      reps,
    );
    let gpuT = NaN;
    if (gpu) {
      const t = [mk(1), mk(2), mk(3)];
      gpuT = await time(gpu, () => f(gpu, t), reps);
    }
    console.log(
      `${name.padEnd(24)} ${cpuT.toFixed(2).padStart(8)} ${gpuT.toFixed(2).padStart(10)}`,
    );
  }
  // a whole DDNM+ step without the network
  for (
    const b of [new CpuBackend(), gpu].filter((x): x is CpuBackend | WebGpuBackend => x !== null)
  ) {
    const buf = ddnmBuffers(shape), x = mk(4), eps = mk(5), noise = new GaussianNoise(2);
    const ms = await time(b, async () => {
      b.randn(buf.z, noise);
      await ddnmStep(b, sr, y, x, eps, { abT: 0.5, abS: 0.6 }, {
        eta: 0.85,
        sigmaY: 0.1,
        variant: "svd",
        fixedLambdaNoise: false,
      }, buf);
    }, reps);
    console.log(`${`DDNM+ step (${b.name})`.padEnd(24)} ${ms.toFixed(2).padStart(8)}`);
  }
}
