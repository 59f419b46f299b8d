import assert from "node:assert/strict";
import { CpuBackend } from "../kernels/cpu_backend.ts";
import { Tensor } from "../lib/tensor.ts";
import {
  adainColorFix,
  waveletDecomposition,
  waveletReconstruction,
} from "../pipelines/color_fix.ts";
import {
  applyLatentGuidance,
  cfgCombine,
  ddimStep,
  rescaledCfgScale,
  spacedStep,
} from "../samplers/spaced_ddpm.ts";
import {
  accumulateTile,
  gaussianWeights,
  slidingWindows,
  tiledApply,
  tilePlan,
} from "../lib/tiling.ts";
import { LDM_SCHEDULE, randomValues, writeDiffbirStandIns } from "./_graphs.ts";
import { restoreDiffbir } from "../pipelines/restore_diffbir.ts";
import { ArrayNoise } from "../lib/noise.ts";
import { ddimSchedule } from "../schedules/ddim_schedule.ts";
import { trainingAlphaBar } from "../schedules/training_schedule.ts";
import { spacedSchedule } from "../schedules/respacing.ts";

const backend = new CpuBackend();
const SD = LDM_SCHEDULE;
const close = (a: number, b: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

Deno.test("CFG: scale 1 is exactly the conditional output; rescaled-CFG values", () => {
  const c = new Tensor([1, 4, 2, 2], randomValues(16, 1));
  const u = new Tensor([1, 4, 2, 2], randomValues(16, 2));
  const keep = c.data.slice();
  assert.deepEqual(cfgCombine(backend, c, u, 1).data, keep);
  const g = cfgCombine(backend, c.clone(), u, 4);
  for (let i = 0; i < 16; i++) {
    close(g.data[i], u.data[i] + 4 * (keep[i] - u.data[i]), 1e-6, "u + s(c − u)");
  }
  close(rescaledCfgScale(6, 999), 1.0, 1e-9, "s_eff(999)");
  close(rescaledCfgScale(6, 500), 1.0144, 1e-4, "s_eff(500)");
  close(rescaledCfgScale(6, 0), 7.0, 1e-12, "s_eff(0)");
});

Deno.test("guidance (v2): the posterior mean moves by exactly g; window and repeats", () => {
  const s = spacedSchedule(SD, 20);
  const k = 10, t = s.timesteps[k];
  const x = new Tensor([1, 4, 4, 4], randomValues(64, 3));
  const x0 = new Tensor([1, 4, 4, 4], randomValues(64, 4));
  const target = new Tensor([1, 4, 4, 4], randomValues(64, 5));
  const z = Tensor.zeros(x.shape);
  const plain = x.clone();
  spacedStep(backend, plain, x0.clone(), s, k, z);
  const guided0 = x0.clone();
  assert.ok(
    applyLatentGuidance(backend, guided0, target, s.coef1[k], t, {
      scale: 0.02,
      start: 1001,
      stop: -1,
      repeat: 1,
      weights: null,
    }),
  );
  const guided = x.clone();
  spacedStep(backend, guided, guided0, s, k, z);
  for (let i = 0; i < 64; i++) {
    const g = -2 * (x0.data[i] - target.data[i]) / 64 * 0.02 * 3000; // −∂/∂x0 mean (x0 − target)² · G · 3000
    close(guided.data[i] - plain.data[i], g, 1e-5, "mean shift = g");
  }
  const outside = x0.clone();
  assert.equal(
    applyLatentGuidance(backend, outside, target, s.coef1[k], t, {
      scale: 0.02,
      start: t,
      stop: -1,
      repeat: 1,
      weights: null,
    }),
    false,
  );
  assert.deepEqual(outside.data, x0.data);
  // two repeats recompute the gradient at the updated x0
  const twice = x0.clone(), once = x0.clone();
  const guide = (x: Tensor, repeat: number) =>
    applyLatentGuidance(backend, x, target, s.coef1[k], t, {
      scale: 0.02,
      start: 1001,
      stop: -1,
      repeat,
      weights: null,
    });
  guide(twice, 2);
  guide(once, 1);
  guide(once, 1);
  assert.deepEqual(twice.data, once.data);
});

Deno.test("spaced sampler: the last step returns x0 exactly; DDIM η = 0 lands on ā_0", () => {
  const s = spacedSchedule(SD, 10);
  const x = new Tensor([1, 4, 2, 2], randomValues(16, 6));
  const x0 = new Tensor([1, 4, 2, 2], randomValues(16, 7));
  spacedStep(backend, x, x0, s, 0, new Tensor([1, 4, 2, 2], randomValues(16, 8)));
  for (let i = 0; i < 16; i++) close(x.data[i], x0.data[i], 1e-6, "k = 0");
  const d = ddimSchedule(SD, 50);
  assert.deepEqual(d.timesteps.slice(0, 3), [1, 21, 41]);
  assert.equal(d.timesteps.at(-1), 981);
  close(d.alphaBarPrev[0], trainingAlphaBar(SD)[0], 0, "a_prev of the last step is ā_0");
  close(d.alphaBarPrev[0], 0.99915, 1e-12, "ā_0");
  // η = 0: deterministic, and with ε = 0 the step is √a_prev x0 = √a_prev · x / √a
  const y = new Tensor([1, 1, 1, 4], Float32Array.from([0.1, -0.2, 0.3, 0.4]));
  const before = y.data.slice();
  ddimStep(
    backend,
    y,
    Tensor.zeros(y.shape),
    d,
    5,
    0,
    "eps",
    new Tensor(y.shape, randomValues(4, 9)),
    { eps: Tensor.zeros(y.shape), x0: Tensor.zeros(y.shape) },
  );
  for (let i = 0; i < 4; i++) {
    close(y.data[i], before[i] * Math.sqrt(d.alphaBarPrev[5] / d.alphaBar[5]), 1e-6, "ddim η=0");
  }
});

Deno.test("wavelet colour fix: high + low = input, reconstruction(x, x) = x, constants stay", () => {
  const x = new Tensor([1, 3, 40, 24], randomValues(3 * 40 * 24, 10).map((v) => 0.5 + 0.4 * v));
  const { high, low } = waveletDecomposition(x);
  for (let i = 0; i < x.size; i++) {
    close(high.data[i] + low.data[i], x.data[i], 1e-5, "telescoping");
  }
  const same = waveletReconstruction(x, x);
  for (let i = 0; i < x.size; i++) close(same.data[i], x.data[i], 1e-5, "reconstruction(x, x)");
  const flat = waveletReconstruction(
    new Tensor(x.shape, new Float32Array(x.size).fill(0.3)),
    new Tensor(x.shape, new Float32Array(x.size).fill(0.7)),
  );
  assert.ok(
    flat.data.every((v) => Math.abs(v - 0.7) < 1e-5),
    "a constant content takes the style's constant",
  );
  const y = new Tensor(x.shape, randomValues(x.size, 11).map((v) => 0.2 + 0.1 * v));
  const a = adainColorFix(y, x);
  for (let c = 0; c < 3; c++) {
    const plane = 40 * 24;
    const mean = (t: Tensor) =>
      t.data.subarray(c * plane, (c + 1) * plane).reduce((s, v) => s + v, 0) / plane;
    close(mean(a), mean(x), 1e-5, "AdaIN takes the style's mean");
  }
});

Deno.test("tiling: windows cover every pixel and end flush; weights asymmetric; constants survive", async () => {
  for (const [h, w, t, s] of [[64, 96, 32, 16], [100, 70, 64, 32], [32, 32, 64, 32]]) {
    const ws = slidingWindows(h, w, t, s);
    const cover = new Uint8Array(h * w);
    for (const o of ws) {
      const th = Math.min(t, h), tw = Math.min(t, w);
      assert.ok(o.y + th <= h && o.x + tw <= w);
      for (let i = 0; i < th; i++) cover.fill(1, (o.y + i) * w + o.x, (o.y + i) * w + o.x + tw);
    }
    assert.ok(cover.every((c) => c === 1), `${h}x${w} covered`);
    assert.ok(
      ws.some((o) => o.y + Math.min(t, h) === h) && ws.some((o) => o.x + Math.min(t, w) === w),
      "flush with the border",
    );
  }
  const gw = gaussianWeights(8, 8);
  assert.notEqual(gw[0], gw[7 * 8], "rows 0 and H−1 differ (midpoint H/2)");
  close(gw[0], gw[7], 1e-9, "columns symmetric (midpoint (W−1)/2)");
  const plan = tilePlan(20, 30, 8, 4);
  const acc = Tensor.zeros([1, 2, 20, 30]);
  for (const o of plan.origins) {
    accumulateTile(
      acc,
      new Tensor([1, 2, 8, 8], new Float32Array(128).fill(0.25)),
      plan.weights,
      o.y,
      o.x,
    );
  }
  new CpuBackend().mulMap(acc, acc, plan.inverseWeightSum);
  assert.ok(acc.data.every((v) => Math.abs(v - 0.25) < 1e-6), "constant field survives");
  // a tiled identity is the identity; a tiled 2x nearest upscale matches the untiled one
  const img = new Tensor([1, 3, 48, 40], randomValues(3 * 48 * 40, 12));
  const same = await tiledApply(img, 16, 8, 1, (t) => Promise.resolve(t));
  for (let i = 0; i < img.size; i++) close(same.data[i], img.data[i], 1e-6, "tiled identity");
});

Deno.test("start point and noise augmentation: cond differs from noise except under zero SNR; augmentation draws once more", async () => {
  const dir = await Deno.makeTempDir();
  const model = await writeDiffbirStandIns(dir);
  const lq = new Tensor([1, 3, 48, 40], randomValues(3 * 48 * 40, 8).map((v) => 0.5 + 0.3 * v));
  const base = { model, steps: 4, seed: 3, context: { data: randomValues(8, 2), dims: [1, 8] } };
  const run = async (extra: Record<string, unknown>) =>
    (await restoreDiffbir(lq, { ...base, ...extra, runtime: "native" })).image.data;
  const fromNoise = await run({});
  assert.notDeepEqual(await run({ startPoint: "cond" }), fromNoise, "ā_999 > 0: c enters x_T");
  assert.notDeepEqual(await run({ noiseAug: 50 }), fromNoise, "the condition is noised");
  // x_T, the augmentation's draw, then one per step: 6 latents of 4 × 8 × 8
  const latents = (k: number) => new ArrayNoise(randomValues(256 * k, 9), "noise.npy");
  await run({ noiseAug: 50, noise: latents(6) });
  await assert.rejects(() => run({ noiseAug: 50, noise: latents(5) }), /needs 1536 values/);
  await assert.rejects(
    () => run({ noiseAug: 1000 }),
    /noiseAug must be an integer in \[0, 999\]/,
  );
  // zero terminal SNR (with v prediction, as v2.1): ā'_999 = 0, so q_sample(c, 999, z) = z
  const den = JSON.parse(await Deno.readTextFile(`${dir}/den.json`));
  await Deno.writeTextFile(
    `${dir}/den.json`,
    JSON.stringify({ ...den, prediction: "v", schedule: { zeroTerminalSnr: true } }),
  );
  assert.deepEqual(await run({ startPoint: "cond" }), await run({}));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("HEAD's size rule: a short edge below --min-size is enlarged for diffusion and the result resized back", async () => {
  const dir = await Deno.makeTempDir();
  const model = await writeDiffbirStandIns(dir);
  const lq = new Tensor([1, 3, 48, 40], randomValues(3 * 48 * 40, 8).map((v) => 0.5 + 0.3 * v));
  const base = { model, steps: 3, seed: 5, context: { data: randomValues(8, 2), dims: [1, 8] } };
  const run = async (extra: Record<string, unknown>) =>
    (await restoreDiffbir(lq, { ...base, ...extra, runtime: "native" })).image;
  const plain = await run({});
  // 40 is the short edge already: nothing changes
  assert.deepEqual((await run({ minSize: 40 })).data, plain.data);
  for (const tile of [undefined, { size: 32, stride: 16 }]) {
    const grown = await run({ minSize: 64, tile });
    assert.deepEqual(grown.shape, [1, 3, 48, 40], "resized back to the input size");
    assert.ok(grown.data.every(Number.isFinite));
    assert.notDeepEqual(grown.data, plain.data, "diffusion ran at 76x64");
  }
  await assert.rejects(() => run({ minSize: -1 }), /minSize must be an integer >= 0/);
  const strip = new Tensor([1, 3, 8, 4000], new Float32Array(3 * 8 * 4000).fill(0.5));
  await assert.rejects(
    () => restoreDiffbir(strip, { ...base, minSize: 4096, runtime: "native" }),
    /minSize 4096 would enlarge the 4000x8 image to 2048000x4096/,
  );
  await Deno.remove(dir, { recursive: true });
});
