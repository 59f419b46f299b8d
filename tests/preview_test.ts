import assert from "node:assert/strict";
import { createPreviewHandler, PREVIEW_MAX_SIDE } from "../preview/handler.ts";
import { fitWithin } from "../preview/preview_request.ts";
import { decodeImage } from "../lib/image.ts";
import { encodePng } from "../lib/png.ts";
import { Tensor } from "../lib/tensor.ts";
import { randomValues } from "./_graphs.ts";
import { BUILTIN_MODELS } from "../model/builtin_models.ts";

const photo = await Deno.readFile(new URL("../assets/rocket_256.png", import.meta.url));
const handler = createPreviewHandler({ defaultSteps: 6 });
const post = (
  query: string,
  body: BodyInit | null,
  headers: Record<string, string> = { "content-type": "image/png" },
) => handler(new Request(`http://x/v1/restore?${query}`, { method: "POST", body, headers }));

/** A plain answer read as a client does: the PNG without the heartbeat chunks, or the status and
 * error of a failure (a JSON error before the commit, a `drEr` chunk after it). */
async function plainResult(
  res: Response,
): Promise<{ status: number; png?: Uint8Array; error?: string }> {
  if (res.status !== 200) return { status: res.status, error: (await res.json()).error };
  const parts: Uint8Array[] = [];
  const reader = res.body!.getReader();
  let broken = false;
  try {
    for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(r.value);
  } catch {
    broken = true;
  }
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((o, p) => (all.set(p, o), o + p.length), 0);
  const kept: Uint8Array[] = [all.subarray(0, 8)];
  let error: { status: number; error: string } | undefined;
  for (let pos = 8; pos + 12 <= all.length;) {
    const len = new DataView(all.buffer, all.byteOffset + pos).getUint32(0);
    const type = String.fromCharCode(...all.subarray(pos + 4, pos + 8));
    const chunk = all.subarray(pos, pos + 12 + len);
    if (type === "drEr") error = JSON.parse(new TextDecoder().decode(chunk.subarray(8, 8 + len)));
    else if (type !== "drPg") kept.push(chunk);
    pos += 12 + len;
  }
  if (error) {
    assert.ok(broken, "a failed run's body does not end cleanly");
    return error;
  }
  assert.ok(!broken);
  const png = new Uint8Array(kept.reduce((n, p) => n + p.length, 0));
  kept.reduce((o, p) => (png.set(p, o), o + p.length), 0);
  return { status: 200, png };
}

async function errorOf(res: Response): Promise<string> {
  assert.equal(res.headers.get("content-type"), "application/json");
  return (await res.json()).error;
}

Deno.test("preview: page, health, and a restored PNG whose long side is the default 192", async () => {
  const page = await handler(new Request("http://x/"));
  assert.equal(page.status, 200);
  assert.match(
    await page.text(),
    /<title>diffrestore preview<\/title>[\s\S]*id="drop"[\s\S]*id="slider"/,
  );
  const health = await handler(new Request("http://x/healthz"));
  assert.equal(await health.text(), "ok");
  const res = await post("task=sr&scale=4&steps=5&seed=1", photo);
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get("content-type"), "image/png");
  const img = decodeImage(new Uint8Array(await res.arrayBuffer()), "out.png");
  assert.equal(PREVIEW_MAX_SIDE, 192);
  assert.equal(Math.max(img.width, img.height), PREVIEW_MAX_SIDE);
  // a wide input: the output keeps the aspect ratio within the long side
  const wide = encodePng(randomValues(3 * 40 * 120, 1).map((v) => 0.5 + 0.3 * v), 120, 40, 3);
  const w = decodeImage(
    new Uint8Array(await (await post("task=denoise&steps=3", wide)).arrayBuffer()),
    "w.png",
  );
  assert.deepEqual([w.width, w.height], [120, 40]);
});

Deno.test("preview: the same request and seed give the same PNG (heartbeats aside); another seed does not", async () => {
  const a = (await plainResult(await post("task=colorize&steps=4&seed=3", photo))).png;
  const b = (await plainResult(await post("task=colorize&steps=4&seed=3", photo))).png;
  const c = (await plainResult(await post("task=colorize&steps=4&seed=4", photo))).png;
  assert.ok(a && decodeImage(a, "a.png").width === PREVIEW_MAX_SIDE);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

Deno.test("preview: inpainting from a multipart mask and from transparent pixels", async () => {
  const form = new FormData();
  form.append("image", new Blob([photo], { type: "image/png" }), "p.png");
  const mask = new Float32Array(256 * 256).fill(1);
  for (let i = 100; i < 150; i++) mask.fill(0, i * 256 + 100, i * 256 + 150);
  form.append("mask", new Blob([encodePng(mask, 256, 256, 1)], { type: "image/png" }), "m.png");
  const res = await handler(
    new Request("http://x/v1/restore?task=inpaint&steps=4", { method: "POST", body: form }),
  );
  assert.equal(res.status, 200, await res.clone().text());
  const out = decodeImage(new Uint8Array(await res.arrayBuffer()), "o.png");
  const src = decodeImage(photo, "p.png");
  const fitted = fitWithin(new Tensor([1, 3, src.height, src.width], src.pixels), PREVIEW_MAX_SIDE);
  // known pixels are kept (up to 8-bit rounding)
  const at = 10 * out.width + 10;
  assert.ok(Math.abs(out.pixels[at] - fitted.data[at]) < 1.5 / 255);
  const noMask = await post("task=inpaint", photo);
  assert.equal(noMask.status, 400);
  assert.match(await errorOf(noMask), /needs a 'mask' field or a PNG with transparent pixels/);
});

Deno.test("preview: bad requests get 400/404/405 JSON errors", async () => {
  assert.match(
    await errorOf(await post("task=deblur", photo)),
    /task must be one of sr-bicubic, sr, colorize, denoise, inpaint/,
  );
  const cap = await post("task=sr&steps=51", photo);
  assert.equal(cap.status, 400);
  assert.match(await errorOf(cap), /steps=51 must be an integer in \[1, 50\]/);
  assert.match(await errorOf(await post("task=sr&scale=0", photo)), /scale=0/);
  assert.match(
    await errorOf(await post("task=sr", new Uint8Array([1, 2, 3]))),
    /not a PNG or JPEG/,
  );
  assert.match(await errorOf(await post("task=sr", null)), /no image/);
  const truncated = await post("task=sr", photo.slice(0, 500));
  assert.equal(truncated.status, 400);
  assert.match(await errorOf(truncated), /truncated PNG/);
  assert.equal((await handler(new Request("http://x/v1/restore"))).status, 405);
  assert.equal((await handler(new Request("http://x/nope"))).status, 404);
});

Deno.test("preview: 413 for oversize bodies without reading them whole", async () => {
  const small = createPreviewHandler({ maxBodyBytes: 1000 });
  const declared = await small(
    new Request("http://x/v1/restore", {
      method: "POST",
      body: photo,
      headers: { "content-type": "image/png" },
    }),
  );
  assert.equal(declared.status, 413);
  // a streamed body with no length: the handler stops pulling chunks once past the limit
  let pulled = 0;
  const endless = new ReadableStream<Uint8Array>({
    pull(c) {
      pulled++;
      if (pulled > 10_000) c.close();
      else c.enqueue(new Uint8Array(512));
    },
  });
  const streamed = await small(
    new Request("http://x/v1/restore", {
      method: "POST",
      body: endless,
      headers: { "content-type": "image/png" },
    }),
  );
  assert.equal(streamed.status, 413);
  assert.ok(pulled < 10, `pulled ${pulled} chunks of 512 bytes`);
});

Deno.test("preview: 429 when the queue is full, 504 past the time budget", async () => {
  const tight = createPreviewHandler({ concurrency: 1, queue: 0, defaultSteps: 30 });
  const req = () =>
    tight(new Request("http://x/v1/restore?task=sr&scale=2", { method: "POST", body: photo }));
  const [a, b] = await Promise.all([req(), req()]);
  assert.deepEqual([a.status, b.status].sort(), [200, 429]);
  await plainResult(a.status === 200 ? a : b);
  // past the budget after the PNG was committed: the body ends with the 504 in-band, no IEND
  const slow = createPreviewHandler({ timeoutMs: 1, defaultSteps: 50 });
  const late = await slow(
    new Request("http://x/v1/restore?task=sr", { method: "POST", body: photo }),
  );
  assert.equal(late.status, 200);
  assert.equal(late.headers.get("content-type"), "image/png");
  const r = await plainResult(late);
  assert.equal(r.status, 504, JSON.stringify(r));
  assert.equal(r.png, undefined);
});

Deno.test("preview: 6 concurrent requests over HTTP all succeed and the server stays healthy", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    createPreviewHandler({ defaultSteps: 5 }),
  );
  const base = `http://127.0.0.1:${server.addr.port}`;
  const results = await Promise.all(
    Array.from(
      { length: 6 },
      (_, k) =>
        fetch(`${base}/v1/restore?task=${["sr", "colorize", "denoise"][k % 3]}&seed=${k}`, {
          method: "POST",
          body: photo,
          headers: { "content-type": "image/png" },
        })
          .then(async (r) => ({ status: r.status, bytes: (await r.arrayBuffer()).byteLength })),
    ),
  );
  for (const r of results) {
    assert.equal(r.status, 200);
    assert.ok(r.bytes > 1000);
  }
  assert.equal(await (await fetch(`${base}/healthz`)).text(), "ok");
  await server.shutdown();
});

Deno.test("fitWithin: box downscale keeps means and never upscales", () => {
  const t = new Tensor([1, 1, 4, 8], Float32Array.from({ length: 32 }, (_, i) => i % 2));
  const f = fitWithin(t, 4);
  assert.deepEqual(f.shape, [1, 1, 2, 4]);
  assert.ok(f.data.every((v) => Math.abs(v - 0.5) < 1e-6));
  assert.equal(fitWithin(t, 100), t);
});

Deno.test("preview: a client that goes away stops its run within a step", async () => {
  const h = createPreviewHandler({ defaultSteps: 50, maxSteps: 50 });
  const oneStep = async () => {
    const t = performance.now();
    const r = await h(
      new Request("http://x/v1/restore?task=sr&scale=4&steps=1", { method: "POST", body: photo }),
    );
    await r.arrayBuffer();
    return performance.now() - t;
  };
  await oneStep(); // warm the model up so the run below is all sampling
  // what a step (with its request's overhead) takes on this machine now: a loaded machine is slower
  const step = await oneStep();
  const client = new AbortController();
  const req = new Request("http://x/v1/restore?task=sr&scale=4&steps=50", {
    method: "POST",
    body: photo,
    signal: client.signal,
  });
  const t0 = performance.now();
  const res = await h(req);
  assert.equal(res.status, 200, "a valid request is committed at once");
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(h.running, 1);
  const aborted = performance.now();
  client.abort();
  await res.body!.cancel().catch(() => {});
  while (h.running > 0 && performance.now() - aborted < 5000) {
    await new Promise((r) => setTimeout(r, 5));
  }
  const after = performance.now() - aborted;
  assert.equal(h.running, 0, "the slot is free again");
  // 50 steps take seconds; stopping takes about one: less than three one-step requests (or 0.5 s)
  assert.ok(
    after < Math.max(500, 3 * step),
    `stopped ${after.toFixed(0)} ms after the client left (run began ${
      (aborted - t0).toFixed(0)
    } ms in; a one-step request takes ${step.toFixed(0)} ms)`,
  );
});

// the events of a streamed answer, as they come
async function* sse(res: Response): AsyncGenerator<[string, Record<string, unknown>]> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buf += value;
      for (let cut; (cut = buf.indexOf("\n\n")) >= 0; buf = buf.slice(cut + 2)) {
        const block = buf.slice(0, cut);
        if (block.startsWith(":")) continue; // heartbeat
        yield [block.match(/^event: (.*)$/m)![1], JSON.parse(block.match(/^data: (.*)$/m)![1])];
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

const pngOf = (dataUrl: unknown) => {
  const [head, b64] = String(dataUrl).split(",");
  assert.equal(head, "data:image/png;base64");
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
};

Deno.test("preview: streamed progress carries every step's x0 and ends with the plain answer's bytes", async () => {
  // the edge network's SR defaults: warm start 0.2 of 15 steps (3 calls), the mean of 2 samples
  const plain = (await plainResult(await post("task=sr&scale=4&seed=3&steps=15", photo))).png!;
  const res = await post("task=sr&scale=4&seed=3&steps=15&stream=1", photo);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/event-stream; charset=utf-8");
  const steps: number[] = [];
  const previews: Float32Array[] = [];
  let done: Record<string, unknown> | null = null;
  for await (const [name, data] of sse(res)) {
    if (name === "progress") {
      steps.push(data.step as number);
      assert.equal(data.total, 6);
      const img = decodeImage(pngOf(data.image), "x0");
      assert.deepEqual([img.width, img.height], [PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE]);
      previews.push(img.pixels);
    } else if (name === "done") done = data;
    else assert.fail(`unexpected event ${name}: ${JSON.stringify(data)}`);
  }
  assert.deepEqual(steps, [1, 2, 3, 4, 5, 6]);
  assert.ok(done);
  assert.deepEqual([done.width, done.height, done.steps, done.seed], [
    PREVIEW_MAX_SIDE,
    PREVIEW_MAX_SIDE,
    15,
    3,
  ]);
  assert.deepEqual(pngOf(done.image), plain, "streamed and plain results are the same PNG");
  // the x0 estimates approach the result
  const final = decodeImage(plain, "result").pixels;
  const gap = (p: Float32Array) => p.reduce((s, v, i) => s + Math.abs(v - final[i]), 0) / p.length;
  assert.ok(
    gap(previews.at(-1)!) < gap(previews[0]) / 2,
    `${gap(previews[0])} -> ${gap(previews.at(-1)!)}`,
  );
});

Deno.test("preview: streamed errors keep their status; bad input still answers JSON 400", async () => {
  const bad = await post("task=sr&steps=0&stream=1", photo);
  assert.equal(bad.status, 400);
  assert.match(await errorOf(bad), /steps=0/);
  const h = createPreviewHandler({ defaultSteps: 6, timeoutMs: 1 });
  const res = await h(
    new Request("http://x/v1/restore?task=sr", {
      method: "POST",
      body: photo,
      headers: { accept: "text/event-stream" },
    }),
  );
  const events = [];
  for await (const e of sse(res)) events.push(e);
  assert.deepEqual(events.at(-1), [
    "error",
    { status: 504, error: "the restoration ran past its time budget" },
  ]);
});

Deno.test("preview: cancelling a stream stops its run on the server within a step", async () => {
  const h = createPreviewHandler({ defaultSteps: 50, maxSteps: 50 });
  const res = await h(
    new Request("http://x/v1/restore?task=sr&scale=4&steps=50&stream=1", {
      method: "POST",
      body: photo,
    }),
  );
  let seen = 0;
  for await (const [name] of sse(res)) {
    if (name === "progress" && ++seen === 2) break; // leaving the loop cancels the stream
  }
  assert.equal(seen, 2);
  const left = performance.now();
  while (h.running > 0 && performance.now() - left < 5_000) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(h.running, 0, "the run stopped: its slot is free long before 48 more steps");
  // the next request gets the slot at once and completes
  const next = await h(
    new Request("http://x/v1/restore?task=sr&scale=4&steps=2", { method: "POST", body: photo }),
  );
  assert.equal(next.status, 200);
});

Deno.test("preview: sr-bicubic is the default task; IR-SDE denoises with its trained steps", async () => {
  const r = await plainResult(await post("scale=4&steps=2", photo));
  assert.equal(r.status, 200, r.error);
  // without steps, the model's own per-task default
  const own = createPreviewHandler();
  const small = encodePng(randomValues(3 * 32 * 32, 2).map((v) => 0.5 + 0.3 * v), 32, 32, 3);
  const m = BUILTIN_MODELS["unet-edge"].manifest;
  const res = await own(
    new Request("http://x/v1/restore?task=denoise", { method: "POST", body: small }),
  );
  assert.equal(
    res.headers.get("x-steps"),
    String(m.defaults.tasks?.denoise?.steps ?? m.defaults.steps),
  );
  assert.equal((await plainResult(res)).status, 200);
  const irsde = await post("task=denoise&method=irsde", photo);
  assert.equal(irsde.headers.get("x-steps"), String(BUILTIN_MODELS.irsde.manifest.sde!.T));
  const out = await plainResult(irsde);
  assert.equal(out.status, 200, out.error);
  assert.equal(decodeImage(out.png!, "o.png").width, PREVIEW_MAX_SIDE);
  const wrong = await post("task=sr&method=irsde", photo);
  assert.equal(wrong.status, 400);
  assert.match(await errorOf(wrong), /method irsde restores task=denoise only/);
  const steps = await post("task=denoise&method=irsde&steps=5", photo);
  assert.equal(steps.status, 400);
  assert.match(await errorOf(steps), /drop 'steps'/);
});

// wait until the handler has no run, up to 5 s; the milliseconds it took
async function idleWithin(h: { readonly running: number }): Promise<number> {
  const t0 = performance.now();
  while (h.running > 0 && performance.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 5));
  return performance.now() - t0;
}

Deno.test({
  name:
    "preview over HTTP/1.1: a plain request stops when its client closes the socket or is killed",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const h = createPreviewHandler({ defaultSteps: 50, maxSteps: 50 });
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, h);
    const port = server.addr.port, query = "/v1/restore?task=sr&scale=4&steps=50";
    try {
      await plainResult(
        await fetch(`http://127.0.0.1:${port}${query.replace("50", "1")}`, {
          method: "POST",
          body: photo,
        }),
      );
      // a client that closes its socket once the answer has begun
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      const head = `POST ${query} HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n` +
        `Content-Length: ${photo.length}\r\n\r\n`;
      await conn.write(new TextEncoder().encode(head));
      await conn.write(photo);
      const buf = new Uint8Array(256);
      const n = await conn.read(buf);
      assert.match(new TextDecoder().decode(buf.subarray(0, n ?? 0)), /^HTTP\/1\.1 200/);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(h.running, 1, "the run is under way");
      conn.close();
      const closed = await idleWithin(h);
      assert.equal(h.running, 0);
      assert.ok(closed < 1000, `stopped ${closed.toFixed(0)} ms after the socket closed`);
      // a client process that is killed mid-run
      const photoPath = new URL("../assets/rocket_256.png", import.meta.url).pathname;
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "eval",
          `const r = await fetch("http://127.0.0.1:${port}${query}", { method: "POST", ` +
          `body: await Deno.readFile("${photoPath}") }); await r.body.getReader().read(); ` +
          `setInterval(() => {}, 1000);`,
        ],
        stdout: "null",
        stderr: "null",
      }).spawn();
      const t0 = performance.now();
      while (h.running === 0 && performance.now() - t0 < 20_000) {
        await new Promise((r) => setTimeout(r, 10));
      }
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(h.running, 1, "the killed client's run started");
      child.kill("SIGKILL");
      await child.status;
      const killed = await idleWithin(h);
      assert.equal(h.running, 0);
      assert.ok(killed < 1000, `stopped ${killed.toFixed(0)} ms after the client was killed`);
    } finally {
      await server.shutdown();
    }
  },
});
