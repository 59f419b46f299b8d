// The training tools (tools/train/) on tiny data: a few seeded iterations of each kind, a resume
// that continues where the checkpoint stopped, an export whose ONNX file reproduces PyTorch and
// whose manifest carries the pedigree. Never trains a shipped model. Needs Debian's PyTorch, ONNX
// and Pillow; skipped, saying so, without them.
import assert from "node:assert/strict";
import { unless } from "./_skip.ts";
import { createHash } from "node:crypto";
import { loadModel } from "../model/builtin_models.ts";
import { readNpyFile } from "../lib/npy.ts";
import { maxAbsDiff, Tensor } from "../lib/tensor.ts";
import { findPython } from "./_python.ts";

const root = new URL("../", import.meta.url).pathname;
const python = await findPython("torch, onnx, numpy, PIL");
if (!python) {
  console.log("training tool tests skipped: no python3 with torch, onnx, numpy and PIL (Debian)");
}

async function py(args: string[]): Promise<{ code: number; out: string }> {
  const o = await new Deno.Command(python!, {
    args,
    cwd: root,
    stdout: "piped",
    stderr: "piped",
    env: { PYTHONDONTWRITEBYTECODE: "1" },
  }).output();
  const td = new TextDecoder();
  return { code: o.code, out: td.decode(o.stdout) + td.decode(o.stderr) };
}

/** train.py on the first two training photos (in the repository: no package download), tiny. */
function trainTiny(
  kind: "denoiser" | "irsde",
  dir: string,
  iters: number,
  out: string,
  extra: string[] = [],
) {
  return py([
    "tools/train/train.py",
    ...["--kind", kind, "--arch", "tiny", "--photos", "2", "--batch", "2", "--crop", "32"],
    ...["--iters", String(iters), "--data", `${dir}/data`, "--out", out, ...extra],
  ]);
}

/** export_builtin.py of a run into `out` (manifest, ONNX file, probe). */
function exportTiny(run: string, out: string) {
  return py([
    "tools/train/export_builtin.py",
    ...[
      "--run",
      run,
      "--name",
      "net",
      "--out",
      out,
      "--probe",
      out,
      "--steps",
      "20",
      "--eta",
      "0.5",
    ],
  ]);
}

for (const kind of ["denoiser", "irsde"] as const) {
  Deno.test({
    ...unless(
      `train.py --kind ${kind}: seeded, resumable, exported with its pedigree`,
      !python && "no python3 with torch, onnx, numpy and PIL (Debian)",
    ),
    fn: async () => {
      const dir = await Deno.makeTempDir();
      const train = (iters: number, out: string, extra: string[] = []) =>
        trainTiny(kind, dir, iters, out, extra);
      const first = await train(60, `${dir}/a`);
      assert.equal(first.code, 0, first.out);
      assert.match(first.out, /iter 50\/60 loss [\d.]+ [\d.]+ it\/s ETA [\d.]+ min/);
      assert.match(first.out, /done: 60 iterations/);
      // the same run in two parts (stopped at 40 by a changed plan would change the lr; resume
      // needs the same arguments): interrupt with --minutes 0, then resume
      const part = await train(60, `${dir}/b`, ["--minutes", "0"]);
      assert.equal(part.code, 0, part.out);
      assert.match(
        part.out,
        /budget of 0\.0 minutes spent at iteration (\d+); run again to resume/,
      );
      const rest = await train(60, `${dir}/b`);
      assert.match(rest.out, /resumed at iteration \d+/);
      assert.match(rest.out, /done: 60 iterations/);
      const exp = await exportTiny(`${dir}/b`, `${dir}/x`);
      assert.equal(exp.code, 0, exp.out);
      const manifest = JSON.parse(await Deno.readTextFile(`${dir}/x/net.json`));
      const onnx = await Deno.readFile(`${dir}/x/net.onnx`);
      assert.equal(createHash("sha256").update(onnx).digest("hex"), manifest.sha256);
      assert.equal(manifest.training.iterations, 60);
      assert.equal(manifest.training.seed, 0);
      assert.equal(
        manifest.training.dataListSha256,
        createHash("sha256").update(await Deno.readFile(`${root}tools/train/data_list.json`))
          .digest("hex"),
      );
      assert.match(manifest.training.command, new RegExp(`--kind ${kind} --arch tiny --iters 60`));
      assert.doesNotMatch(manifest.training.command, /--splits/); // the default, train alone
      // the ONNX file on the wasm runtime reproduces PyTorch at an odd size
      const model = await loadModel(`${dir}/x/net.onnx`, { runtime: "wasm" });
      const x = await readNpyFile(`${dir}/x/net.probe.x.npy`);
      const shape = [1, 3, 23, 37] as const;
      const out = kind === "denoiser"
        ? await model.run({ x: new Tensor(shape, x.data), t: 400 })
        : await model.run({
          x: new Tensor(shape, x.data),
          mu: new Tensor(shape, (await readNpyFile(`${dir}/x/net.probe.mu.npy`)).data),
          t: 7,
        });
      const expected = await readNpyFile(
        `${dir}/x/net.probe.${kind === "denoiser" ? "eps" : "noise"}.npy`,
      );
      const d = maxAbsDiff(out.data, expected.data);
      assert.ok(d < 1e-4, `max |ONNX − PyTorch| = ${d}`);
      await model.release();
    },
  });
}

Deno.test({
  ...unless(
    "train.py --init-from: a second stage starts from the first's EMA weights, and the pedigree names both",
    !python && "no python3 with torch, onnx, numpy and PIL (Debian)",
  ),
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const first = await trainTiny("denoiser", dir, 30, `${dir}/a`);
    assert.equal(first.code, 0, first.out);
    const start = ["--init-from", `${dir}/a/checkpoint.pt`, "--seed", "1"];
    // a stage starts from a finished one: a stopped run and a missing file are refused
    assert.equal((await trainTiny("denoiser", dir, 30, `${dir}/p`, ["--minutes", "0"])).code, 0);
    const early = await trainTiny("denoiser", dir, 5, `${dir}/q`, [
      "--init-from",
      `${dir}/p/checkpoint.pt`,
    ]);
    assert.notEqual(early.code, 0);
    assert.match(
      early.out,
      /error: --init-from .* stopped at iteration \d+ of 30; finish it first/,
    );
    const none = await trainTiny("denoiser", dir, 5, `${dir}/q`, ["--init-from", `${dir}/none.pt`]);
    assert.match(none.out, /error: --init-from .*none\.pt: no such checkpoint/);
    // a stage of no iterations is the first stage's EMA network, bit for bit
    assert.equal((await trainTiny("denoiser", dir, 0, `${dir}/z`, start)).code, 0);
    for (const run of ["a", "z"]) {
      assert.equal((await exportTiny(`${dir}/${run}`, `${dir}/x${run}`)).code, 0);
    }
    const probe = (run: string) => readNpyFile(`${dir}/x${run}/net.probe.eps.npy`);
    assert.deepEqual((await probe("z")).data, (await probe("a")).data);
    const second = await trainTiny("denoiser", dir, 20, `${dir}/b`, start);
    assert.equal(second.code, 0, second.out);
    const exp = await exportTiny(`${dir}/b`, `${dir}/xb`);
    assert.equal(exp.code, 0, exp.out);
    assert.notDeepEqual((await probe("b")).data, (await probe("a")).data);
    const t = JSON.parse(await Deno.readTextFile(`${dir}/xb/net.json`)).training;
    const [one, two] = t.command.split(" && ");
    assert.match(
      one,
      /^python3 tools\/train\/train\.py --kind denoiser --arch tiny --iters 30 --seed 0 .* --out RUN\.1$/,
    );
    assert.match(two, /--iters 20 --seed 1 .* --init-from RUN\.1\/checkpoint\.pt --out RUN$/);
    assert.equal(t.iterations, 50);
    assert.equal(t.seed, 0);
  },
});

Deno.test({
  ...unless(
    "train.py --splits: the named splits of the data list in its order, never the holdout, recorded in the pedigree",
    !python && "no python3 with torch, onnx, numpy and PIL (Debian)",
  ),
  fn: async () => {
    const list: { photos: { name: string; split: string }[] } = JSON.parse(
      await Deno.readTextFile(`${root}tools/train/data_list.json`),
    );
    const names = (splits: string) =>
      py([
        "-c",
        `import json, sys; sys.path.insert(0, "tools/train"); import train; print(json.dumps(train._training_names("${splits}")))`,
      ]);
    const of = (...splits: string[]) =>
      list.photos.filter((p) => splits.includes(p.split)).map((p) => p.name);
    assert.ok(of("extra").length > 0 && of("holdout").length > 0);
    for (const splits of [["train"], ["train", "extra"], ["extra", "train"]]) {
      const got = await names(splits.join(","));
      assert.equal(got.code, 0, got.out);
      assert.deepEqual(JSON.parse(got.out), of(...splits));
    }
    const dir = await Deno.makeTempDir();
    const held = await trainTiny("denoiser", dir, 1, `${dir}/h`, ["--splits", "train,holdout"]);
    assert.equal(held.code, 1);
    assert.equal(
      held.out.trim(),
      "error: --splits train,holdout: holdout is not a training split (extra, train)",
    );
    // the first two photos of train,extra are the repository's, so nothing is downloaded here
    const run = await trainTiny("denoiser", dir, 3, `${dir}/a`, ["--splits", "train,extra"]);
    assert.equal(run.code, 0, run.out);
    assert.equal((await exportTiny(`${dir}/a`, `${dir}/x`)).code, 0);
    const t = JSON.parse(await Deno.readTextFile(`${dir}/x/net.json`)).training;
    assert.match(t.command, / --splits train,extra --out RUN$/);
  },
});
