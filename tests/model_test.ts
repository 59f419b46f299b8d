import assert from "node:assert/strict";
import { Model } from "../model/model.ts";
import { type ModelManifest, parseManifest } from "../model/manifest.ts";
import { createSession } from "../model/ort_runtime.ts";
import { UserError } from "../lib/errors.ts";
import { Tensor } from "../lib/tensor.ts";
import { nanGraph, poolGraph, randomValues, timesTGraph } from "./_graphs.ts";
import { draftManifest } from "../model/draft_manifest.ts";

const isUser = (re: RegExp) => (e: Error) => e instanceof UserError && re.test(e.message);
const base = { kind: "ddpm", inputs: { x: "x", t: "t" }, output: "eps" };

function manifest(extra: Record<string, unknown> = {}): ModelManifest {
  return parseManifest({ ...base, ...extra }, "m.json");
}

Deno.test("manifest parsing: defaults and errors that name the key", () => {
  const m = manifest();
  assert.deepEqual(m.range, [-1, 1]);
  assert.equal(m.prediction, "eps");
  assert.equal(m.timestepDtype, "float32");
  assert.equal(m.schedule.beta, "linear");
  assert.equal(
    parseManifest({ kind: "irsde", inputs: { x: "x", mu: "mu", t: "t" }, output: "o" }, "i")
      .prediction,
    "noise",
  );
  assert.throws(
    () => parseManifest({ inputs: {}, output: "e" }, "a.json"),
    isUser(/a\.json: missing required key 'kind'/),
  );
  assert.throws(
    () => parseManifest({ kind: "ddpm", inputs: { x: "x" }, output: "e" }, "b.json"),
    isUser(/missing required key 'inputs\.t'/),
  );
  assert.throws(
    () => parseManifest({ kind: "irsde", inputs: { x: "x", mu: "mu" }, output: "e" }, "c"),
    isUser(/'inputs\.t'/),
  );
  // an irsde network without `mu` is the DenoisingSDE variant
  assert.equal(
    parseManifest({ kind: "irsde", inputs: { x: "x", t: "t" }, output: "e" }, "d").inputs.mu,
    undefined,
  );
  assert.throws(() => parseManifest({ ...base, output: 3 }, "d"), isUser(/'output'/));
  assert.throws(
    () => parseManifest({ ...base, kind: "gan" }, "e"),
    isUser(/key 'kind' must be one of/),
  );
  assert.throws(() => parseManifest({ ...base, range: [1, -1] }, "f"), isUser(/key 'range'/));
  assert.throws(
    () => parseManifest({ ...base, timestep: { dtype: "int32" } }, "g"),
    isUser(/timestep\.dtype/),
  );
  assert.throws(() => parseManifest({ ...base, size: [256] }, "h"), isUser(/key 'size'/));
  assert.throws(
    () => parseManifest({ ...base, schedule: { beta: "linear", betaStart: "x" } }, "i"),
    isUser(/'betaStart'/),
  );
});

Deno.test("manifest validated against the ONNX session: names, roles, dtypes, output", async () => {
  const load = async (bytes: Uint8Array, m: ModelManifest) =>
    new Model("net.onnx", m, await createSession(bytes, { runtime: "native" }));
  await assert.rejects(
    load(timesTGraph(), parseManifest({ ...base, inputs: { x: "x", t: "tt" } }, "m")),
    isUser(/'inputs\.t' names input 'tt'.*inputs are x, t/),
  );
  await assert.rejects(
    load(timesTGraph(), manifest({ output: "noise" })),
    isUser(/key 'output' names 'noise'.*outputs are eps/),
  );
  await assert.rejects(
    load(timesTGraph({ tDtype: "int64" }), manifest()),
    isUser(/'timestep\.dtype' is float32, but input 't' is int64/),
  );
  await assert.rejects(
    load(timesTGraph(), manifest({ timestep: { dtype: "int64" } })),
    isUser(/'timestep\.dtype' is int64/),
  );
  await assert.rejects(
    load(timesTGraph(), manifest({ channels: 4 })),
    isUser(/'channels' is 4, but input 'x' has 3/),
  );
  await assert.rejects(
    load(
      timesTGraph(),
      parseManifest({ kind: "irsde", inputs: { x: "x", mu: "t", t: "t" }, output: "eps" }, "m"),
    ),
    isUser(/'inputs\.mu' and 'inputs\.t' both name input 't'/),
  );
  await assert.rejects(
    load(
      timesTGraph(),
      parseManifest({ kind: "restorer", inputs: { x: "x" }, output: "eps" }, "m"),
    ),
    isUser(/the ONNX file has an input 't' that no 'inputs' key of the manifest names/),
  );
  const m = await load(timesTGraph(), manifest());
  assert.equal(m.runtime, "native");
});

Deno.test("model calls: timestep value and dtype, learned-sigma split, shape and NaN checks", async () => {
  const x = new Tensor([1, 3, 4, 6], randomValues(72, 3));
  const plain = await Model.load({ bytes: timesTGraph(), manifest: manifest(), name: "p" }, {
    runtime: "native",
  });
  const y = await plain.run({ x, t: 990 });
  assert.deepEqual(y.shape, [1, 3, 4, 6]);
  for (let i = 0; i < 72; i++) assert.equal(y.data[i], Math.fround(x.data[i] * 990));
  const sig = await Model.load({
    bytes: timesTGraph({ learnedSigma: true }),
    manifest: manifest({ learnedSigma: true }),
    name: "s",
  }, { runtime: "native" });
  const ys = await sig.run({ x, t: 2 });
  assert.deepEqual(ys.shape, [1, 3, 4, 6]);
  assert.equal(ys.data[5], Math.fround(x.data[5] * 2));
  const batch = await sig.run({ x: new Tensor([2, 3, 2, 2], randomValues(24, 9)), t: 3 });
  assert.deepEqual(batch.shape, [2, 3, 2, 2]);
  const unsplit = await Model.load({
    bytes: timesTGraph({ learnedSigma: true }),
    manifest: manifest(),
    name: "u.onnx",
  }, { runtime: "native" });
  await assert.rejects(
    unsplit.run({ x, t: 1 }),
    isUser(
      /u\.onnx: output 'eps' has shape \[1, 6, 4, 6\], expected \[1, 3, 4, 6\] \(set learnedSigma: true\?\)/,
    ),
  );
  const i64 = await Model.load({
    bytes: timesTGraph({ tDtype: "int64" }),
    manifest: manifest({ timestep: { dtype: "int64" } }),
    name: "i",
  }, { runtime: "native" });
  assert.equal((await i64.run({ x, t: 7 })).data[1], Math.fround(x.data[1] * 7));
  const nan = await Model.load({ bytes: nanGraph(), manifest: manifest(), name: "nan.onnx" }, {
    runtime: "native",
  });
  await assert.rejects(
    nan.run({ x, t: 1 }, "step 3/20"),
    isUser(/nan\.onnx: the network returned NaN or Inf at step 3\/20/),
  );
  const pool = await Model.load({ bytes: poolGraph(), manifest: manifest(), name: "pool.onnx" }, {
    runtime: "native",
  });
  await assert.rejects(
    pool.run({ x, t: 1 }),
    isUser(/pool\.onnx: output 'eps' has shape \[1, 3, 2, 3\]/),
  );
  const fixed = await Model.load({
    bytes: timesTGraph(),
    manifest: manifest({ size: [8, 8] }),
    name: "f.onnx",
  }, { runtime: "native" });
  await assert.rejects(fixed.run({ x, t: 1 }), isUser(/takes 8x8 inputs, got 4x6/));
  assert.equal(plain.stats.calls, 1);
});

Deno.test("loading errors: missing files, bad JSON, non-ONNX bytes", async () => {
  const dir = await Deno.makeTempDir();
  await assert.rejects(
    Model.load({ path: `${dir}/none.onnx` }),
    isUser(/model .*none\.onnx not found/),
  );
  await Deno.writeFile(`${dir}/alone.onnx`, timesTGraph());
  await assert.rejects(
    Model.load({ path: `${dir}/alone.onnx` }),
    isUser(
      /model manifest .*alone\.json not found \(draftManifest or the command line's info drafts one\)/,
    ),
  );
  await Deno.writeTextFile(`${dir}/bad.json`, "{ not json");
  await Deno.writeFile(`${dir}/bad.onnx`, new Uint8Array([1, 2, 3]));
  await assert.rejects(
    Model.load({ path: `${dir}/bad.onnx` }),
    isUser(/bad\.json is not valid JSON/),
  );
  await Deno.writeTextFile(`${dir}/bad.json`, JSON.stringify(base));
  await assert.rejects(
    Model.load({ path: `${dir}/bad.onnx` }, { runtime: "native" }),
    isUser(/bad\.onnx: not a loadable ONNX file/),
  );
  await Deno.writeFile(`${dir}/ok.onnx`, timesTGraph());
  await Deno.writeTextFile(`${dir}/spec.json`, JSON.stringify(base));
  const m = await Model.load({ path: `${dir}/ok.onnx`, manifestPath: `${dir}/spec.json` }, {
    runtime: "wasm",
  });
  assert.equal(m.runtime, "wasm");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("manifest problems are reported all at once, in one line", () => {
  assert.throws(
    () =>
      parseManifest(
        {
          kind: "ddpm",
          inputs: { x: "x" },
          range: [1, 0],
          size: [0, 2],
          schedule: { beta: "nope" },
        },
        "m.json",
      ),
    (e: Error) => {
      assert.ok(e instanceof UserError);
      for (const key of ["'inputs.t'", "'output'", "'range'", "'size'", "'schedule.beta'"]) {
        assert.ok(e.message.includes(key), `${key} in: ${e.message}`);
      }
      assert.ok(!e.message.includes("\n"));
      assert.equal(e.message.split("m.json").length, 2, "the file named once");
      return true;
    },
  );
});

Deno.test("a manifest drafted from the ONNX file's inputs and outputs", () => {
  const io = (name: string, shape: (number | string)[], type = "float32") => ({
    name,
    type,
    shape,
  });
  const img = (c: number | string) => ["n", c, "h", "w"];
  const cases: [ReturnType<typeof io>[], ReturnType<typeof io>[], Record<string, unknown>][] = [
    [[io("x", img(3)), io("t", ["n"])], [io("eps", img(6))], {
      kind: "ddpm",
      learnedSigma: true,
      inputs: { x: "x", t: "t" },
    }],
    [[io("x", img(3)), io("t", ["n"], "int64"), io("y", ["n"], "int64")], [io("o", img(3))], {
      kind: "ddpm",
      timestep: { dtype: "int64" },
      inputs: { x: "x", t: "t", y: "y" },
    }],
    [[io("x", img(3)), io("mu", img(3)), io("t", ["n"])], [io("noise", img(3))], {
      kind: "irsde",
      inputs: { x: "x", t: "t", mu: "mu" },
    }],
    [
      [
        io("x", img(4)),
        io("t", ["n"]),
        io("cond", img(4)),
        io("context", ["n", 77, 1024]),
        io(
          "strength",
          [],
        ),
      ],
      [io("out", img(4))],
      {
        kind: "latent-denoiser",
        inputs: { x: "x", t: "t", cond: "cond", context: "context", strength: "strength" },
      },
    ],
    [[io("image", img(3))], [io("latent", ["n", 4, "h8", "w8"])], { kind: "vae-encoder" }],
    [[io("latent", img(4))], [io("image", ["n", 3, "H", "W"])], { kind: "vae-decoder" }],
    [[io("lq", img(3))], [io("hq", img(3))], { kind: "restorer", range: [0, 1] }],
    [[io("tokens", ["n", 77], "int64")], [io("context", ["n", 77, 1024])], {
      kind: "text-encoder",
      contextLength: 77,
    }],
    [[io("x", [1, 3, 256, 256]), io("t", [1])], [io("eps", [1, 3, 256, 256])], {
      kind: "ddpm",
      size: [256, 256],
    }],
  ];
  for (const [inputs, outputs, want] of cases) {
    const d = draftManifest(inputs, outputs);
    for (const [k, v] of Object.entries(want)) {
      assert.deepEqual(d.manifest[k], v, `${k} for ${inputs.map((i) => i.name).join(",")}`);
    }
    assert.ok(d.notes.length > 0, "every draft says what to check");
    if (d.manifest.kind !== "text-encoder") parseManifest(d.manifest, "draft.json"); // drafts parse
  }
});

Deno.test("info --model on a model without a manifest: inputs, outputs, a draft; --write-manifest saves it", async () => {
  const { runCli } = await import("./_cli.ts");
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/net.onnx`, timesTGraph());
  const r = await runCli(["info", "--model", `${dir}/net.onnx`]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /no manifest at .*net\.json/);
  assert.match(r.stdout, /input +x: float32/);
  assert.match(r.stdout, /"kind": "ddpm"/);
  const w = await runCli(["info", "--model", `${dir}/net.onnx`, "--write-manifest"]);
  assert.equal(w.code, 0, w.stderr);
  const m = await Model.load({ path: `${dir}/net.onnx` }, { runtime: "native" });
  assert.equal(m.manifest.kind, "ddpm");
  await m.release();
  const again = await runCli(["info", "--model", `${dir}/net.onnx`, "--write-manifest"]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /error: --write-manifest: .*net\.json exists already/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("wasm runs on one thread unless asked; asking for more says why it is risky", async () => {
  // a process of its own: the thread count is fixed when the wasm module first starts
  const threadsOf = async (threads: string) => {
    const script = `
      import { createSession } from "${new URL("../model/ort_runtime.ts", import.meta.url)}";
      import { timesTGraph } from "${new URL("./_graphs.ts", import.meta.url)}";
      const notes = [];
      const ort = await import("onnxruntime-web");
      const s = await createSession(timesTGraph(), {
        runtime: "wasm", threads: ${threads}, onNote: (m) => notes.push(m),
      });
      console.log(JSON.stringify({ notes, threads: ort.env.wasm.numThreads }));
      await s.release();
      Deno.exit(0);`;
    const o = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--config", new URL("../deno.json", import.meta.url).pathname, script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(o.code, 0, new TextDecoder().decode(o.stderr));
    return JSON.parse(new TextDecoder().decode(o.stdout).trim().split("\n").at(-1)!);
  };
  assert.deepEqual(await threadsOf("undefined"), { notes: [], threads: 1 });
  const two = await threadsOf("2");
  assert.equal(two.threads, 2);
  assert.match(two.notes[0], /wasm on 2 threads: ONNX Runtime Web 1\.30 can hang a call for good/);
});
