// Test helper: small ONNX networks built in TypeScript.
import { GraphBuilder } from "../model/onnx_graph.ts";

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

/**
 * Small stand-in DiffBIR networks (stage 1, VAE encoder/decoder, latent denoiser with `cond`
 * and `context`) written with their manifests and a pipeline manifest into `dir`.
 */
export async function writeDiffbirStandIns(
  dir: string,
  options: { floatTime?: boolean } = {},
): Promise<string> {
  const save = async (name: string, bytes: Uint8Array, manifest: Record<string, unknown>) => {
    await Deno.writeFile(`${dir}/${name}.onnx`, bytes);
    await Deno.writeTextFile(`${dir}/${name}.json`, JSON.stringify(manifest));
  };
  // stage 1: a 3x3 smoothing per channel
  let g = new GraphBuilder("stage1");
  let x = g.input("lq", "float32", ["n", 3, "h", "w"]);
  const smooth = new Float32Array(27 * 3);
  for (let c = 0; c < 3; c++) {
    for (let k = 0; k < 9; k++) {
      smooth[(c * 3 + c) * 9 + k] = k === 4 ? 0.6 : 0.05;
    }
  }
  g.output(
    g.node("Conv", [x, g.constant("w", smooth, [3, 3, 3, 3])], { pads: [1, 1, 1, 1] }),
    "hq",
    "float32",
    ["n", 3, "h", "w"],
  );
  await save("stage1", g.toBytes(), {
    kind: "restorer",
    inputs: { x: "lq" },
    output: "hq",
    range: [0, 1],
  });
  // encoder: 8x8 stride-8 conv to 4 channels; decoder: its transpose
  const encW = randomValues(4 * 3 * 64, 21, 0.05);
  g = new GraphBuilder("enc");
  x = g.input("image", "float32", ["n", 3, "h", "w"]);
  g.output(
    g.node("Conv", [x, g.constant("w", encW, [4, 3, 8, 8])], { strides: [8, 8] }),
    "latent",
    "float32",
    ["n", 4, "h8", "w8"],
  );
  await save("enc", g.toBytes(), {
    kind: "vae-encoder",
    inputs: { x: "image" },
    output: "latent",
    range: [-1, 1],
  });
  g = new GraphBuilder("dec");
  x = g.input("latent", "float32", ["n", 4, "h", "w"]);
  g.output(
    g.node(
      "ConvTranspose",
      [x, g.constant("w", randomValues(4 * 3 * 64, 22, 0.05), [4, 3, 8, 8])],
      { strides: [8, 8] },
    ),
    "image",
    "float32",
    ["n", 3, "h8", "w8"],
  );
  await save("dec", g.toBytes(), {
    kind: "vae-decoder",
    inputs: { x: "latent" },
    output: "image",
    range: [-1, 1],
  });
  // denoiser: conv3x3(concat(x, cond)) + a context bias + a timestep term
  g = new GraphBuilder("den");
  x = g.input("x", "float32", ["n", 4, "h", "w"]);
  const t = g.input("t", options.floatTime ? "float32" : "int64", ["n"]);
  const cond = g.input("cond", "float32", ["n", 4, "h", "w"]);
  const ctx = g.input("context", "float32", ["n", 8]);
  const conv = g.node("Conv", [
    g.node("Concat", [x, cond], { axis: 1 }),
    g.constant("w", randomValues(4 * 8 * 9, 23, 0.2), [4, 8, 3, 3]),
  ], { pads: [1, 1, 1, 1] });
  const bias = g.node("Reshape", [
    g.node("MatMul", [ctx, g.constant("m", randomValues(32, 24, 0.3), [8, 4])]),
    g.constant("s", [-1, 4, 1, 1], [4]),
  ]);
  const tt = g.node("Reshape", [
    g.node("Mul", [
      options.floatTime ? t : g.node("Cast", [t], { to: 1 }),
      g.constant("k", new Float32Array([1e-3]), []),
    ]),
    g.constant("s1", [-1, 1, 1, 1], [4]),
  ]);
  g.output(g.node("Add", [g.node("Add", [conv, bias]), tt]), "eps", "float32", ["n", 4, "h", "w"]);
  await save("den", g.toBytes(), {
    kind: "latent-denoiser",
    inputs: { x: "x", t: "t", cond: "cond", context: "context" },
    output: "eps",
    timestep: { dtype: options.floatTime ? "float32" : "int64" },
    channels: 4,
  });
  const pipeline = `${dir}/pipeline.json`;
  await Deno.writeTextFile(
    pipeline,
    JSON.stringify({
      kind: "diffbir-pipeline",
      stage1: "stage1.onnx",
      vaeEncoder: "enc.onnx",
      vaeDecoder: "dec.onnx",
      denoiser: "den.onnx",
      scaleFactor: 0.18215,
    }),
  );
  return pipeline;
}

/** Stable Diffusion's (and DiffBIR's) training schedule, for sampler tests. */
export const LDM_SCHEDULE = {
  beta: "scaled_linear" as const,
  betaStart: 0.00085,
  betaEnd: 0.012,
  trainSteps: 1000,
};

/**
 * One `Conv` with 16 outputs, a `k`x`k` kernel padded to keep the size, random weights scaled so
 * outputs are of order 1 (docs/ort_webgpu.md's bug report); `side` fixes H and W, else dynamic.
 */
export function oneConvGraph(cin: number, k: number, side?: number): Uint8Array {
  const g = new GraphBuilder("one_conv");
  const hw = side ? [side, side] : ["h", "w"];
  const x = g.input("x", "float32", [1, cin, ...hw]);
  const fanIn = cin * k * k;
  const w = g.constant("w", randomValues(16 * fanIn, 7, 1 / Math.sqrt(fanIn)), [16, cin, k, k]);
  const b = g.constant("b", randomValues(16, 8, 0.1), [16]);
  const p = k >> 1;
  const y = g.node("Conv", [x, w, b], { kernel_shape: [k, k], pads: [p, p, p, p] });
  g.output(y, "y", "float32", [1, 16, ...hw]);
  return g.toBytes();
}
