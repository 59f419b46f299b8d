import assert from "node:assert/strict";
import { Tensor } from "../lib/tensor.ts";
import { resizeBicubic, resizeBicubicAntialias } from "../lib/resize.ts";
import { randomValues } from "./_graphs.ts";

const keys = (x: number) => {
  const t = Math.abs(x);
  return t < 1
    ? 1.5 * t ** 3 - 2.5 * t ** 2 + 1
    : t < 2
    ? -0.5 * t ** 3 + 2.5 * t ** 2 - 4 * t + 2
    : 0;
};

Deno.test("antialiased bicubic: identity at the same size, constants kept, PIL's widened kernel when shrinking", () => {
  const img = new Tensor([1, 2, 9, 7], randomValues(126, 3));
  assert.deepEqual(resizeBicubicAntialias(img, 9, 7).data, img.data);
  const flat = new Tensor([1, 1, 10, 13], new Float32Array(130).fill(0.4));
  for (const [h, w] of [[5, 6], [20, 31], [3, 13]]) {
    assert.ok(
      resizeBicubicAntialias(flat, h, w).data.every((v) => Math.abs(v - 0.4) < 1e-6),
      `${h}x${w}`,
    );
  }
  // an impulse at column 3 of 16, shrunk to 8: output 1 (centre 3) weighs column j by the cubic
  // at (j − 2.5)/2 over the in-range taps 0..6, normalised
  const impulse = new Tensor([1, 1, 1, 16], new Float32Array(16));
  impulse.data[3] = 1;
  const raw = [0, 1, 2, 3, 4, 5, 6].map((j) => keys((j - 2.5) / 2));
  const total = raw.reduce((a, b) => a + b);
  const shrunk = resizeBicubicAntialias(impulse, 1, 8);
  assert.ok(
    Math.abs(shrunk.data[1] - raw[3] / total) < 1e-7,
    `${shrunk.data[1]} vs ${raw[3] / total}`,
  );
  // a linear ramp survives shrinking away from the borders (symmetric normalised weights)
  const ramp = new Tensor([1, 1, 1, 64], Float32Array.from({ length: 64 }, (_, i) => i));
  const third = resizeBicubicAntialias(ramp, 1, 16);
  for (let j = 3; j < 13; j++) {
    assert.ok(Math.abs(third.data[j] - (4 * j + 1.5)) < 1e-4, `ramp ${j}`);
  }
  // enlarging is Keys' cubic (A = −0.5) away from the borders, where the in-range taps are normalised
  const up = resizeBicubicAntialias(img, 27, 21), plain = resizeBicubic(img, 27, 21, -0.5);
  for (let i = 6; i < 21; i++) {
    for (let j = 6; j < 15; j++) {
      assert.ok(Math.abs(up.data[i * 21 + j] - plain.data[i * 21 + j]) < 1e-6, `${i},${j}`);
    }
  }
  assert.notEqual(up.data[0], plain.data[0], "the border differs: clamped taps vs normalised ones");
});
