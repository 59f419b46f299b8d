// The wasm runtime's first call on several threads: fresh `cli.ts serve --threads N` processes,
// each answering one preview (192x192 denoise, 2 steps, the wasm runtime's thread pool in use),
// counted as a hang when no answer comes within the limit. Issue 18 saw 3-4 of 6 first calls
// hang on 2 threads; this is its reproducer (docs/cli.md, "serve"). Optionally under CPU load
// (--load K busy processes). Run: deno run -A tests/bench/wasm_first_call.ts [--runs 10]
// [--threads 2] [--load 2] [--limit 30] [--model builtin:gmm] [--size 192x128]
import { parseArgs } from "node:util";
import { encodePng } from "../../lib/png.ts";
import { startServer } from "./_serve.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "10" },
    threads: { type: "string", default: "2" },
    load: { type: "string", default: "0" },
    limit: { type: "string", default: "30" },
    size: { type: "string", default: "192x192" },
    model: { type: "string", default: "builtin:unet-edge" },
  },
});
const cli = new URL("../../cli.ts", import.meta.url).pathname;
const [w, h] = values.size.split("x").map(Number);
let s = 1;
const body = encodePng(
  new Float32Array(3 * w * h).map(() => ((s = (s * 48271) % 2147483647) / 2147483647)),
  w,
  h,
  3,
);
const busy = Array.from(
  { length: Number(values.load) },
  () =>
    new Deno.Command(Deno.execPath(), { args: ["eval", "for (;;) {}"], stdout: "null" }).spawn(),
);
let hangs = 0;
const times: number[] = [];
try {
  for (let i = 0; i < Number(values.runs); i++) {
    const { process: server, base, stderr: reader } = await startServer([
      ...["run", "-A", cli, "serve", "--port", "0", "--threads", values.threads],
      ...["--model", values.model],
    ]);
    const t0 = performance.now();
    // the answer's status comes at once (the PNG is committed); a hang shows as a body that
    // never ends
    const answered = await (async () => {
      try {
        const r = await fetch(`${base}/v1/restore?task=denoise&steps=2`, {
          method: "POST",
          body,
          signal: AbortSignal.timeout(Number(values.limit) * 1000),
        });
        await r.arrayBuffer();
        return r.status;
      } catch {
        return null;
      }
    })();
    const secs = (performance.now() - t0) / 1000;
    if (answered === null) hangs++;
    else times.push(secs);
    console.log(
      `run ${i + 1}: ${
        answered === null ? `no answer in ${values.limit} s` : `${answered} in ${secs.toFixed(2)} s`
      }`,
    );
    server.kill("SIGKILL");
    await server.status;
    await reader.cancel().catch(() => {});
  }
} finally {
  for (const b of busy) b.kill("SIGKILL");
}
console.log(
  `${hangs} hangs in ${values.runs} first calls of ${values.model} on ${values.threads} wasm threads (${values.size}, load ${values.load}); answered in ${
    times.length ? Math.min(...times).toFixed(2) : "-"
  }-${times.length ? Math.max(...times).toFixed(2) : "-"} s`,
);
