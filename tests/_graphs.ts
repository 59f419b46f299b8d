// Test helper: small ONNX networks built in TypeScript.
import { GraphBuilder } from "../lib/onnx_graph.ts";

/** eps = x * t (float32 timestep) concatenated with -x for a learned-sigma layout. */
export function timesTGraph(
  opts: { learnedSigma?: boolean; tDtype?: "float32" | "int64"; xName?: string } = {},
): Uint8Array {
  const g = new GraphBuilder("times_t");
  const x = g.input(opts.xName ?? "x", "float32", ["n", 3, "h", "w"]);
  const t = g.input("t", opts.tDtype ?? "float32", ["n"]);
  const tf = opts.tDtype === "int64" ? g.node("Cast", [t], { to: 1 }) : t;
  const t4 = g.node("Reshape", [tf, g.constant("s", [-1, 1, 1, 1], [4])]);
  const y = g.node("Mul", [x, t4]);
  const out = opts.learnedSigma ? g.node("Concat", [y, g.node("Neg", [x])], { axis: 1 }) : y;
  g.output(out, "eps", "float32", ["n", opts.learnedSigma ? 6 : 3, "h", "w"]);
  return g.toBytes();
}

/** A network whose output is NaN where x < 0 (sqrt of a negative). */
export function nanGraph(): Uint8Array {
  const g = new GraphBuilder("nan");
  const x = g.input("x", "float32", ["n", 3, "h", "w"]);
  g.input("t", "float32", ["n"]);
  g.output(g.node("Sqrt", [x]), "eps", "float32", ["n", 3, "h", "w"]);
  return g.toBytes();
}

/** A network that halves the spatial size (a wrong output shape for a DDPM). */
export function poolGraph(): Uint8Array {
  const g = new GraphBuilder("pool");
  const x = g.input("x", "float32", ["n", 3, "h", "w"]);
  g.input("t", "float32", ["n"]);
  g.output(
    g.node("AveragePool", [x], { kernel_shape: [2, 2], strides: [2, 2] }),
    "eps",
    "float32",
    ["n", 3, "h2", "w2"],
  );
  return g.toBytes();
}

/** Deterministic pseudo-random values in [-scale, scale]. */
export function randomValues(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 4294967296 * 2 - 1) * scale;
  }
  return out;
}

/** k 3x3 convolutions of `ch` channels with ReLU between, 3 channels in and out, + timestep bias. */
export function convNetGraph(ch: number, layers: number, seed = 1): Uint8Array {
  const g = new GraphBuilder("convnet");
  let h = g.input("x", "float32", ["n", 3, "h", "w"]);
  const t = g.input("t", "float32", ["n"]);
  let cin = 3;
  for (let l = 0; l < layers; l++) {
    const cout = l === layers - 1 ? 3 : ch;
    const w = randomValues(cout * cin * 9, seed + l, Math.sqrt(2 / (cin * 9)));
    const b = randomValues(cout, seed + 100 + l, 0.1);
    h = g.node("Conv", [h, g.constant("w", w, [cout, cin, 3, 3]), g.constant("b", b, [cout])], {
      pads: [1, 1, 1, 1],
    });
    if (l < layers - 1) h = g.node("Relu", [h]);
    cin = cout;
  }
  const t4 = g.node("Reshape", [
    g.node("Mul", [t, g.constant("k", new Float32Array([1e-3]), [])]),
    g.constant("s", [-1, 1, 1, 1], [4]),
  ]);
  g.output(g.node("Add", [h, t4]), "eps", "float32", ["n", 3, "h", "w"]);
  return g.toBytes();
}
