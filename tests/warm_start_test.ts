// DDNM's warm start and the mean of several samples (docs/ddnm.md, "Warm start", "Averaging
// samples"): the schedule it keeps, the state it starts from, the noise it draws, the options' rules.
import assert from "node:assert/strict";
import { ArrayNoise } from "../lib/noise.ts";
import { Tensor } from "../lib/tensor.ts";
import { UserError } from "../lib/errors.ts";
import { CpuBackend } from "../kernels/cpu_backend.ts";
import { alphaBarAt, alphaBarFloat32, betaSchedule } from "../schedules/beta_schedule.ts";
import { ddnmTransitions, warmStartTransitions } from "../schedules/ddnm_schedule.ts";
import { DDNM_DEFAULTS, ddnmNoiseCount, ddnmSample, type EpsPredictor } from "../samplers/ddnm.ts";
import { buildOperator } from "../operators/ddnm_tasks.ts";
import { restoreDdnm } from "../pipelines/restore_ddnm.ts";
import { classicalRestoration, warmStartEstimate } from "../pipelines/warm_start.ts";
import { harmonicFill } from "../lib/harmonic_fill.ts";
import { parseManifest } from "../model/manifest.ts";
import { randomValues } from "./_graphs.ts";

const ab = alphaBarFloat32(betaSchedule("linear"));
const backend = new CpuBackend();

Deno.test("warm start schedule: the last share of the steps, counted as diffusers' strength", () => {
  const all = ddnmTransitions(10);
  assert.equal(warmStartTransitions(all, 10, 1), all);
  assert.deepEqual(warmStartTransitions(all, 10, 0.3).map((t) => t.from), [200, 100, 0]);
  // 0.29 * 100 is 28.999999999999996 in floating point: still 29 steps, from index 28
  const k = warmStartTransitions(ddnmTransitions(100), 100, 0.29);
  assert.deepEqual([k.length, k[0].from], [29, 280]);
  // a tiny share still runs one step; time travel below the start is kept whole
  assert.deepEqual(warmStartTransitions(all, 10, 0.01).map((t) => t.from), [0]);
  const travel = ddnmTransitions(10, 2, 2);
  const cut = warmStartTransitions(travel, 10, 0.5);
  // the run starts denoising at index 4 and never travels above it: the jumps from 2 and 0 stay
  assert.deepEqual([cut[0].from, cut[0].denoise], [400, true]);
  assert.deepEqual(cut, travel.slice(travel.length - cut.length));
  assert.ok(cut.every((t) => t.from <= 400 && t.to <= 400));
  assert.equal(cut.filter((t) => !t.denoise).length, 4);
  for (const bad of [0, -0.5, 1.5, NaN]) {
    assert.throws(() => warmStartTransitions(all, 10, bad), UserError);
  }
});

Deno.test("warm start: x_t = √ā x̂ + √(1−ā) z, and an oracle network returns x̂ exactly", async () => {
  const op = buildOperator({ name: "sr", scale: 2 }, 3, 8, 8, "svd");
  const size = 3 * 8 * 8;
  const warm = new Tensor(op.xShape, randomValues(size, 3, 0.8));
  // the ε that points exactly at `warm` from any state
  let first: { x: Float32Array; t: number } | null = null;
  const oracle: EpsPredictor = (x, t) => {
    first ??= { x: x.data.slice(), t };
    const a = alphaBarAt(ab, t);
    return Promise.resolve(x.map((v, i) => (v - Math.sqrt(a) * warm.data[i]) / Math.sqrt(1 - a)));
  };
  const settings = { ...DDNM_DEFAULTS, steps: 20, eta: 1, warmStart: 0.25 };
  const total = ddnmNoiseCount(settings, size);
  assert.equal(total, (1 + 5) * size); // x_t, then the 5 transitions from t = 200
  const values = randomValues(total, 9);
  const noise = new ArrayNoise(values, "rec");
  const out = await ddnmSample({
    predict: oracle,
    backend,
    noise,
    schedule: ab,
    settings,
    operator: op,
    y: op.A(warm.data),
    warmImage: warm,
  });
  assert.equal(noise.drawn, total);
  const start = first!;
  assert.equal(start.t, 200);
  const a = alphaBarAt(ab, 200);
  let err = 0, got = 0;
  for (let i = 0; i < size; i++) {
    err = Math.max(
      err,
      Math.abs(start.x[i] - (Math.sqrt(a) * warm.data[i] + Math.sqrt(1 - a) * values[i])),
    );
    got = Math.max(got, Math.abs(out.data[i] - warm.data[i]));
  }
  assert.ok(err < 1e-6, `first state off by ${err}`);
  assert.ok(got < 1e-5, `an oracle's run ends at x̂ (off by ${got})`);
});

Deno.test("warm start estimate: the classical restoration projected onto y (A x̂ = y)", async () => {
  const clean = new Tensor([1, 3, 16, 16], randomValues(768, 4, 1));
  const mask = new Uint8Array(256).map((_, i) => (i % 7 < 3 ? 0 : 1));
  const fill = classicalRestoration({ name: "inpaint" }, clean, 16, 16, mask)!;
  assert.deepEqual(fill.data, harmonicFill(clean, mask).data);
  const lq = new Tensor([1, 3, 8, 8], randomValues(192, 5, 1));
  const sr = { name: "sr-bicubic" as const, scale: 2 };
  const up = classicalRestoration(sr, lq, 16, 16)!;
  assert.deepEqual(up.shape, [1, 3, 16, 16]);
  assert.equal(classicalRestoration({ name: "colorize" }, lq, 8, 8), null);
  const op = buildOperator(sr, 3, 16, 16, "svd");
  const y = op.A(randomValues(768, 7, 1)); // an observation the guess does not satisfy
  const x = await warmStartEstimate(backend, op, y, up, [-1, 1]);
  const ax = op.A(x.data);
  let err = 0, moved = 0;
  for (let i = 0; i < y.length; i++) err = Math.max(err, Math.abs(ax[i] - y[i]));
  for (let i = 0; i < x.data.length; i++) moved += Math.abs(x.data[i] - (2 * up.data[i] - 1));
  assert.ok(err < 1e-4, `‖A x̂ − y‖∞ = ${err}`);
  assert.ok(moved > 1, "the projection changed the guess (so the test can fail)");
});

Deno.test("samples: the mean of K runs, each drawing after the previous one", async () => {
  const lq = new Tensor([1, 3, 8, 8], randomValues(192, 6, 1));
  const task = { name: "sr" as const, scale: 2 };
  const base = { task, model: "builtin:gaussian", steps: 6, eta: 1 } as const;
  const per = 7 * 3 * 16 * 16; // x_T and 6 transitions
  const values = randomValues(3 * per, 8);
  const mean = await restoreDdnm(lq, { ...base, samples: 3, noise: new ArrayNoise(values, "r") });
  const runs = [];
  for (let k = 0; k < 3; k++) {
    const noise = new ArrayNoise(values.slice(k * per, (k + 1) * per), "r");
    runs.push((await restoreDdnm(lq, { ...base, noise })).image);
  }
  let err = 0, spread = 0;
  for (let i = 0; i < mean.image.data.length; i++) {
    const avg = (runs[0].data[i] + runs[1].data[i] + runs[2].data[i]) / 3;
    err = Math.max(err, Math.abs(mean.image.data[i] - avg));
    spread = Math.max(spread, Math.abs(runs[0].data[i] - runs[1].data[i]));
  }
  assert.ok(err < 1e-6, `mean off by ${err}`);
  assert.ok(spread > 1e-3, "the samples differ (so the mean is not one of them)");
  assert.equal(mean.calls, 18);
  await assert.rejects(
    () => restoreDdnm(lq, { ...base, samples: 3, noise: new ArrayNoise(values.slice(1), "r") }),
    /r/,
  );
});

Deno.test("warm start and samples: rules and combinations, each a UserError naming its option", async () => {
  const lq = new Tensor([1, 3, 8, 8], new Float32Array(192).fill(0.5));
  const base = { task: { name: "sr" as const, scale: 2 }, model: "builtin:gaussian", steps: 4 };
  const cases: [Record<string, unknown>, string][] = [
    [{ warmStart: 0 }, "warmStart"],
    [{ warmStart: 1.2 }, "warmStart"],
    [{ samples: 0 }, "samples"],
    [{ samples: 65 }, "samples"],
    [{ samples: 1.5 }, "samples"],
    [{ warmStart: 0.5, sampler: "hq-demo" }, "warmStart"],
    [{ warmStart: 0.5, window: 8, maskShift: "reference" }, "warmStart"],
  ];
  for (const [extra, option] of cases) {
    await assert.rejects(
      () => restoreDdnm(lq, { ...base, ...extra }),
      (e) => e instanceof UserError && e.option === option,
      JSON.stringify(extra),
    );
  }
  // a warm start over Mask-Shift windows: each window starts from its crop of the estimate
  const { image } = await restoreDdnm(lq, { ...base, warmStart: 0.5, window: 8, seed: 2 });
  assert.deepEqual(image.shape, [1, 3, 16, 16]);
});

Deno.test("manifest task defaults carry warmStart and samples", () => {
  const m = parseManifest({
    kind: "ddpm",
    inputs: { x: "x", t: "t" },
    output: "eps",
    prediction: "eps",
    defaults: { tasks: { "sr-bicubic": { warmStart: 0.3, samples: 4, other: 1 } } },
  }, "m.json");
  assert.deepEqual(m.defaults.tasks?.["sr-bicubic"], { warmStart: 0.3, samples: 4 });
});
