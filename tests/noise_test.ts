import assert from "node:assert/strict";
import { philox4x32, philoxNormalsScalar } from "../lib/philox.ts";
import { philoxNormalsWasm } from "../lib/philox_wasm.ts";
import { ArrayNoise, drawTensor, GaussianNoise } from "../lib/noise.ts";
import { UserError } from "../lib/errors.ts";

Deno.test("Philox-4x32-10 matches the Random123 known-answer vectors", () => {
  const out = new Uint32Array(4);
  philox4x32(0, 0, 0, 0, 0, 0, out);
  assert.deepEqual([...out], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
  const m = 0xffffffff;
  philox4x32(m, m, m, m, m, m, out);
  assert.deepEqual([...out], [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]);
  philox4x32(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, out);
  assert.deepEqual([...out], [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]);
});

Deno.test("Gaussian generator: deterministic, counter-based, any split of draws", () => {
  const a = new Float32Array(1000);
  new GaussianNoise(42).fill(a);
  const g = new GaussianNoise(42);
  const parts = [new Float32Array(3), new Float32Array(250), new Float32Array(747)];
  for (const p of parts) g.fill(p);
  assert.equal(g.drawn, 1000);
  assert.deepEqual(new Float32Array([...parts[0], ...parts[1], ...parts[2]]), a);
  assert.equal(new GaussianNoise(42).valueAt(517), a[517]);
  assert.equal(new GaussianNoise(42, 0, 600).valueAt(600), a[600]);
  const other = new Float32Array(1000);
  new GaussianNoise(43).fill(other);
  assert.notDeepEqual(other, a);
  const stream1 = new Float32Array(1000);
  new GaussianNoise(42, 1).fill(stream1);
  assert.notDeepEqual(stream1, a);
  // value 0 of seed 0, from the documented algorithm by hand
  const out = new Uint32Array(4);
  philox4x32(0, 0, 0, 0, 0, 0, out);
  const n0 = Math.sqrt(-2 * Math.log((out[0] + 0.5) / 2 ** 32)) *
    Math.cos(2 * Math.PI * (out[1] + 0.5) / 2 ** 32);
  assert.equal(new GaussianNoise(0).valueAt(0), Math.fround(n0));
  // the fast path equals the reference Philox + Box-Muller for many blocks and seeds
  for (const seed of [0, 1, 2 ** 40 + 3]) {
    const fast = new Float32Array(4000);
    new GaussianNoise(seed, 5).fill(fast);
    for (let b = 0; b < 1000; b += 37) {
      philox4x32(b, 0, 5, 0, seed >>> 0, Math.floor(seed / 2 ** 32), out);
      const u = [...out].map((r) => (r + 0.5) / 2 ** 32);
      const want = [
        Math.sqrt(-2 * Math.log(u[0])) * Math.cos(2 * Math.PI * u[1]),
        Math.sqrt(-2 * Math.log(u[0])) * Math.sin(2 * Math.PI * u[1]),
        Math.sqrt(-2 * Math.log(u[2])) * Math.cos(2 * Math.PI * u[3]),
        Math.sqrt(-2 * Math.log(u[2])) * Math.sin(2 * Math.PI * u[3]),
      ];
      for (let k = 0; k < 4; k++) {
        assert.ok(Math.abs(fast[4 * b + k] - want[k]) < 2e-6, `seed ${seed} block ${b} lane ${k}`);
      }
    }
  }
});

Deno.test("Gaussian generator: the WebAssembly SIMD loop gives the TypeScript reference's values bit for bit", () => {
  // seeds with both key words, a stream, block counters across the 2^32 carry, partial groups
  const cases = [
    { seed: 0, stream: 0, first: 0, groups: 20_000 },
    { seed: 2 ** 40 + 12345, stream: 7, first: 2 ** 32 - 37, groups: 5_000 },
    { seed: 4294967295, stream: 4294967295, first: 3 * 2 ** 32 + 1, groups: 4_097 },
  ];
  for (const { seed, stream, first, groups } of cases) {
    const fast = new Float32Array(16 * groups + 8).fill(NaN), ref = new Float32Array(16 * groups);
    assert.ok(
      philoxNormalsWasm(seed, stream, first, groups, fast, 8),
      "WebAssembly SIMD runs in Deno",
    );
    philoxNormalsScalar(seed, stream, first, 4 * groups, ref, 0);
    assert.ok(Number.isNaN(fast[7]), "nothing written before the offset");
    let differing = 0;
    for (let i = 0; i < ref.length; i++) if (fast[8 + i] !== ref[i]) differing++;
    assert.equal(differing, 0, `seed ${seed}: ${differing} of ${ref.length} values differ`);
  }
  // GaussianNoise (wasm for whole groups, TypeScript for the rest) against the reference alone
  const drawn = new Float32Array(1001), ref = new Float32Array(1004);
  const g = new GaussianNoise(99, 2, 2);
  g.fill(drawn.subarray(0, 1));
  g.fill(drawn.subarray(1));
  philoxNormalsScalar(99, 2, 0, 251, ref, 0);
  assert.deepEqual(drawn, ref.subarray(2, 1003));
});

Deno.test("Gaussian generator: moments and independence of a large sample", () => {
  const n = 400_000;
  const x = new Float32Array(n);
  new GaussianNoise(7).fill(x);
  let s1 = 0, s2 = 0, s3 = 0, s4 = 0, lag = 0;
  for (let i = 0; i < n; i++) {
    const v = x[i];
    s1 += v;
    s2 += v * v;
    s3 += v * v * v;
    s4 += v * v * v * v;
    if (i > 0) lag += v * x[i - 1];
  }
  const se = 1 / Math.sqrt(n);
  assert.ok(Math.abs(s1 / n) < 5 * se, `mean ${s1 / n}`);
  assert.ok(Math.abs(s2 / n - 1) < 5 * Math.sqrt(2) * se, `variance ${s2 / n}`);
  assert.ok(Math.abs(s3 / n) < 5 * Math.sqrt(15) * se, `skew ${s3 / n}`);
  assert.ok(Math.abs(s4 / n - 3) < 5 * Math.sqrt(96) * se, `kurtosis ${s4 / n}`);
  assert.ok(Math.abs(lag / n) < 5 * se, `lag-1 correlation ${lag / n}`);
  // tail: P(|z| > 3) = 0.0027
  const tail = x.filter((v) => Math.abs(v) > 3).length / n;
  assert.ok(Math.abs(tail - 0.0027) < 0.0005, `tail ${tail}`);
});

Deno.test("file-backed noise: front to back, errors name how many values were needed", () => {
  const src = new ArrayNoise(new Float32Array([1, 2, 3, 4, 5]), "noise.npy");
  const t = drawTensor(src, [1, 1, 1, 2]);
  assert.deepEqual([...t.data], [1, 2]);
  src.require(5);
  assert.throws(
    () => src.require(6),
    (e: Error) => e instanceof UserError && /needs 6 values, the file has 5/.test(e.message),
  );
  assert.throws(() => drawTensor(src, [1, 1, 2, 2]), /needs 6 values/);
  assert.equal(src.drawn, 2);
});
