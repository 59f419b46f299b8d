// Models by URL from a loopback server: downloaded once into the cache and used offline
// afterwards; a 404, a truncated body, a stall and a wrong hash each give one error line and
// cache nothing. A DiffBIR pipeline by URL brings its members along.
import assert from "node:assert/strict";
import { decodeNpy } from "../lib/npy.ts";
import { errorLines, runCli } from "./_cli.ts";

const models = new URL("../testdata/conformance/models/", import.meta.url).pathname;
const cases = new URL("../testdata/conformance/", import.meta.url).pathname;

/** Serve the test models under /ok/, and the failure modes under other prefixes. */
function serve(): { url: string; close: () => Promise<void>; hits: string[] } {
  const hits: string[] = [];
  const stalls: ReturnType<typeof setTimeout>[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    hits.push(path);
    const [, mode, name] = path.split("/");
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(models + name);
    } catch {
      return new Response("not found", { status: 404 });
    }
    if (mode === "missing" && name.endsWith(".onnx")) return new Response("gone", { status: 404 });
    if (mode === "truncated" && name.endsWith(".onnx")) {
      // the promised length, then the connection ends early
      const half = bytes.subarray(0, bytes.length >> 1);
      return new Response(
        new ReadableStream({
          start(c) {
            c.enqueue(half);
            c.close(); // fewer bytes than the content-length promised: the connection ends short
          },
        }),
        { headers: { "content-length": String(bytes.length) } },
      );
    }
    if (mode === "stall" && name.endsWith(".onnx")) {
      return new Response(
        new ReadableStream({
          start(c) {
            c.enqueue(bytes.subarray(0, 100));
            stalls.push(setTimeout(() => c.close(), 8000));
          },
        }),
      );
    }
    return new Response(bytes as Uint8Array<ArrayBuffer>);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    hits,
    close: async () => {
      stalls.forEach(clearTimeout);
      await server.shutdown();
    },
  };
}

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      if (e.isDirectory) await walk(`${d}/${e.name}`);
      else out.push(e.name);
    }
  };
  await walk(dir).catch(() => {});
  return out.sort();
}

const ddnm = (model: string) => [
  "restore",
  "lq.png",
  "--method",
  "ddnm",
  "--task",
  "sr",
  "--scale",
  "4",
  "--steps",
  "20",
  "--noise",
  "noise.npy",
  "--model",
  model,
  "--quiet",
];

Deno.test("a model by URL: downloaded once, then used from the cache with the server gone", async () => {
  const cache = await Deno.makeTempDir();
  const env = { DIFFRESTORE_CACHE: cache };
  const out = await Deno.makeTempDir();
  const s = serve();
  const first = await runCli(
    [...ddnm(`${s.url}/ok/tiny_eps.onnx`), "-o", `${out}/a.npy`],
    `${cases}ddnm_sr4`,
    env,
  );
  await s.close();
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual(s.hits.sort(), ["/ok/tiny_eps.json", "/ok/tiny_eps.onnx"]);
  assert.deepEqual(await files(cache), ["tiny_eps.json", "tiny_eps.onnx"]);
  // the server is gone: the cache serves the same model
  const second = await runCli(
    [...ddnm(`${s.url}/ok/tiny_eps.onnx`), "-o", `${out}/b.npy`],
    `${cases}ddnm_sr4`,
    env,
  );
  assert.equal(second.code, 0, second.stderr);
  const a = decodeNpy(await Deno.readFile(`${out}/a.npy`)).data;
  const b = decodeNpy(await Deno.readFile(`${out}/b.npy`)).data;
  const ref = decodeNpy(await Deno.readFile(`${cases}ddnm_sr4/ref.npy`)).data;
  assert.deepEqual(a, b);
  assert.ok(ref.every((v, i) => Math.abs(v - a[i]) < 2e-4), "the conformance case's output");
});

Deno.test("a model by URL: 404, truncated body, stall and wrong hash cache nothing", async () => {
  const s = serve();
  const sha = "0".repeat(64);
  for (
    const [mode, extra, env, pattern] of [
      ["missing", [], {}, /HTTP 404/],
      ["truncated", [], {}, /download .*tiny_eps\.onnx failed: .*nothing was cached/],
      ["stall", [], { DIFFRESTORE_DOWNLOAD_TIMEOUT: "1" }, /timed out; nothing was cached/],
      ["ok", ["--sha256", sha], {}, /SHA-256 is [0-9a-f]{64}, expected 0{64}/],
    ] as const
  ) {
    const cache = await Deno.makeTempDir();
    const r = await runCli(
      [...ddnm(`${s.url}/${mode}/tiny_eps.onnx`), ...extra, "-o", `${cache}/out.npy`],
      `${cases}ddnm_sr4`,
      { DIFFRESTORE_CACHE: `${cache}/models`, ...env },
    );
    assert.equal(r.code, 1, `${mode}: ${r.stderr}`);
    const lines = errorLines(r.stderr);
    assert.equal(lines.length, 1, `${mode}: ${r.stderr}`);
    assert.match(lines[0], pattern);
    const left = (await files(`${cache}/models`)).filter((f) =>
      f.endsWith(".onnx") || f.endsWith(".part")
    );
    assert.deepEqual(left, [], `${mode}: no model file cached`);
  }
  await s.close();
});

Deno.test("a DiffBIR pipeline by URL brings its members along", async () => {
  const cache = await Deno.makeTempDir();
  const s = serve();
  const dir = `${cases}diffbir_spaced_cfg_guidance`;
  const c = JSON.parse(await Deno.readTextFile(`${dir}/case.json`));
  const cli = (c.cli as string[]).map((a) =>
    a.startsWith("MODELS/") ? `${s.url}/ok/${a.slice("MODELS/".length)}` : a
  );
  const out = `${cache}/out.npy`;
  const r = await runCli(["restore", "lq.png", "-o", out, ...cli, "--quiet"], dir, {
    DIFFRESTORE_CACHE: `${cache}/models`,
  });
  await s.close();
  assert.equal(r.code, 0, r.stderr);
  const got = decodeNpy(await Deno.readFile(out)).data;
  const ref = decodeNpy(await Deno.readFile(`${dir}/ref.npy`)).data;
  assert.ok(ref.every((v, i) => Math.abs(v - got[i]) < 2e-4), "the conformance case's output");
  assert.equal((await files(`${cache}/models`)).filter((f) => f.endsWith(".onnx")).length, 4);
});
