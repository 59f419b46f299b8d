// The edge preview's budget, measured against a real `cli.ts serve` process with its defaults:
// the latency of a default preview (a 64 px photo, task sr x4: a 256 px answer), eight
// concurrent requests (all answered, 200 or 429, within 20 s), the server's peak RSS (target
// 350 MB), and the CPU it spends in the 2 s after a client disconnects mid-run (target 0.3 s);
// also the streamed page's cost: time to the first x0 preview and to the end of the stream.
// Its last line is the quality cost of the default steps: PSNR against the 50-step result.
// Run: deno run -A tests/bench/preview_budget.ts [serve flags, e.g. --max-side 256 --steps 8]
// or, for the Deploy-style entry under restricted permissions: ... preview_budget.ts --deploy
import { decodeImage, imageToTensor, tensorToPng } from "../../lib/image.ts";
import { psnr } from "../../lib/metrics.ts";
import { fitWithin } from "../../preview/handler.ts";

const cli = new URL("../../cli.ts", import.meta.url).pathname;
const photo = imageToTensor(
  decodeImage(await Deno.readFile(new URL("../../assets/rocket_256.png", import.meta.url)), "r"),
  3,
);
const body = tensorToPng(fitWithin(photo, 64));

const deploy = new URL("../../preview/deploy.ts", import.meta.url).pathname;
const server = new Deno.Command(Deno.execPath(), {
  args: Deno.args[0] === "--deploy"
    ? [
      "serve",
      "--allow-net",
      "--allow-read",
      "--allow-env",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      deploy,
    ]
    : ["run", "-A", cli, "serve", "--port", "0", ...Deno.args],
  stderr: "piped",
  stdout: "null",
}).spawn();
const reader = server.stderr.pipeThrough(new TextDecoderStream()).getReader();
let base = "";
while (!base) {
  const { value, done } = await reader.read();
  if (done) throw new Error("the server did not start");
  base = /(http:\/\/[\d.]+:\d+)/.exec(value)?.[1] ?? "";
}
const proc = (field: "cpu" | "peak") => {
  if (field === "peak") {
    const m = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${server.pid}/status`));
    return Number(m![1]) / 1024;
  }
  const stat = Deno.readTextFileSync(`/proc/${server.pid}/stat`).split(") ")[1].split(" ");
  return (Number(stat[11]) + Number(stat[12])) / 100; // utime + stime, in clock ticks of 10 ms
};
const preview = (signal?: AbortSignal, query = "") =>
  fetch(`${base}/v1/restore?task=sr&scale=4${query}`, { method: "POST", body, signal });
const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1];

try {
  const cold = performance.now();
  await (await preview()).arrayBuffer(); // the first request loads the model
  console.log(
    `first preview (loads the model): ${((performance.now() - cold) / 1000).toFixed(2)} s`,
  );
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const r = await preview();
    await r.arrayBuffer();
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  console.log(
    `default preview: median ${times[2].toFixed(2)} s over 5 (target 2.0 s); ${
      times.map((t) => t.toFixed(2)).join(" ")
    }`,
  );
  const first: number[] = [], whole: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const r = await preview(undefined, "&stream=1");
    const events = r.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    for (let chunk = await events.read(); !chunk.done; chunk = await events.read()) {
      text += chunk.value;
      if (first.length === i && text.includes("event: progress")) {
        first.push((performance.now() - t0) / 1000);
      }
    }
    whole.push((performance.now() - t0) / 1000);
    if (!text.includes("event: done")) throw new Error(`the stream did not finish: ${text}`);
  }
  console.log(
    `streamed preview: first x0 preview after ${median(first).toFixed(2)} s, done after ${
      median(whole).toFixed(2)
    } s (medians over 5)`,
  );
  const t0 = performance.now();
  const statuses = await Promise.all(
    Array.from({ length: 8 }, async () => {
      const r = await preview();
      await r.arrayBuffer();
      return [r.status, (performance.now() - t0) / 1000] as const;
    }),
  );
  const last = Math.max(...statuses.map(([, t]) => t));
  console.log(
    `8 concurrent: statuses ${statuses.map(([s]) => s).join(" ")}, the last answered after ${
      last.toFixed(1)
    } s (target 20 s)`,
  );
  for (const [label, query] of [["plain", ""], ["streamed", "&stream=1"]]) {
    const stop = new AbortController();
    const gone = preview(stop.signal, query).then((r) => r.arrayBuffer()).catch(() => null);
    await new Promise((r) => setTimeout(r, 400));
    stop.abort();
    await gone;
    const cpu0 = proc("cpu");
    await new Promise((r) => setTimeout(r, 2000));
    console.log(
      `disconnect mid-run (${label}): ${
        (proc("cpu") - cpu0).toFixed(2)
      } s of server CPU in the 2 s after (target 0.3 s)`,
    );
  }
  console.log(`server peak RSS: ${proc("peak").toFixed(0)} MB (target 350 MB)`);
  const answer = async (query: string) => {
    const r = await preview(undefined, query);
    const png = new Uint8Array(await r.arrayBuffer());
    return { steps: r.headers.get("x-steps"), image: imageToTensor(decodeImage(png, "answer"), 3) };
  };
  const [fast, full] = [await answer(""), await answer("&steps=50")];
  console.log(
    `quality cost: ${fast.steps} steps are ${
      psnr(fast.image, full.image).toFixed(1)
    } dB from the ` +
      `50-step result (${fast.image.w}x${fast.image.h})`,
  );
} finally {
  server.kill();
  await server.status;
}
