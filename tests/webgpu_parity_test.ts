// Every WebGPU kernel against the CPU backend on random inputs (1e-5); skipped, with a printed
// reason, when the machine has no WebGPU adapter.
import assert from "node:assert/strict";
import { unless } from "./_skip.ts";
import { CpuBackend } from "../kernels/cpu_backend.ts";
import { WebGpuBackend } from "../kernels/webgpu_backend.ts";
import type { Backend } from "../kernels/backend.ts";
import { ArrayNoise, GaussianNoise } from "../lib/noise.ts";
import { Tensor } from "../lib/tensor.ts";
import { ddnmPlusScale, type DegradationOperator } from "../operators/operator.ts";
import { buildOperator } from "../operators/ddnm_tasks.ts";
import { tilePlan } from "../lib/tiling.ts";
import { waveletReconstruction } from "../pipelines/color_fix.ts";
import { noGpu } from "./_gpu.ts";
import { randomValues } from "./_graphs.ts";

const skip = noGpu("WebGPU kernel parity tests");
const gpu = skip ? null : await WebGpuBackend.create();
const cpu = new CpuBackend();
const shape = [1, 3, 32, 48] as const;
const rnd = (seed: number, s: readonly [number, number, number, number] = shape) =>
  new Tensor(s, randomValues(s[0] * s[1] * s[2] * s[3], seed));

async function maxDiff(a: Tensor, b: Tensor): Promise<number> {
  await gpu!.read(b);
  let m = 0;
  for (let i = 0; i < a.size; i++) m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
  return m;
}

/** Run `f` on each backend with fresh copies of the inputs; compare the outputs. */
async function parity(
  name: string,
  inputs: Tensor[],
  f: (b: Backend, t: Tensor[]) => Promise<Tensor> | Tensor,
  tol = 1e-5,
) {
  const c = await f(cpu, inputs.map((t) => t.clone()));
  const g = await f(gpu!, inputs.map((t) => t.clone()));
  const d = await maxDiff(c, g);
  assert.ok(d <= tol, `${name}: max |cpu − gpu| = ${d}`);
}

Deno.test({
  ...unless(
    "WebGPU parity: combine with 1 to 6 terms, in place and aliased",
    skip && "no WebGPU adapter",
  ),
  fn: async () => {
    for (let k = 1; k <= 6; k++) {
      const ins = Array.from({ length: k }, (_, i) => rnd(10 + i));
      await parity(
        `combine ${k}`,
        ins,
        (b, t) => b.combine(Tensor.zeros(shape), t.map((x, i) => [0.5 - 0.3 * i, x] as const)),
      );
      await parity(`combine ${k} aliased`, ins, (b, t) =>
        b.combine(
          t[0],
          t.map((x, i) => [1.5 - 0.2 * i, x] as const),
        ));
    }
  },
});

Deno.test({
  ...unless(
    "WebGPU parity: the seeded generator gives the CPU's values at any offset",
    skip && "no WebGPU adapter",
  ),
  fn: async () => {
    for (const [seed, offset] of [[0, 0], [7, 3], [123, 2 ** 33 + 5], [2 ** 40 + 1, 1e6 + 1]]) {
      const c = Tensor.zeros([1, 3, 64, 64]), g = Tensor.zeros([1, 3, 64, 64]);
      const sc = new GaussianNoise(seed, 0, offset), sg = new GaussianNoise(seed, 0, offset);
      cpu.randn(c, sc);
      gpu!.randn(g, sg);
      assert.equal(sg.drawn, sc.drawn);
      const d = await maxDiff(c, g);
      assert.ok(d <= 1e-5, `seed ${seed} offset ${offset}: ${d}`);
    }
    // recorded draws are uploaded as they are
    const vals = randomValues(4608, 3);
    const g = gpu!.randn(Tensor.zeros([1, 3, 32, 48]), new ArrayNoise(vals, "rec"));
    await gpu!.read(g);
    assert.deepEqual(g.data, vals);
  },
});

Deno.test({
  ...unless(
    "WebGPU parity: DDNM projections and Λ-noise, kernels and CPU fallbacks",
    skip && "no WebGPU adapter",
  ),
  fn: async () => {
    const mask = new Uint8Array(32 * 48).map((_, i) => (i % 7 < 4 ? 1 : 0));
    const ops: DegradationOperator[] = [
      buildOperator({ name: "sr", scale: 2 }, 3, 32, 48, "svd"),
      buildOperator({ name: "sr", scale: 4 }, 3, 32, 48, "svd"),
      buildOperator({ name: "sr", scale: 8 }, 3, 32, 48, "svd"),
      buildOperator({ name: "colorize" }, 3, 32, 48, "svd"),
      buildOperator({ name: "inpaint" }, 3, 32, 48, "svd", mask),
      buildOperator({ name: "denoise" }, 3, 32, 48, "svd"),
      buildOperator({ name: "deblur", kernel: "gauss" }, 3, 32, 48, "svd"),
      buildOperator({ name: "deblur", kernel: "aniso" }, 3, 32, 48, "svd"),
      buildOperator({ name: "deblur", kernel: "uniform", fixedDeblur: true }, 3, 32, 48, "svd"),
      buildOperator({ name: "sr-bicubic", scale: 4 }, 3, 32, 48, "svd"),
      buildOperator({ name: "cs", ratio: 4 }, 3, 32, 32, "svd"),
      // 6 blocks per channel: the gather and scatter of 32x32 blocks
      buildOperator({ name: "cs-block", ratio: 4 }, 3, 64, 96, "svd"),
      // 16x16 pooling blocks exceed the row kernel's MAX_BLOCK: the counted CPU fallback
      buildOperator({ name: "sr", scale: 16 }, 3, 32, 48, "svd"),
    ];
    const scale = ddnmPlusScale({ a: 0.8, sigmaT: 0.6, sigmaY: 0.3, eta: 0.85 });
    // a second step's Λ: per-step coefficient maps must be rewritten, not reused
    const later = ddnmPlusScale({ a: 0.5, sigmaT: 0.9, sigmaY: 0.3, eta: 0.85 });
    for (const op of ops) {
      const s = op.xShape;
      const y = op.A(randomValues(s[1] * s[2] * s[3], 40));
      const before = gpu!.stats.fallbacks;
      for (const sc of [null, scale, later]) {
        await parity(
          `${op.name} project ${sc === later ? "Λ (later step)" : sc ? "Λ" : ""}`,
          [rnd(41, s)],
          (b, [x0]) => b.project(op, x0, y, sc, Tensor.zeros(s)),
          2e-5,
        );
      }
      for (const sc of [scale, later]) {
        for (const fixed of [false, true]) {
          await parity(
            `${op.name} Λ-noise fixed=${fixed}${sc === later ? " (later step)" : ""}`,
            [rnd(42, s), rnd(43, s)],
            (b, [z, e]) => b.lambdaNoise(op, z, e, sc, fixed, z),
            2e-5,
          );
        }
      }
      // every operator has kernels but pooling above MAX_BLOCK, a counted CPU fallback
      const falls = op.name === "sr" && op.xShape[2] / op.yShape[2] === 16;
      assert.equal(gpu!.stats.fallbacks > before, falls, `${op.name}: fallbacks`);
      assert.equal(gpu!.supports(op), !falls);
    }
  },
});

Deno.test({
  ...unless(
    "WebGPU parity: blend, per-pixel map, clamp, finiteness flag",
    skip && "no WebGPU adapter",
  ),
  fn: async () => {
    const m = new Tensor(shape, randomValues(4608, 50).map((v) => (v > 0 ? 1 : 0)));
    await parity("blend", [m, rnd(51), rnd(52)], (b, [mk, a, c]) => b.blend(c, mk, a, c));
    const map = randomValues(32 * 48, 53);
    await parity("mulMap", [rnd(54)], (b, [t]) => b.mulMap(t, t, map));
    await parity("clamp", [rnd(58)], (b, [t]) => b.clamp(t, t.map((v) => 3 * v), -1, 1));
    const fresh = await WebGpuBackend.create(gpu!.device);
    fresh.checkFinite(rnd(55), 3);
    assert.equal(await fresh.firstNonFinite(), null);
    const bad = rnd(56);
    bad.data[17] = NaN;
    fresh.checkFinite(bad, 9);
    const inf = rnd(57);
    inf.data[3] = -Infinity;
    fresh.checkFinite(inf, 4);
    assert.equal(await fresh.firstNonFinite(), 4);
  },
});

Deno.test({
  ...unless(
    "WebGPU parity: tile crop, Gaussian tile accumulation, wavelet colour fix",
    skip && "no WebGPU adapter",
  ),
  fn: async () => {
    const plan = tilePlan(32, 48, 16, 8);
    await parity("crop", [rnd(60)], (b, [t]) => b.crop(Tensor.zeros([1, 3, 16, 16]), t, 8, 24));
    // every tile of a random field, weighted, summed and normalised: the tiled blend
    const tiles = plan.origins.map((_, k) => rnd(61 + k, [1, 3, plan.th, plan.tw]));
    await parity("accumulate", [Tensor.zeros(shape), ...tiles], (b, [acc, ...ts]) => {
      plan.origins.forEach((o, k) => b.accumulate(acc, ts[k], plan.weights, o.y, o.x));
      return b.mulMap(acc, acc, plan.inverseWeightSum);
    });
    for (const r of [1, 4, 16, 40]) {
      await parity(
        `waveletBlur r=${r}`,
        [rnd(70 + r)],
        (b, [t]) => b.waveletBlur(Tensor.zeros(shape), t, r),
      );
    }
    await parity(
      "waveletReconstruction",
      [rnd(80), rnd(81)],
      (b, [c, s]) => waveletReconstruction(c, s, b),
    );
    // crop of a crop: the region arithmetic is the CPU's
    const src = rnd(82);
    const g = await gpu!.read(gpu!.crop(Tensor.zeros([1, 3, 4, 5]), src, 3, 7));
    assert.deepEqual(
      Array.from(g.data.slice(0, 5)),
      Array.from(src.data.slice(3 * 48 + 7, 3 * 48 + 12)),
    );
  },
});
