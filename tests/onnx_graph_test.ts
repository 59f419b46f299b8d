import assert from "node:assert/strict";
import * as ortNode from "onnxruntime-node";
import * as ortWeb from "onnxruntime-web";
import { GraphBuilder } from "../model/onnx_graph.ts";

// y = conv3x3(x, w) + b, then Mul by a timestep-dependent scale gathered from a table
function buildGraph(w: Float32Array, b: Float32Array): Uint8Array {
  const g = new GraphBuilder("conv_test");
  const x = g.input("x", "float32", ["n", 2, "h", "w"]);
  const t = g.input("t", "int64", ["n"]);
  const conv = g.node("Conv", [x, g.constant("w", w, [2, 2, 3, 3]), g.constant("b", b, [2])], {
    pads: [1, 1, 1, 1],
  });
  const table = g.constant("table", new Float32Array([1, 2, 3, 4]), [4]);
  const scale = g.node("Reshape", [
    g.node("Gather", [table, t], { axis: 0 }),
    g.constant("shape", [-1, 1, 1, 1], [4]),
  ]);
  g.output(g.node("Mul", [conv, scale]), "y", "float32", ["n", 2, "h", "w"]);
  return g.toBytes();
}

function convRef(
  x: Float32Array,
  w: Float32Array,
  b: Float32Array,
  h: number,
  wd: number,
  s: number,
) {
  const out = new Float32Array(2 * h * wd);
  for (let o = 0; o < 2; o++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < wd; j++) {
        let acc = b[o];
        for (let c = 0; c < 2; c++) {
          for (let di = -1; di <= 1; di++) {
            for (let dj = -1; dj <= 1; dj++) {
              const ii = i + di, jj = j + dj;
              if (ii < 0 || jj < 0 || ii >= h || jj >= wd) continue;
              acc += x[c * h * wd + ii * wd + jj] * w[((o * 2 + c) * 3 + di + 1) * 3 + dj + 1];
            }
          }
        }
        out[o * h * wd + i * wd + j] = acc * s;
      }
    }
  }
  return out;
}

Deno.test("TS-built ONNX graphs load and compute correctly in onnxruntime-node and -web", async () => {
  const w = new Float32Array(36).map((_, i) => Math.sin(i));
  const b = new Float32Array([0.5, -0.25]);
  const bytes = buildGraph(w, b);
  const h = 5, wd = 4;
  const x = new Float32Array(2 * h * wd).map((_, i) => Math.cos(i * 0.3));
  const want = convRef(x, w, b, h, wd, 3);
  const node = await ortNode.InferenceSession.create(bytes);
  const outNode = await node.run({
    x: new ortNode.Tensor("float32", x, [1, 2, h, wd]),
    t: new ortNode.Tensor("int64", new BigInt64Array([2n]), [1]),
  });
  const web = await ortWeb.InferenceSession.create(bytes);
  const outWeb = await web.run({
    x: new ortWeb.Tensor("float32", x, [1, 2, h, wd]),
    t: new ortWeb.Tensor("int64", new BigInt64Array([2n]), [1]),
  });
  for (const out of [outNode.y.data as Float32Array, outWeb.y.data as Float32Array]) {
    assert.equal(out.length, want.length);
    for (let i = 0; i < want.length; i++) {
      assert.ok(Math.abs(out[i] - want[i]) < 1e-5, `value ${i}`);
    }
  }
  assert.deepEqual(node.inputNames, ["x", "t"]);
  assert.deepEqual(web.outputNames, ["y"]);
  await node.release();
  await web.release();
});
