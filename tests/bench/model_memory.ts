// Peak memory of loading a large model and calling it once, per CPU runtime (a generated
// network of about 1 GB: four 8192x8192 float32 MatMul weights). The native runtime reads the
// file itself, so its peak should stay near the file size (target: at most 1.3x); the wasm
// runtime receives the bytes from JS and keeps them in its own heap too.
// Run: deno run -A tests/bench/model_memory.ts
import { GraphBuilder } from "../../model/onnx_graph.ts";
import { createSession } from "../../model/ort_runtime.ts";
import { peakRssMb } from "./_peak_rss.ts";

const N = 8192, LAYERS = 4;
const path = `${Deno.env.get("TMPDIR") ?? "/tmp"}/diffrestore-bench-1gb.onnx`;

if (Deno.args[0] === "--child") {
  const runtime = Deno.args[1] as "native" | "wasm";
  const t0 = performance.now();
  const session = await createSession(path, { runtime });
  const t1 = performance.now();
  const x = new Float32Array(N).fill(0.01);
  const out = await session.run({ x: { type: "float32", data: x, dims: [1, N] } }, ["y"]);
  const t2 = performance.now();
  console.log(JSON.stringify({
    peak: peakRssMb(),
    load: (t1 - t0) / 1000,
    call: (t2 - t1) / 1000,
    finite: out.y.data.every(Number.isFinite),
  }));
  Deno.exit(0);
}

if (!(await Deno.stat(path).then(() => true, () => false))) {
  const g = new GraphBuilder("big");
  let v = g.input("x", "float32", [1, N]);
  let seed = 1;
  for (let l = 0; l < LAYERS; l++) {
    const w = new Float32Array(N * N);
    for (let i = 0; i < w.length; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      w[i] = (seed / 4294967296 - 0.5) / N;
    }
    v = g.node("MatMul", [v, g.constant(`w${l}`, w, [N, N])]);
  }
  g.output(v, "y", "float32", [1, N]);
  await Deno.writeFile(path, g.toBytes());
}
const size = (await Deno.stat(path)).size / 2 ** 20;
console.log(`generated model: ${LAYERS} x MatMul ${N}x${N}, ${size.toFixed(0)} MB (${path})`);
for (const runtime of ["native", "wasm"]) {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, "--child", runtime],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const line = new TextDecoder().decode(r.stdout).trim().split("\n").pop() ?? "";
  try {
    const m = JSON.parse(line);
    console.log(
      `${runtime.padEnd(6)}  load ${m.load.toFixed(1)} s, one call ${m.call.toFixed(2)} s, ` +
        `peak RSS ${m.peak.toFixed(0)} MB = ${(m.peak / size).toFixed(2)}x the file` +
        (runtime === "native" ? " (target <= 1.3x)" : ""),
    );
  } catch {
    console.log(`${runtime}: failed (exit ${r.code})`);
  }
}
