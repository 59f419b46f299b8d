import assert from "node:assert/strict";
import { averagePoolSr, colorization, GRAY_ROW } from "../operators/row_block_operator.ts";
import { denoising, inpainting } from "../operators/masking.ts";
import {
  bicubicKernel,
  bicubicSr,
  blurMatrix,
  gaussianKernel,
  separableBlur,
  strideConvMatrix,
} from "../operators/separable_operator.ts";
import { fwht, seededPermutation, WalshHadamardCs } from "../operators/walsh_hadamard.ts";
import { Householder } from "../operators/householder.ts";
import { BlockCs, randomOrthogonal } from "../operators/block_cs.ts";
import { jacobiSvd } from "../operators/svd.ts";
import { ddnmPlusScale, type DegradationOperator } from "../operators/operator.ts";
import { randomValues } from "./_graphs.ts";

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

function operators(): DegradationOperator[] {
  const mask = new Uint8Array(16 * 16).map((_, i) => (i % 7 < 4 ? 1 : 0));
  return [
    averagePoolSr(3, 16, 16, 4),
    averagePoolSr(3, 12, 18, 3),
    colorization(16, 16),
    inpainting(3, 16, 16, mask),
    denoising(3, 8, 8),
    separableBlur(3, 16, 16, new Array(9).fill(1 / 9), new Array(9).fill(1 / 9)),
    separableBlur(3, 16, 16, gaussianKernel(10, 2), gaussianKernel(10, 2)),
    separableBlur(3, 16, 16, gaussianKernel(1, 4), gaussianKernel(20, 4)),
    separableBlur(3, 16, 12, gaussianKernel(10, 2), gaussianKernel(10, 2), true),
    bicubicSr(3, 16, 16, 2),
    bicubicSr(3, 16, 24, 4),
    new WalshHadamardCs(3, 16, 16, 4, seededPermutation(256, 3)),
    new BlockCs(1, 32, 64, 4, 1),
  ];
}

Deno.test("every operator: A A⁺ A x = A x, and A A⁺ y = y on its range", () => {
  for (const op of operators()) {
    const size = op.xShape[1] * op.xShape[2] * op.xShape[3];
    const x = randomValues(size, 17);
    const ax = op.A(x);
    const back = op.A(op.pinv(ax));
    assert.ok(
      maxAbs(back, ax) < 1e-4,
      `${op.name} ${op.xShape}: |A A⁺ A x − A x| = ${maxAbs(back, ax)}`,
    );
    // projection: x̂ = x − A⁺(A x − y) satisfies A x̂ = y for y in the range
    const y = op.A(randomValues(size, 23));
    const out = new Float32Array(size);
    op.project(x, y, null, out);
    assert.ok(maxAbs(op.A(out), y) < 1e-4, `${op.name}: A x̂ − y = ${maxAbs(op.A(out), y)}`);
  }
});

Deno.test("every operator: for any y, A x̂ = A A⁺ y and projecting twice changes nothing; a y changed in place is seen", () => {
  for (const op of operators()) {
    const size = op.xShape[1] * op.xShape[2] * op.xShape[3];
    const ySize = op.yShape[1] * op.yShape[2] * op.yShape[3];
    const x = randomValues(size, 31), y = randomValues(ySize, 37);
    const out = new Float32Array(size), again = new Float32Array(size);
    op.project(x, y, null, out);
    const what = `${op.name} ${op.xShape}`;
    assert.ok(maxAbs(op.A(out), op.A(op.pinv(y))) < 1e-4, `${what}: A x̂ ≠ A A⁺ y`);
    op.project(out, y, null, again);
    assert.ok(maxAbs(again, out) < 1e-4, `${what}: not idempotent (${maxAbs(again, out)})`);
    // the same array with new contents gives what a fresh array with them gives
    y.set(randomValues(ySize, 41));
    op.project(x, y, null, out);
    op.project(x, y.slice(), null, again);
    assert.deepEqual(out, again, `${what}: stale y`);
  }
});

Deno.test("average pooling: A is the block mean, A⁺ nearest replication, s = 1/r", () => {
  const op = averagePoolSr(1, 4, 4, 2);
  const x = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
  assert.deepEqual([...op.A(x)], [3.5, 5.5, 11.5, 13.5]);
  assert.deepEqual([...op.pinv(new Float32Array([1, 2, 3, 4]))], [
    1,
    1,
    2,
    2,
    1,
    1,
    2,
    2,
    3,
    3,
    4,
    4,
    3,
    3,
    4,
    4,
  ]);
  assert.ok(Math.abs(op.singularValues[0] - 0.5) < 1e-7);
  assert.ok(Math.abs(averagePoolSr(3, 8, 8, 4).singularValues[0] - 0.25) < 1e-7);
});

Deno.test("colorization: weights, |row|² = 0.33333334, A⁺ weights [0.9999, 1.0002, 0.9999]", () => {
  const op = colorization(1, 1);
  assert.deepEqual([...op.A(new Float32Array([1, 0, 0]))], [Math.fround(0.3333)]);
  assert.ok(Math.abs(op.singularValues[0] ** 2 - 0.33333334) < 1e-7);
  assert.ok(Math.abs(op.singularValues[0] - 0.57735) < 1e-5);
  const p = op.pinv(new Float32Array([1]));
  assert.ok(maxAbs(p, [0.9999, 1.0002, 0.9999]) < 1e-6, `${p}`);
  assert.deepEqual(GRAY_ROW, [0.3333, 0.3334, 0.3333].map(Math.fround));
});

Deno.test("Householder V: orthogonal, symmetric, first column −â (torch.svd's small V)", () => {
  for (const row of [new Array(4).fill(0.25), new Array(16).fill(1 / 16), GRAY_ROW]) {
    const h = new Householder(row);
    const n = row.length;
    const m = h.matrix();
    const norm = Math.sqrt(row.reduce((s, r) => s + r * r, 0));
    for (let i = 0; i < n; i++) {
      assert.ok(Math.abs(m[i * n] + row[i] / norm) < 1e-12, "first column is −â");
      for (let j = 0; j < n; j++) {
        let dot = 0;
        for (let k = 0; k < n; k++) dot += m[k * n + i] * m[k * n + j];
        assert.ok(Math.abs(dot - (i === j ? 1 : 0)) < 1e-12, "VᵀV = I");
        assert.ok(Math.abs(m[i * n + j] - m[j * n + i]) < 1e-15, "symmetric");
      }
    }
  }
});

Deno.test("SVD operators: V orthogonal, U S Vᵀ = H, singular values of the blurs", () => {
  const h = blurMatrix(gaussianKernel(10, 2), 12);
  const svd = jacobiSvd(h, 12, 12);
  const n = 12;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let rec = 0, dot = 0;
      for (let k = 0; k < n; k++) {
        rec += svd.u[i * n + k] * svd.s[k] * svd.v[j * n + k];
        dot += svd.v[k * n + i] * svd.v[k * n + j];
      }
      assert.ok(Math.abs(rec - h[i * n + j]) < 1e-12);
      assert.ok(Math.abs(dot - (i === j ? 1 : 0)) < 1e-12);
    }
  }
  for (let k = 1; k < n; k++) assert.ok(svd.s[k] <= svd.s[k - 1]);
  const wide = jacobiSvd(strideConvMatrix(bicubicKernel(2), 16, 2), 8, 16);
  for (let k = 8; k < 16; k++) assert.ok(wide.s[k] < 1e-12, "null space of the stride conv");
  // a wide matrix (through its transpose, V completed): U S Vᵀ = A, U and V orthogonal
  const a = strideConvMatrix(bicubicKernel(4), 40, 4), m = 10, nn = 40;
  const ws = jacobiSvd(a, m, nn);
  for (let i = 0; i < nn; i++) {
    for (let j = 0; j < nn; j++) {
      let dot = 0;
      for (let k = 0; k < nn; k++) dot += ws.v[k * nn + i] * ws.v[k * nn + j];
      assert.ok(Math.abs(dot - (i === j ? 1 : 0)) < 1e-12, `VᵀV at ${i},${j}`);
    }
  }
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < nn; j++) {
      let rec = 0;
      for (let k = 0; k < m; k++) rec += ws.u[i * m + k] * ws.s[k] * ws.v[j * nn + k];
      assert.ok(Math.abs(rec - a[i * nn + j]) < 1e-12, `U S Vᵀ at ${i},${j}`);
    }
    for (let j = 0; j < m; j++) {
      let dot = 0;
      for (let k = 0; k < m; k++) dot += ws.u[k * m + i] * ws.u[k * m + j];
      assert.ok(Math.abs(dot - (i === j ? 1 : 0)) < 1e-12, `UᵀU at ${i},${j}`);
    }
  }
  for (let k = 1; k < m; k++) assert.ok(ws.s[k] <= ws.s[k - 1] && ws.s[k] > 0.01);
  for (let k = m; k < nn; k++) assert.equal(ws.s[k], 0);
  // an identical matrix is decomposed once; a changed one is decomposed again
  assert.equal(jacobiSvd(Float64Array.from(a), m, nn), ws);
  const changed = Float64Array.from(a);
  changed[3] += 1e-9;
  assert.notEqual(jacobiSvd(changed, m, nn), ws);
});

Deno.test("kernels and the reference's quirks: dropped tap, tiled singular values", () => {
  // the last tap of an odd kernel is dropped: uniform rows sum to 8/9 inside the image
  const uni = blurMatrix(new Array(9).fill(1 / 9), 20);
  const rowSum = (m: Float64Array, i: number, n: number) =>
    m.subarray(i * n, (i + 1) * n).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(rowSum(uni, 10, 20) - 8 / 9) < 1e-6);
  assert.ok(Math.abs(rowSum(blurMatrix(new Array(9).fill(1 / 9), 20, true), 10, 20) - 1) < 1e-6);
  assert.ok(
    maxAbs(gaussianKernel(10, 2), [0.198003, 0.200995, 0.202003, 0.200995, 0.198003]) < 1e-6,
  );
  assert.ok(
    maxAbs(bicubicKernel(2), [
      -0.011719,
      -0.035156,
      0.113281,
      0.433594,
      0.433594,
      0.113281,
      -0.035156,
      -0.011719,
    ]) < 1e-6,
  );
  const k4 = bicubicKernel(4);
  assert.ok(
    maxAbs(k4.subarray(8), [
      0.240967,
      0.181885,
      0.097412,
      0.022705,
      -0.011963,
      -0.018311,
      -0.010986,
      -0.001709,
    ]) < 1e-6,
  );
  // tiled singular values: the reference's A is not the blur, the fixed one is (up to truncation)
  const x = randomValues(3 * 16 * 16, 5);
  const quirk = separableBlur(3, 16, 16, gaussianKernel(10, 2), gaussianKernel(10, 2));
  const fixed = separableBlur(3, 16, 16, gaussianKernel(10, 2), gaussianKernel(10, 2), true);
  assert.ok(maxAbs(quirk.A(x), fixed.A(x)) > 0.05, "tiling changes A");
  // aligned layout with every channel equal = the same per channel
  assert.deepEqual(fixed.effective[0], fixed.effective[2]);
  assert.notDeepEqual(quirk.effective[0], quirk.effective[1]);
});

Deno.test("Walsh-Hadamard: orthonormal, its own inverse; permutation is a permutation", () => {
  const a = Float64Array.from(randomValues(64, 9));
  const b = a.slice();
  fwht(b);
  let na = 0, nb = 0;
  for (let i = 0; i < 64; i++) {
    na += a[i] ** 2;
    nb += b[i] ** 2;
  }
  assert.ok(Math.abs(na - nb) < 1e-9);
  fwht(b);
  assert.ok(maxAbs(a, b) < 1e-12);
  const p = seededPermutation(1000, 4);
  assert.deepEqual([...p].sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
  assert.notDeepEqual(p, seededPermutation(1000, 5));
  assert.deepEqual(p, seededPermutation(1000, 4));
});

Deno.test("DDNM+ coefficients: final step gives λ = 0 and no noise; η-mix variance", () => {
  const last = ddnmPlusScale({ a: 1, sigmaT: 0, sigmaY: 0.2, eta: 0.85 });
  assert.equal(last.lambda(0.25), 0);
  assert.deepEqual(last.noise(0.25), [0, 0]);
  assert.equal(last.lambda(0), 1);
  const mid = ddnmPlusScale({ a: 0.5, sigmaT: Math.sqrt(0.75), sigmaY: 0.2, eta: 0.85 });
  // σ_t > a σ_y / s: full correction, noise tops the variance up to σ_t²
  const [d1, d2] = mid.noise(1);
  assert.equal(mid.lambda(1), 1);
  assert.ok(Math.abs(d1 * d1 + (0.5 * 0.2) ** 2 - 0.75) < 1e-12 && d2 === 0);
  // null space: the plain η-mix, c1² + c2² = σ_t²
  const [n1, n2] = mid.noise(0);
  assert.ok(Math.abs(n1 * n1 + n2 * n2 - 0.75) < 1e-12);
  // σ_t < a σ_y / s: partial correction λ = s σ_t √(1−η²)/(a σ_y)
  const tiny = ddnmPlusScale({ a: 0.99, sigmaT: 0.01, sigmaY: 0.2, eta: 0.85 });
  assert.ok(
    Math.abs(tiny.lambda(0.25) - 0.25 * 0.01 * Math.sqrt(1 - 0.85 ** 2) / 0.99 / 0.2) < 1e-15,
  );
  assert.deepEqual(tiny.noise(0.25), [0.01 * 0.85, 0]);
});

Deno.test("block CS: Q is orthogonal (QᵀQ = I), seeded and reproducible", () => {
  const q = randomOrthogonal(64, 3);
  for (let i = 0; i < 64; i += 7) {
    for (let j = 0; j < 64; j += 5) {
      let d = 0;
      for (let k = 0; k < 64; k++) d += q[i * 64 + k] * q[j * 64 + k];
      assert.ok(Math.abs(d - (i === j ? 1 : 0)) < 1e-12);
    }
  }
  assert.deepEqual(randomOrthogonal(16, 3), randomOrthogonal(16, 3));
  assert.notDeepEqual(randomOrthogonal(16, 3), randomOrthogonal(16, 4));
});
