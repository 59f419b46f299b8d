// ONNX Runtime Web's wasm thread pool, alone: a fresh process creates one session of a shipped
// network with N threads and runs it on a sequence of input sizes; a sequence with no answer
// within the limit hung (the process is killed). The reproducer of docs/ort_wasm_threads.md.
// Run: deno run -A tests/bench/ort_wasm_threads.ts [--threads 1,2] [--runs 3] [--limit 20]
// [--cases "192x128;128x192;64x64,192x128;192x192,192x128;192x192"] [--model FILE.onnx]
import { parseArgs } from "node:util";
import * as ort from "onnxruntime-web";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    child: { type: "boolean", default: false },
    threads: { type: "string", default: "1,2" },
    cases: {
      type: "string",
      default: "192x128;128x192;64x64,192x128;192x192,192x128;192x192;256x256",
    },
    runs: { type: "string", default: "3" },
    limit: { type: "string", default: "20" },
    model: {
      type: "string",
      default: new URL("../../model/builtin/unet_edge.onnx", import.meta.url).pathname,
    },
  },
});

if (values.child) {
  // one session, one call per size in turn: prints each call's seconds as it ends
  ort.env.wasm.numThreads = Number(values.threads);
  const session = await ort.InferenceSession.create(await Deno.readFile(values.model), {
    executionProviders: ["wasm"],
    graphOptimizationLevel: "all",
  });
  for (const size of values.cases.split(",")) {
    const [w, h] = size.split("x").map(Number);
    const x = new ort.Tensor("float32", new Float32Array(3 * w * h).fill(0.1), [1, 3, h, w]);
    const t = new ort.Tensor("float32", Float32Array.of(500), [1]);
    const t0 = performance.now();
    await session.run({ [session.inputNames[0]]: x, [session.inputNames[1]]: t });
    console.log(`${size}:${((performance.now() - t0) / 1000).toFixed(2)}`);
  }
  Deno.exit(0);
}

const self = new URL(import.meta.url).pathname;
console.log(`${values.model}, ${values.runs} fresh processes per case, limit ${values.limit} s`);
console.log("| threads | calls (W x H, in order) | hung | seconds per call, when all answered |");
console.log("|---|---|---|---|");
for (const threads of values.threads.split(",")) {
  for (const calls of values.cases.split(";")) {
    let hung = 0;
    const secs: string[] = [];
    for (let i = 0; i < Number(values.runs); i++) {
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          self,
          "--child",
          "--threads",
          threads,
          "--cases",
          calls,
          "--model",
          values.model,
        ],
        stdout: "piped",
        stderr: "null",
      }).spawn();
      const timer = setTimeout(() => child.kill("SIGKILL"), Number(values.limit) * 1000);
      const lines = new TextDecoder().decode((await child.output()).stdout).trim().split("\n");
      clearTimeout(timer);
      if (lines.filter((l) => l.includes(":")).length < calls.split(",").length) hung++;
      else secs.push(lines.map((l) => l.split(":")[1]).join("+"));
    }
    console.log(
      `| ${threads} | ${calls.replaceAll(",", " then ")} | ${hung} of ${values.runs} | ${
        secs.join(", ")
      } |`,
    );
  }
}
