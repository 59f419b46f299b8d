import assert from "node:assert/strict";
import { restoreDdnm } from "../mod.ts";
import { Tensor } from "../lib/tensor.ts";
import { randomValues } from "./_graphs.ts";

const lr = new Tensor([1, 3, 8, 8], randomValues(192, 1).map((v) => 0.5 + 0.3 * v));

Deno.test("library API: progress callbacks, deterministic seed, [0,1] output", async () => {
  const steps: number[] = [];
  let sawX0 = false;
  const plain = { warmStart: 1, samples: 1 }; // DDNM as its reference runs it, not the defaults
  const a = await restoreDdnm(lr, {
    task: { name: "sr", scale: 2 },
    steps: 12,
    ...plain,
    seed: 5,
    onProgress: (p) => {
      steps.push(p.step);
      assert.equal(p.total, 12);
      if (p.preview && p.step === 12) p.preview().then((x0) => (sawX0 = x0.shape[2] === 16));
    },
  });
  assert.deepEqual(steps, Array.from({ length: 12 }, (_, i) => i + 1));
  assert.ok(sawX0);
  assert.deepEqual(a.image.shape, [1, 3, 16, 16]);
  assert.equal(a.calls, 12);
  const b = await restoreDdnm(lr, { task: { name: "sr", scale: 2 }, steps: 12, ...plain, seed: 5 });
  assert.deepEqual(a.image.data, b.image.data);
  const c = await restoreDdnm(lr, { task: { name: "sr", scale: 2 }, steps: 12, ...plain, seed: 6 });
  assert.notDeepEqual(a.image.data, c.image.data);
  // the default model's SR defaults: the last 3 of 12 steps (warm start 0.3), for each of 6
  // samples, counted in one total
  const counted: [number, number][] = [];
  const d = await restoreDdnm(lr, {
    task: { name: "sr", scale: 2 },
    steps: 12,
    seed: 5,
    onProgress: (p) => counted.push([p.step, p.total]),
  });
  assert.equal(d.calls, 18);
  assert.deepEqual(counted, Array.from({ length: 18 }, (_, i) => [i + 1, 18]));
});

Deno.test("library API: an AbortSignal stops the run between steps", async () => {
  const controller = new AbortController();
  let seen = 0;
  await assert.rejects(
    restoreDdnm(lr, {
      task: { name: "sr", scale: 2 },
      steps: 50,
      onProgress: (p) => {
        seen = p.step;
        if (p.step === 3) controller.abort(new DOMException("stop", "AbortError"));
      },
      signal: controller.signal,
    }),
    (e: Error) => e.name === "AbortError",
  );
  assert.equal(seen, 3);
});

Deno.test("library API: Mask-Shift windows on a model of any size match the window math", async () => {
  const notes: string[] = [];
  const big = new Tensor([1, 3, 24, 40], randomValues(3 * 24 * 40, 2).map((v) => 0.5 + 0.2 * v));
  const r = await restoreDdnm(big, {
    task: { name: "sr", scale: 2 },
    steps: 6,
    window: 32,
    onNote: (n) => notes.push(n),
  });
  assert.match(notes.join("\n"), /Mask-Shift: 8 windows of 32x32/);
  assert.deepEqual(r.image.shape, [1, 3, 48, 80]);
  // every output block still averages to its observed pixel
  let err = 0;
  for (let c = 0; c < 3; c++) {
    for (let by = 0; by < 24; by++) {
      for (let bx = 0; bx < 40; bx++) {
        let s = 0;
        for (let i = 0; i < 2; i++) {
          for (let j = 0; j < 2; j++) {
            s += r.image.data[c * 48 * 80 + (2 * by + i) * 80 + 2 * bx + j];
          }
        }
        err = Math.max(err, Math.abs(s / 4 - big.data[c * 24 * 40 + by * 40 + bx]));
      }
    }
  }
  assert.ok(err < 1e-5, `block means after Mask-Shift: ${err}`);
});

Deno.test("library API: calls count per run; a model given loaded stays open, await using releases it", async () => {
  const { loadModel } = await import("../mod.ts");
  let kept;
  {
    await using model = await loadModel("builtin:gaussian", { runtime: "native" });
    kept = model;
    const opts = { task: { name: "sr" as const, scale: 2 }, steps: 7, model };
    const a = await restoreDdnm(lr, opts);
    const b = await restoreDdnm(lr, opts);
    assert.equal(a.calls, 7);
    assert.equal(b.calls, 7, "the second run counts its own calls, not the running total");
    assert.equal(model.stats.calls, 14);
    // the run did not release a model it was given
    const again = await model.run({ x: new Tensor([1, 3, 16, 16], new Float32Array(768)), t: 500 });
    assert.deepEqual(again.shape, [1, 3, 16, 16]);
  }
  // released at the end of the block: the session is gone
  await assert.rejects(
    kept.run({ x: new Tensor([1, 3, 16, 16], new Float32Array(768)), t: 500 }),
  );
});
