/**
 * The built-in Gaussian prior's ε-predictor as an ONNX graph (kept apart from the prior's
 * math so that the protobuf encoder loads only when a graph is built).
 *
 * @module
 */

import { GraphBuilder } from "../onnx_graph.ts";
import { alphaBarFloat32, betaSchedule } from "../../schedules/beta_schedule.ts";
import type { GaussianPriorParams } from "./gaussian_prior.ts";

function _dctInGraph(g: GraphBuilder, n: string): { d: string; k: string; nf: string } {
  const nf = g.node("Cast", [n], { to: 1 });
  const k = g.node("Cast", [
    g.node("Range", [g.constant("zero", [0], []), n, g.constant("one", [1], [])]),
  ], { to: 1 });
  const j2 = g.node("Add", [
    g.node("Mul", [k, g.constant("two", new Float32Array([2]), [])]),
    g.constant("onef", new Float32Array([1]), []),
  ]);
  const axis1 = g.constant("ax1", [1], [1]);
  const axis0 = g.constant("ax0", [0], [1]);
  const outer = g.node("Mul", [g.node("Unsqueeze", [k, axis1]), g.node("Unsqueeze", [j2, axis0])]);
  const step = g.node("Div", [g.constant("halfpi", new Float32Array([Math.PI / 2]), []), nf]);
  const cos = g.node("Cos", [g.node("Mul", [outer, step])]);
  const rowScale = g.node("Where", [
    g.node("Equal", [k, g.constant("zerof", new Float32Array([0]), [])]),
    g.node("Sqrt", [g.node("Reciprocal", [nf])]),
    g.node("Sqrt", [g.node("Div", [g.constant("twof", new Float32Array([2]), []), nf])]),
  ]);
  return { d: g.node("Mul", [cos, g.node("Unsqueeze", [rowScale, axis1])]), k, nf };
}

/**
 * The prior's ε-predictor as an ONNX graph that works at any image size.
 *
 * The DCT matrices and the spectrum are computed inside the graph from the input's shape,
 * so one file serves every size. Inputs `x` [n,3,H,W] and `t` [n] (float32 timestep of the
 * 1000-step linear schedule); output `eps` [n,3,H,W].
 *
 * @param p The fitted parameters.
 * @returns The `.onnx` bytes.
 */
export function gaussianPriorGraph(p: GaussianPriorParams): Uint8Array {
  const g = new GraphBuilder("gaussian_prior");
  const x = g.input("x", "float32", ["n", 3, "h", "w"]);
  const t = g.input("t", "float32", ["n"]);
  g.output(gaussianPriorEpsNodes(g, x, t, p), "eps", "float32", ["n", 3, "h", "w"]);
  return g.toBytes();
}

/**
 * Add the Gaussian prior's ε-predictor to a graph under construction (so another prior can
 * use its estimate).
 *
 * @param g The graph.
 * @param x The state x_t value [n,3,H,W].
 * @param t The timestep value [n] (float32).
 * @param p The prior's parameters.
 * @returns The name of the ε value.
 */
export function gaussianPriorEpsNodes(
  g: GraphBuilder,
  x: string,
  t: string,
  p: GaussianPriorParams,
): string {
  const table = alphaBarFloat32(
    betaSchedule("linear", { betaStart: 1e-4, betaEnd: 0.02, trainSteps: 1000 }),
  );
  const ab = g.node("Reshape", [
    g.node("Gather", [g.constant("alphabar", table, [1000]), g.node("Cast", [t], { to: 7 })], {
      axis: 0,
    }),
    g.constant("shape4", [-1, 1, 1, 1], [4]),
  ]);
  const oneMinus = g.node("Sub", [g.constant("one", new Float32Array([1]), []), ab]);
  const mu = g.constant("mean", new Float32Array(p.mean), [1, 3, 1, 1]);
  const centred = g.node("Sub", [x, g.node("Mul", [g.node("Sqrt", [ab]), mu])]);
  const q = g.constant("basis", new Float32Array(p.basis.flat()), [3, 3, 1, 1]);
  const qt = g.constant(
    "basisT",
    new Float32Array([0, 1, 2].flatMap((i) => [0, 1, 2].map((k) => p.basis[k][i]))),
    [3, 3, 1, 1],
  );
  const rotated = g.node("Conv", [centred, q]);
  const shape = g.node("Shape", [x]);
  const h = g.node("Gather", [shape, g.constant("i2", [2], [])], { axis: 0 });
  const w = g.node("Gather", [shape, g.constant("i3", [3], [])], { axis: 0 });
  const dh = _dctInGraph(g, h);
  const dw = _dctInGraph(g, w);
  const coeffs = g.node("MatMul", [
    g.node("MatMul", [dh.d, rotated]),
    g.node("Transpose", [dw.d], { perm: [1, 0] }),
  ]);
  // squared frequency of coefficient (ky, kx): (ky / 2H)² + (kx / 2W)²
  const fy = g.node("Div", [
    dh.k,
    g.node("Mul", [dh.nf, g.constant("two", new Float32Array([2]), [])]),
  ]);
  const fx = g.node("Div", [
    dw.k,
    g.node("Mul", [dw.nf, g.constant("two", new Float32Array([2]), [])]),
  ]);
  const f2 = g.node("Add", [
    g.node("Unsqueeze", [g.node("Mul", [fy, fy]), g.constant("ax1", [1], [1])]),
    g.node("Unsqueeze", [g.node("Mul", [fx, fx]), g.constant("ax0", [0], [1])]),
  ]);
  const spectrum = g.node("Add", [
    g.node("Mul", [
      g.constant("amp", new Float32Array(p.amplitude), [3, 1, 1]),
      g.node("Pow", [
        g.node("Add", [f2, g.constant("f0sq", new Float32Array([p.f0 * p.f0]), [])]),
        g.constant("expo", new Float32Array(p.alpha.map((a) => -a / 2)), [3, 1, 1]),
      ]),
    ]),
    g.constant("floor", new Float32Array(p.floor), [3, 1, 1]),
  ]);
  const gain = g.node("Div", [
    g.node("Sqrt", [oneMinus]),
    g.node("Add", [g.node("Mul", [ab, spectrum]), oneMinus]),
  ]);
  const filtered = g.node("Mul", [coeffs, gain]);
  const back = g.node("MatMul", [
    g.node("MatMul", [g.node("Transpose", [dh.d], { perm: [1, 0] }), filtered]),
    dw.d,
  ]);
  return g.node("Conv", [back, qt]);
}
