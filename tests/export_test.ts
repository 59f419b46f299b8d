// The exporters (tools/export/*.py) on the seed repositories' own network code: small-width,
// random-weight checkpoints in the upstream formats are exported, checked with `info --verify`,
// and restored through the CLI; bad checkpoints and configs give one error line each.
// Needs ../shared/upstream and a Python with PyTorch and ONNX (Debian's python3-torch).
import assert from "node:assert/strict";
import { unless } from "./_skip.ts";
import { decodeNpy } from "../lib/npy.ts";
import { encodePng } from "../lib/png.ts";
import { errorLines, runCli } from "./_cli.ts";
import { gpuAdapter } from "./_gpu.ts";
import { findPython } from "./_python.ts";

const root = new URL("../", import.meta.url).pathname;
const upstream = new URL("../../shared/upstream/", import.meta.url).pathname;
const stubs = `${root}tests/python_stubs`;

async function exists(p: string): Promise<boolean> {
  return await Deno.stat(p).then(() => true, () => false);
}

const python = await findPython("torch, onnx, yaml, omegaconf, regex, numpy, packaging");
const skip = !(await exists(upstream))
  ? "../shared/upstream (the seed repositories' network code) is not here"
  : !python
  ? "no python3 with torch, onnx, yaml, omegaconf, regex and packaging (Debian: python3-torch ...)"
  : "";
if (skip) console.log(`export tests skipped: ${skip}`);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function py(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const o = await new Deno.Command(python!, {
    args,
    cwd: root,
    env: { PYTHONPATH: stubs, PYTHONDONTWRITEBYTECODE: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: o.code, stdout: d.decode(o.stdout), stderr: d.decode(o.stderr) };
}

const dir = skip ? "" : await Deno.makeTempDir();
const ckpt = `${dir}/ckpt`;
let made: Promise<Run> | null = null;
/** The fixture checkpoints, made once for all tests. */
function checkpoints(): Promise<Run> {
  made ??= py(["tests/export/make_checkpoints.py", upstream, ckpt]);
  return made;
}

async function exportOk(script: string, args: string[], out: string, env = {}): Promise<void> {
  const r = await py([`tools/export/${script}`, ...args, "--out", out], env);
  assert.equal(r.code, 0, `${script}: ${r.stderr}`);
  assert.match(r.stdout, /^wrote /m);
}

async function verified(model: string, count = 1): Promise<void> {
  const r = await runCli(["info", "--model", model, "--verify", "--ort", "native"]);
  assert.deepEqual(errorLines(r.stderr), [], "verify prints no driver noise");
  assert.equal(r.code, 0, `verify ${model}: ${r.stdout}${r.stderr}`);
  const lines = r.stdout.split("\n").filter((l) => l.startsWith("verify "));
  assert.equal(lines.length, count, r.stdout);
  for (const l of lines) {
    const m = /max \|d\| ([\d.e+-]+)/.exec(l)!;
    assert.ok(Number(m[1]) < 1e-3 && l.endsWith(": ok"), l);
  }
}

/** `info --verify --ort webgpu`: the provider (with its Conv guard) against wasm, on the probe. */
async function verifiedOnWebGpu(model: string): Promise<void> {
  const r = await runCli(["info", "--model", model, "--verify", "--ort", "webgpu"]);
  assert.equal(r.code, 0, `verify ${model} on webgpu: ${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /webgpu against wasm, probe inputs\): max \|d\| .*: ok$/m);
}

/** The same restoration on the native runtime and with `--ort webgpu --backend webgpu`. */
async function sameOnWebGpu(args: string[]): Promise<void> {
  const cpu = await restore(args);
  const gpu = await restore(args, ["--ort", "webgpu", "--backend", "webgpu"]);
  let max = 0, sum = 0;
  cpu.data.forEach((v, i) => {
    const d = Math.abs(v - gpu.data[i]);
    max = Math.max(max, d);
    sum += d;
  });
  const mean = sum / cpu.data.length;
  assert.ok(max <= 1e-3 && mean <= 1e-4, `${args.join(" ")}: max ${max}, mean ${mean}`);
}

async function image(name: string, w: number, h: number): Promise<void> {
  const px = new Float32Array(3 * w * h).map((_, i) => 0.5 + 0.3 * Math.sin(i / 7));
  await Deno.writeFile(`${dir}/${name}`, encodePng(px, w, h, 3));
}

async function restore(
  args: string[],
  on = ["--ort", "native"],
): Promise<{ shape: number[]; data: Float32Array }> {
  const out = `${dir}/out_${crypto.randomUUID()}.npy`;
  const r = await runCli(["restore", ...args, "-o", out, "--quiet", ...on], dir);
  assert.equal(r.code, 0, `restore ${args.join(" ")}: ${r.stderr}`);
  const a = decodeNpy(await Deno.readFile(out));
  assert.ok(a.data.every(Number.isFinite), "finite output");
  return a;
}

Deno.test({
  ...unless(
    "export DDNM: guided-diffusion UNetModel, class-conditional, DDIM's Model; verify, restore",
    skip,
  ),
  async fn() {
    const made = await checkpoints();
    assert.equal(made.code, 0, made.stderr);
    const repo = `${upstream}DDNM`;
    for (const name of ["ddnm_openai", "ddnm_openai_cc"]) {
      await exportOk("ddnm.py", [
        "--repo",
        repo,
        "--config",
        `${ckpt}/${name}.yml`,
        "--checkpoint",
        `${ckpt}/${name}.pt`,
      ], `${dir}/${name}`);
      await verified(`${dir}/${name}/model.onnx`);
    }
    await exportOk("ddnm.py", [
      "--repo",
      repo,
      "--config",
      `${ckpt}/ddnm_simple.yml`,
      "--checkpoint",
      `${ckpt}/ddnm_simple.ckpt`,
    ], `${dir}/ddnm_simple`);
    await verified(`${dir}/ddnm_simple/model.onnx`);
    if (gpuAdapter) await verifiedOnWebGpu(`${dir}/ddnm_openai/model.onnx`);
    const manifest = JSON.parse(await Deno.readTextFile(`${dir}/ddnm_openai/model.json`));
    assert.equal(manifest.learnedSigma, true);
    assert.deepEqual(manifest.size, [32, 32]);
    assert.deepEqual(manifest.schedule, {
      beta: "linear",
      betaStart: 0.0001,
      betaEnd: 0.02,
      trainSteps: 1000,
    });
    await image("lr8.png", 8, 8);
    const sr = ["lr8.png", "--method", "ddnm", "--task", "sr", "--scale", "4", "--steps", "5"];
    const a = await restore([...sr, "--model", `${dir}/ddnm_openai/model.onnx`]);
    assert.deepEqual(a.shape, [1, 3, 32, 32]);
    // class-conditional: the label is required, and it changes the result
    const cc = [...sr, "--model", `${dir}/ddnm_openai_cc/model.onnx`];
    const missing = await runCli(["restore", ...cc, "-o", "x.npy"], dir);
    assert.equal(missing.code, 1);
    assert.match(
      errorLines(missing.stderr)[0],
      /--class: .*class-conditional \(input 'y'\): give its class label/,
    );
    const c1 = await restore([...cc, "--class", "1"]);
    const c7 = await restore([...cc, "--class", "7"]);
    assert.ok(c1.data.some((v, i) => Math.abs(v - c7.data[i]) > 1e-4), "the class matters");
    await image("lr4.png", 4, 4);
    const s = await restore([
      "lr4.png",
      "--method",
      "ddnm",
      "--task",
      "sr",
      "--scale",
      "4",
      "--steps",
      "5",
      "--model",
      `${dir}/ddnm_simple/model.onnx`,
    ]);
    assert.deepEqual(s.shape, [1, 3, 16, 16]);
  },
});

Deno.test({
  ...unless(
    "export DDNM: float16 weights and external data",
    skip,
  ),
  async fn() {
    assert.equal((await checkpoints()).code, 0);
    const args = [
      "--repo",
      `${upstream}DDNM`,
      "--config",
      `${ckpt}/ddnm_openai.yml`,
      "--checkpoint",
      `${ckpt}/ddnm_openai.pt`,
    ];
    await exportOk("ddnm.py", [...args, "--dtype", "float16"], `${dir}/fp16`);
    await verified(`${dir}/fp16/model.onnx`);
    const full = (await Deno.stat(`${dir}/ddnm_openai/model.onnx`).catch(() => null))?.size ??
      (await (async () => {
        await exportOk("ddnm.py", args, `${dir}/ddnm_openai`);
        return (await Deno.stat(`${dir}/ddnm_openai/model.onnx`)).size;
      })());
    const half = (await Deno.stat(`${dir}/fp16/model.onnx`)).size;
    assert.ok(half < 0.6 * full, `float16 file ${half} bytes, float32 ${full}`);
    // above the threshold the weights go to one external data file beside the model
    await exportOk("ddnm.py", args, `${dir}/ext`, { DIFFRESTORE_EXTERNAL_DATA_BYTES: "1000000" });
    const onnx = (await Deno.stat(`${dir}/ext/model.onnx`)).size;
    const data = (await Deno.stat(`${dir}/ext/model.onnx.data`)).size;
    assert.ok(data > 10 * onnx && data > 5_000_000, `model ${onnx} bytes, data ${data}`);
    await verified(`${dir}/ext/model.onnx`);
    // the wasm runtime reads no files itself: the data file is handed to it
    const wasm = await runCli([
      "info",
      "--model",
      `${dir}/ext/model.onnx`,
      "--verify",
      "--ort",
      "wasm",
    ]);
    assert.equal(wasm.code, 0, wasm.stderr);
    assert.match(wasm.stdout, /\(wasm\): max .*: ok/);
  },
});

Deno.test({
  ...unless(
    "export IR-SDE: ConditionalUNet, ConditionalNAFNet, DenoisingSDE; verify, restore",
    skip,
  ),
  async fn() {
    assert.equal((await checkpoints()).code, 0);
    const config = `${upstream}image-restoration-sde/codes/config`;
    for (
      const [name, task] of [
        ["irsde_unet", "deblurring"],
        ["irsde_nafnet", "deblurring"],
        ["irsde_denoising", "denoising-sde"],
      ]
    ) {
      await exportOk("irsde.py", [
        "--repo",
        `${upstream}image-restoration-sde`,
        "--options",
        `${ckpt}/${name}.yml`,
        "--checkpoint",
        `${ckpt}/${name}.pth`,
        "--config-dir",
        `${config}/${task}`,
      ], `${dir}/${name}`);
      await verified(`${dir}/${name}/model.onnx`);
    }
    const m = JSON.parse(await Deno.readTextFile(`${dir}/irsde_unet/model.json`));
    assert.deepEqual(m.inputs, { x: "x", mu: "mu", t: "t" });
    assert.deepEqual(m.sde, { maxSigma: 10, T: 20, schedule: "cosine", eps: 0.005 });
    const d = JSON.parse(await Deno.readTextFile(`${dir}/irsde_denoising/model.json`));
    assert.deepEqual(d.inputs, { x: "x", t: "t" });
    assert.equal(d.sde.eps, 0.04);
    // a size that is no multiple of 16: the networks pad inside the graph
    await image("blurry.png", 40, 24);
    for (const name of ["irsde_unet", "irsde_nafnet"]) {
      const args = ["blurry.png", "--method", "irsde", "--model", `${dir}/${name}/model.onnx`];
      const a = await restore(args);
      assert.deepEqual(a.shape, [1, 3, 24, 40]);
      // both take [x − μ, μ] into their first Conv: six channels (docs/ort_webgpu.md)
      if (gpuAdapter) {
        await verifiedOnWebGpu(`${dir}/${name}/model.onnx`);
        await sameOnWebGpu([...args, "--steps", "4"]);
      }
    }
    const den = await restore([
      "blurry.png",
      "--method",
      "irsde",
      "--noise-level",
      "25",
      "--model",
      `${dir}/irsde_denoising/model.onnx`,
    ]);
    assert.deepEqual(den.shape, [1, 3, 24, 40]);
  },
});

for (
  const [layout, folder, name, extra] of [
    ["v2.0.0", "DiffBIR-v2.0.0", "diffbir", [] as string[]],
    ["v2.1", "DiffBIR", "diffbir21", [
      "--diffusion-config",
      `${upstream}DiffBIR/configs/inference/diffusion_v2.1.yaml`,
    ]],
  ] as const
) {
  Deno.test({
    ...unless(
      `export DiffBIR ${layout} with a SwinIR stage 1 and its text encoder; verify, restore`,
      skip,
    ),
    async fn() {
      assert.equal((await checkpoints()).code, 0);
      await exportOk("diffbir.py", [
        "--repo",
        `${upstream}${folder}`,
        "--sd",
        `${ckpt}/${name}_sd.ckpt`,
        "--controlnet",
        `${ckpt}/${name}_control.pth`,
        "--stage1",
        `${ckpt}/${name}_swinir.pth`,
        "--stage1-config",
        `${ckpt}/${name}_swinir.yml`,
        "--cldm-config",
        `${ckpt}/${name}_cldm.yml`,
        ...extra,
      ], `${dir}/${name}`);
      const pipeline = `${dir}/${name}/pipeline.json`;
      await verified(pipeline, 5);
      const p = JSON.parse(await Deno.readTextFile(pipeline));
      assert.equal(
        p.negativePrompt,
        "low quality, blurry, low-resolution, noisy, unsharp, weird textures",
      );
      const den = JSON.parse(await Deno.readTextFile(`${dir}/${name}/denoiser.json`));
      assert.equal(den.prediction, layout === "v2.1" ? "v" : "eps");
      assert.equal(den.schedule.zeroTerminalSnr, layout === "v2.1");
      await image("lq.png", 48, 40);
      const base = ["lq.png", "--method", "diffbir", "--model", pipeline, "--steps", "3"];
      const a = await restore([...base, "--cfg", "2", "--prompt", "a photo of a cat"]);
      assert.deepEqual(a.shape, [1, 3, 40, 48]);
      const b = await restore([...base, "--cfg", "2", "--prompt", "a photo of a dog"]);
      assert.ok(a.data.some((v, i) => Math.abs(v - b.data[i]) > 1e-5), "the prompt matters");
      const c = await restore([...base, "--cfg", "2", "--prompt", "a photo of a cat"]);
      assert.deepEqual(c.data, a.data, "same prompt and seed, same output");
    },
  });
}

Deno.test({
  ...unless(
    "the TypeScript tokenizer gives OpenCLIP's ids",
    skip,
  ),
  async fn() {
    const { ClipTokenizer } = await import("../model/clip_tokenizer.ts");
    const texts = [
      "a photo of a cat",
      "low quality, blurry, low-resolution, noisy, unsharp, weird textures",
      "Café naïve — 3.14 × 10² ÀÉÎ 日本語のテキスト 😀!!",
      "It's 2024: DON'T STOP &amp; go &lt;now&gt; &#x263A; &copy &amp;amp;",
      "  tabs\tand\nnewlines \u3000 ",
      "“curly” ‘quotes’ ﬁne ＦＵＬＬ",
      "Ωμέγα ΣΟΦΙΑΣ straße İstanbul",
      "word ".repeat(100),
      "",
    ];
    const cmd = new Deno.Command(python!, {
      args: ["tests/export/tokenize_upstream.py", `${upstream}DiffBIR-v2.0.0`],
      cwd: root,
      env: { PYTHONPATH: stubs },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = cmd.stdin.getWriter();
    await w.write(new TextEncoder().encode(JSON.stringify(texts)));
    await w.close();
    const o = await cmd.output();
    assert.ok(o.success, new TextDecoder().decode(o.stderr));
    const want: number[][] = JSON.parse(new TextDecoder().decode(o.stdout));
    const tok = await ClipTokenizer.load(
      `${upstream}DiffBIR-v2.0.0/model/open_clip/bpe_simple_vocab_16e6.txt.gz`,
    );
    texts.forEach((t, i) => assert.deepEqual(Array.from(tok.tokenize(t)), want[i], t));
    assert.equal(want[7][76], tok.endId, "over-long input keeps its end token");
  },
});

Deno.test({
  ...unless(
    "exporters: bad checkpoints, configs and arguments give one error line, and write nothing",
    skip,
  ),
  async fn() {
    assert.equal((await checkpoints()).code, 0);
    const repo = `${upstream}DDNM`;
    const cases: [string[], number, RegExp][] = [
      // the simple model's checkpoint against the openai config
      [
        [
          "tools/export/ddnm.py",
          "--repo",
          repo,
          "--config",
          `${ckpt}/ddnm_openai.yml`,
          "--checkpoint",
          `${ckpt}/ddnm_simple.ckpt`,
        ],
        1,
        /does not fit the config: \d+ missing keys: .*; \d+ unexpected keys: /,
      ],
      [
        [
          "tools/export/ddnm.py",
          "--repo",
          repo,
          "--config",
          `${ckpt}/nothing.yml`,
          "--checkpoint",
          `${ckpt}/ddnm_openai.pt`,
        ],
        1,
        /--config .*nothing\.yml not found/,
      ],
      [
        [
          "tools/export/ddnm.py",
          "--repo",
          `${upstream}image-restoration-sde`,
          "--config",
          `${ckpt}/ddnm_openai.yml`,
          "--checkpoint",
          `${ckpt}/ddnm_openai.pt`,
        ],
        1,
        /does not look like a DDNM checkout/,
      ],
      [
        [
          "tools/export/ddnm.py",
          "--repo",
          repo,
          "--config",
          `${ckpt}/ddnm_openai.yml`,
          "--checkpoint",
          `${ckpt}/ddnm_openai.yml`,
        ],
        1,
        /is not a PyTorch checkpoint/,
      ],
      [["tools/export/ddnm.py", "--repo", repo], 2, /the following arguments are required/],
      [
        [
          "tools/export/irsde.py",
          "--repo",
          `${upstream}image-restoration-sde`,
          "--options",
          `${ckpt}/irsde_unet.yml`,
          "--checkpoint",
          `${ckpt}/irsde_nafnet.pth`,
          "--config-dir",
          `${upstream}image-restoration-sde/codes/config/deblurring`,
        ],
        1,
        /does not fit the config/,
      ],
    ];
    for (const [args, code, pattern] of cases) {
      const out = `${dir}/bad_${crypto.randomUUID()}`;
      const r = await py([...args, "--out", out]);
      const lines = r.stderr.split("\n").filter((l) => l.trim());
      assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(lines.length, 1, `one line: ${r.stderr}`);
      assert.match(lines[0], /^error: /);
      assert.match(lines[0], pattern);
      const left = await exists(out) ? [...Deno.readDirSync(out)].map((e) => e.name) : [];
      assert.deepEqual(left, [], "nothing written");
    }
  },
});

Deno.test({
  ...unless(
    "export conformance: DDNM's own loop on exported guided-diffusion weights (shared case)",
    skip ||
      (!(await exists(`${upstream}../conformance/export/ddnm_openai_sr4/case.json`)) &&
        "the shared conformance case is absent"),
  ),
  async fn() {
    const caseDir = `${upstream}../conformance/export/ddnm_openai_sr4`;
    const c = JSON.parse(await Deno.readTextFile(`${caseDir}/case.json`));
    const out = `${dir}/case`;
    const args = (c.export as string[]).slice(1).map((a) =>
      a.replace("REPO/", upstream).replace("CASE/", `${caseDir}/`)
    );
    await exportOk("ddnm.py", args, out);
    const cli = (c.cli as string[]).map((a) => (a === "MODEL" ? `${out}/model.onnx` : a));
    const target = `${dir}/case_out.npy`;
    const r = await runCli(["restore", c.lq, "-o", target, ...cli, "--quiet"], caseDir);
    assert.equal(r.code, 0, r.stderr);
    const got = decodeNpy(await Deno.readFile(target)).data;
    const ref = decodeNpy(await Deno.readFile(`${caseDir}/ref.npy`)).data;
    let max = 0, sum = 0;
    for (let i = 0; i < ref.length; i++) {
      const d = Math.abs(got[i] - ref[i]);
      max = Math.max(max, d);
      sum += d;
    }
    const [tolMax, tolMean] = c.tol as [number, number];
    assert.ok(max <= tolMax && sum / ref.length <= tolMean, `max ${max}, mean ${sum / ref.length}`);
  },
});
