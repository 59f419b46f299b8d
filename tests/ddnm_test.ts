import assert from "node:assert/strict";
import { loadModel } from "../model/builtin_models.ts";
import { ArrayNoise, GaussianNoise } from "../lib/noise.ts";
import { Tensor } from "../lib/tensor.ts";
import { CpuBackend } from "../kernels/cpu_backend.ts";
import { alphaBarAt, alphaBarFloat32, betaSchedule } from "../schedules/beta_schedule.ts";
import {
  DDNM_DEFAULTS,
  ddnmNoiseCount,
  ddnmSample,
  type DdnmSettings,
  type EpsPredictor,
} from "../samplers/ddnm.ts";
import { ddnmTransitions } from "../schedules/ddnm_schedule.ts";
import { buildOperator, type DdnmTask } from "../operators/ddnm_tasks.ts";
import { randomValues } from "./_graphs.ts";

const ab = alphaBarFloat32(betaSchedule("linear"));
const backend = new CpuBackend();
const model = await loadModel("builtin:gaussian", { runtime: "native" });
const prior: EpsPredictor = (x, t, l) => model.run({ x, t }, l);
const N = 16;
const mask = new Uint8Array(N * N).map((_, i) => ((i >> 2) % 3 === 0 ? 0 : 1));

const TASKS: DdnmTask[] = [
  { name: "sr", scale: 4 },
  { name: "sr", scale: 2 },
  { name: "sr-bicubic", scale: 2 },
  { name: "colorize" },
  { name: "inpaint" },
  { name: "denoise" },
  { name: "deblur", kernel: "gauss" },
  { name: "deblur", kernel: "uniform" },
  { name: "deblur", kernel: "aniso" },
  { name: "cs", ratio: 4 },
];

function settings(extra: Partial<DdnmSettings> = {}): DdnmSettings {
  return { ...DDNM_DEFAULTS, steps: 10, ...extra };
}

Deno.test("noiseless DDNM: the output satisfies A x = y (max 1e-5, model space), every operator", async () => {
  for (const task of TASKS) {
    for (const variant of ["svd", "simplified"] as const) {
      if (
        variant === "simplified" && !["sr", "colorize", "inpaint", "denoise"].includes(task.name)
      ) continue;
      const op = buildOperator(task, 3, N, N, variant, mask);
      const y = op.A(randomValues(3 * N * N, 4, 0.8));
      const x = await ddnmSample({
        predict: prior,
        backend,
        operator: op,
        y,
        schedule: ab,
        noise: new GaussianNoise(1),
        settings: settings({ variant }),
      });
      const ax = op.A(x.data);
      let err = 0;
      for (let i = 0; i < y.length; i++) err = Math.max(err, Math.abs(ax[i] - y[i]));
      assert.ok(
        err <= 1e-5,
        `${task.name}${task.kernel ? `/${task.kernel}` : ""} ${variant}: ‖Ax − y‖∞ = ${err}`,
      );
    }
  }
});

Deno.test("noiseless DDNM with block compressed sensing (32x32 blocks): A x = y", async () => {
  const op = buildOperator({ name: "cs-block", ratio: 4 }, 3, 32, 32, "svd");
  const y = op.A(randomValues(3 * 32 * 32, 6, 0.8));
  const x = await ddnmSample({
    predict: prior,
    backend,
    operator: op,
    y,
    schedule: ab,
    noise: new GaussianNoise(1),
    settings: settings({ steps: 4 }),
  });
  const ax = op.A(x.data);
  let err = 0;
  for (let i = 0; i < y.length; i++) err = Math.max(err, Math.abs(ax[i] - y[i]));
  assert.ok(err <= 1e-5, `cs-block: ‖Ax − y‖∞ = ${err}`);
});

/** A predictor that remembers its last input and output. */
function recording(inner: EpsPredictor) {
  const rec = { x: null as Tensor | null, eps: null as Tensor | null, t: -2 };
  const f: EpsPredictor = async (x, t, l) => {
    const e = await inner(x, t, l);
    rec.x = x.clone();
    rec.eps = e.clone();
    rec.t = t;
    return e;
  };
  return { f, rec };
}

function x0Of(rec: { x: Tensor | null; eps: Tensor | null; t: number }): Float32Array {
  const a = alphaBarAt(ab, rec.t);
  return rec.x!.data.map((v, i) => (v - Math.sqrt(1 - a) * rec.eps!.data[i]) / Math.sqrt(a));
}

Deno.test("DDNM+ final step: Λ = 0 and no noise, so the output is the unprojected x0|0", async () => {
  for (
    const task of [{ name: "sr", scale: 4 }, { name: "colorize" }, { name: "inpaint" }, {
      name: "denoise",
    }] as DdnmTask[]
  ) {
    const op = buildOperator(task, 3, N, N, "svd", mask);
    const y = op.A(randomValues(3 * N * N, 8, 0.5));
    const { f, rec } = recording(prior);
    const out = await ddnmSample({
      predict: f,
      backend,
      operator: op,
      y,
      schedule: ab,
      noise: new GaussianNoise(2),
      settings: settings({ sigmaY: 0.2 }),
    });
    assert.equal(rec.t, 0);
    const x0 = x0Of(rec);
    let err = 0, gap = 0;
    const ax = op.A(out.data);
    for (let i = 0; i < x0.length; i++) err = Math.max(err, Math.abs(out.data[i] - x0[i]));
    for (let i = 0; i < y.length; i++) gap = Math.max(gap, Math.abs(ax[i] - y[i]));
    assert.ok(err < 1e-5, `${task.name}: output vs x0|0 ${err}`);
    assert.ok(gap > 1e-3, `${task.name}: DDNM+ does not force A x = y at the end (gap ${gap})`);
  }
});

Deno.test("simplified with σ_y > 0: no projection at the last step (output = x0|0); σ_y = 0 projects", async () => {
  const op = buildOperator({ name: "sr", scale: 2 }, 3, N, N, "simplified");
  const y = op.A(randomValues(3 * N * N, 9, 0.5));
  const { f, rec } = recording(prior);
  const out = await ddnmSample({
    predict: f,
    backend,
    operator: op,
    y,
    schedule: ab,
    noise: new GaussianNoise(3),
    settings: settings({ variant: "simplified", sigmaY: 0.1 }),
  });
  const x0 = x0Of(rec);
  let err = 0;
  for (let i = 0; i < x0.length; i++) err = Math.max(err, Math.abs(out.data[i] - x0[i]));
  assert.ok(err < 1e-5, `simplified σ_y>0 final output vs x0|0: ${err}`);
});

Deno.test("time travel re-noises the stored un-projected x0 (replayed by hand, z = 0)", async () => {
  const op = buildOperator({ name: "sr", scale: 2 }, 3, 4, 4, "svd");
  const y = new Float32Array(12).fill(0.3);
  // ε = 0.3 · (x rolled by one value): deterministic, and it mixes range and null space
  const roll = (x: Float32Array) => x.map((_, i) => 0.3 * x[(i + 1) % x.length]);
  const mixEps: EpsPredictor = (x) => Promise.resolve(new Tensor(x.shape, roll(x.data)));
  const s = settings({ steps: 10, travelLength: 2, travelRepeat: 2 });
  const total = ddnmNoiseCount(s, 48);
  const noise = new ArrayNoise(new Float32Array(total), "zeros");
  const init = new Tensor([1, 3, 4, 4], randomValues(48, 3));
  const trs = ddnmTransitions(10, 2, 2);
  const out = await ddnmSample({
    predict: mixEps,
    backend,
    operator: op,
    y,
    schedule: ab,
    noise,
    settings: s,
    init,
  });
  // replay: with z = 0, x0|t = (x_t − √(1−ā_t) ε)/√ā_t, x_s = √ā_s x̂0 + √(1−ā_s)√(1−η²) ε,
  // travel x_j = √ā_j x0|t(last)
  const replay = (travelFromProjected: boolean) => {
    let x = init.data.slice();
    let lastX0 = new Float32Array(48), lastHat = new Float32Array(48);
    for (const tr of trs) {
      const aS = alphaBarAt(ab, tr.to);
      if (tr.denoise) {
        const a = alphaBarAt(ab, tr.from);
        const eps = roll(x);
        lastX0 = x.map((v, i) => (v - Math.sqrt(1 - a) * eps[i]) / Math.sqrt(a));
        lastHat = new Float32Array(48);
        op.project(lastX0, y, null, lastHat);
        const c2 = Math.sqrt(1 - aS) * Math.sqrt(1 - 0.85 ** 2);
        x = lastHat.map((v, i) => Math.sqrt(aS) * v + c2 * eps[i]);
      } else {
        x = (travelFromProjected ? lastHat : lastX0).map((v) => Math.sqrt(aS) * v);
      }
    }
    return x;
  };
  const want = replay(false), wrong = replay(true);
  let err = 0, alt = 0;
  for (let i = 0; i < 48; i++) {
    err = Math.max(err, Math.abs(out.data[i] - want[i]));
    alt = Math.max(alt, Math.abs(out.data[i] - wrong[i]));
  }
  assert.ok(err < 1e-4, `sampler vs replay from the un-projected x0: ${err}`);
  assert.ok(alt > 1e-2, `re-noising x̂0 instead would differ (by ${alt}), so the test can fail`);
  assert.equal(noise.drawn, total - 48); // the initial state was given, so x_T was not drawn
});

Deno.test("noise draw order: x_T then one tensor per transition, the last included", async () => {
  const op = buildOperator({ name: "denoise" }, 3, 8, 8, "svd");
  const s = settings({ steps: 16, travelLength: 4, travelRepeat: 2 });
  const total = ddnmNoiseCount(s, 192);
  assert.equal(total, (1 + ddnmTransitions(16, 4, 2).length) * 192);
  const draws = new ArrayNoise(randomValues(total, 5), "rec");
  await ddnmSample({
    predict: prior,
    backend,
    operator: op,
    y: new Float32Array(192),
    schedule: ab,
    noise: draws,
    settings: s,
  });
  assert.equal(draws.drawn, total);
  // the seeded generator gives the same result as feeding its own draws from a file
  const g = new Float32Array(total);
  new GaussianNoise(11).fill(g);
  const a = await ddnmSample({
    predict: prior,
    backend,
    operator: op,
    y: new Float32Array(192),
    schedule: ab,
    noise: new GaussianNoise(11),
    settings: s,
  });
  const b = await ddnmSample({
    predict: prior,
    backend,
    operator: op,
    y: new Float32Array(192),
    schedule: ab,
    noise: new ArrayNoise(g, "g"),
    settings: s,
  });
  assert.deepEqual(a.data, b.data);
});
