import assert from "node:assert/strict";
import { matmul, matmulScalar, matmulWasm } from "../lib/matmul.ts";
import { randomValues } from "./_graphs.ts";

Deno.test("matmul: the WebAssembly kernel gives the TypeScript loop's bits, and both the exact product", () => {
  // odd sizes (padding), single rows/columns, zero runs in C (skipped by the loop), memory growth
  for (
    const [rows, inner, cols] of [[1, 1, 1], [3, 5, 7], [4, 8, 4], [17, 33, 9], [64, 256, 3], [
      301,
      257,
      299,
    ]]
  ) {
    const c = Float64Array.from(randomValues(rows * inner, rows), (v, i) => (i % 5 === 0 ? 0 : v));
    const b = Float64Array.from(randomValues(inner * cols, cols));
    const scalar = matmulScalar(c, rows, inner, b, cols);
    const wasm = matmulWasm(c, rows, inner, b, cols);
    assert.ok(wasm, "WebAssembly SIMD runs in Deno");
    assert.deepEqual(wasm, scalar, `${rows}x${inner}x${cols}`);
    assert.deepEqual(matmul(c, rows, inner, b, cols), scalar);
    // against plain dot products, in the same order
    for (const [i, j] of [[0, 0], [rows - 1, cols - 1], [rows >> 1, cols >> 1]]) {
      let s = 0;
      for (let k = 0; k < inner; k++) s += c[i * inner + k] * b[k * cols + j];
      assert.equal(scalar[i * cols + j], s, `${rows}x${inner}x${cols} at ${i},${j}`);
    }
  }
});
