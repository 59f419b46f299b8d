// Quality of the built-in models on photos held out from training (tools/train/data_list.json,
// split holdout): DDNM SR x4 (sr-bicubic; PSNR on Y, 4 px shaved) against bicubic, denoising
// sigma 25 (DDNM+; RGB PSNR) against the noisy input, inpainting (PSNR inside the holes) against a
// harmonic fill, each model at its own default steps and eta, with seconds per image per runtime.
// Writes the README's labelled sheets (assets/readme/). Run: deno run -A tests/bench/prior_quality.ts
// [--models builtin:unet,builtin:unet-edge,builtin:gmm] [--irsde-models builtin:irsde,...]
// [--tasks sr,denoise,inpaint] [--runtimes native,wasm] [--no-sheets]
import { parseArgs } from "node:util";
import { type DdnmRestoreOptions, restoreDdnm } from "../../pipelines/restore_ddnm.ts";
import { restoreIrsde } from "../../pipelines/restore_irsde.ts";
import { loadModel } from "../../model/builtin_models.ts";
import type { Model } from "../../model/model.ts";
import { Tensor } from "../../lib/tensor.ts";
import { tensorToPng } from "../../lib/image.ts";
import { labelledSheet, resizeNearest } from "../../lib/sheet.ts";
import {
  addNoise,
  benchMask,
  benchPhotos,
  harmonicFill,
  mean,
  psnrOf,
  srBicubic,
} from "./_photos.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    models: { type: "string", default: "builtin:unet,builtin:unet-edge,builtin:gmm" },
    "irsde-models": { type: "string", default: "builtin:irsde" },
    tasks: { type: "string", default: "sr,denoise,inpaint" },
    runtimes: { type: "string", default: "native,wasm" },
    "no-sheets": { type: "boolean", default: false },
  },
});
const specs = values.models.split(",").filter(Boolean);
const photos = await benchPhotos("holdout");
const mask = benchMask(256, 256), holes = mask.map((v) => 1 - v);
const sigma = 25 / 255;
const short = (s: string) => s.replace("builtin:", "");

interface Task {
  name: string;
  baseline: string;
  observe: (clean: Tensor) => { observed: Tensor; base: Tensor };
  score: (out: Tensor, clean: Tensor) => number;
  options: Pick<DdnmRestoreOptions, "task" | "sigmaY" | "mask">;
}
const ALL_TASKS: (Task & { key: string })[] = [
  {
    key: "sr",
    name: "SR x4 (sr-bicubic), PSNR Y",
    baseline: "bicubic",
    observe: (clean) => {
      const { lr, bicubic } = srBicubic(clean);
      return { observed: lr, base: bicubic };
    },
    score: (o, c) => psnrOf(o, c, { y: true, shave: 4 }),
    options: { task: { name: "sr-bicubic", scale: 4 } },
  },
  {
    key: "denoise",
    name: "denoising sigma 25 (DDNM+), PSNR RGB",
    baseline: "noisy",
    observe: (clean) => {
      const noisy = addNoise(clean, sigma);
      return { observed: noisy, base: noisy };
    },
    score: (o, c) => psnrOf(o, c),
    options: { task: { name: "denoise" }, sigmaY: sigma },
  },
  {
    key: "inpaint",
    name: "inpainting, PSNR inside the holes",
    baseline: "harmonic fill",
    observe: (clean) => ({ observed: clean, base: harmonicFill(clean, mask) }),
    score: (o, c) => psnrOf(o, c, { where: holes }),
    options: { task: { name: "inpaint" }, mask },
  },
];
const TASKS = ALL_TASKS.filter((t) => values.tasks.split(",").includes(t.key));

const models = new Map<string, Model>();
for (const s of specs) models.set(s, await loadModel(s, { runtime: "native" }));
const names = photos.map(([n]) => n);
const outputs = new Map<string, Tensor>(); // `${task}/${model}/${photo}`
const seconds = new Map<string, number[]>();
for (const task of TASKS) {
  console.log(`\n## ${task.name}\n`);
  console.log(`| model | ${names.join(" | ")} | mean | s/image |`);
  console.log(`|---|${names.map(() => "---|").join("")}---|---|`);
  const base = photos.map(([, c]) => task.score(task.observe(c).base, c));
  console.log(
    `| ${task.baseline} | ${base.map((v) => v.toFixed(2)).join(" | ")} | ${
      mean(base).toFixed(2)
    } | |`,
  );
  for (const [spec, model] of models) {
    const scores: number[] = [];
    const t0 = performance.now();
    for (const [name, clean] of photos) {
      const { observed } = task.observe(clean);
      const r = await restoreDdnm(observed, { ...task.options, model, seed: 0 });
      outputs.set(`${task.name}/${spec}/${name}`, r.image);
      scores.push(task.score(r.image, clean));
    }
    const s = (performance.now() - t0) / 1000 / photos.length;
    seconds.set(`${task.name}/${spec}`, [s]);
    const gain = mean(scores) - mean(base);
    console.log(
      `| ${short(spec)} | ${scores.map((v) => v.toFixed(2)).join(" | ")} | ${
        mean(scores).toFixed(2)
      } (${gain >= 0 ? "+" : ""}${gain.toFixed(2)}) | ${s.toFixed(1)} |`,
    );
  }
}

// IR-SDE's built-in networks: denoising sigma 25 with each solver, and the noise levels they were
// not trained for (sigma 15 and 50) with the default solver
const irsdeOut = new Map<string, Tensor>(); // `${spec}/${solver}/${photo}`
const irsdeSpecs = values["irsde-models"].split(",").filter(Boolean);
for (const spec of irsdeSpecs) {
  console.log(`\n## IR-SDE (${spec}), denoising: PSNR RGB\n`);
  console.log(`| solver, sigma | ${names.join(" | ")} | mean | s/image |`);
  console.log(`|---|${names.map(() => "---|").join("")}---|---|`);
  const irsde = await loadModel(spec, { runtime: "native" });
  const solvers = ["sde", "ode", "posterior"] as const;
  for (
    const [solver, level] of [...solvers.map((s) => [s, 25] as const), ["", 15], ["", 50]] as const
  ) {
    const scores: number[] = [], noisyScores: number[] = [];
    const t0 = performance.now();
    for (const [name, clean] of photos) {
      const noisy = addNoise(clean, level / 255);
      const r = await restoreIrsde(noisy, { model: irsde, solver: solver || undefined, seed: 0 });
      if (level === 25) irsdeOut.set(`${spec}/${solver}/${name}`, r.image);
      scores.push(psnrOf(r.image, clean));
      noisyScores.push(psnrOf(noisy, clean));
    }
    const s = (performance.now() - t0) / 1000 / photos.length;
    const label = solver
      ? `${solver}, 25`
      : `${irsde.manifest.defaults.solver} (default), ${level}`;
    console.log(
      `| ${label} | ${scores.map((v) => v.toFixed(2)).join(" | ")} | ${
        mean(scores).toFixed(2)
      } (noisy ${mean(noisyScores).toFixed(2)}) | ${s.toFixed(1)} |`,
    );
  }
  await irsde.release();
}
if (irsdeSpecs.length) {
  // seconds per 256x256 denoising at the defaults, per runtime (after a warm-up run)
  console.log(`\n## seconds per 256x256 IR-SDE denoising at the model's defaults\n`);
  const runtimes = values.runtimes.split(",");
  console.log(`| model | ${runtimes.join(" | ")} |\n|---|${runtimes.map(() => "---|").join("")}`);
  const noisy = addNoise(photos[0][1], sigma);
  for (const spec of irsdeSpecs) {
    const cells: string[] = [];
    for (const runtime of runtimes) {
      const model = await loadModel(spec, { runtime: runtime as "wasm" });
      await restoreIrsde(noisy, { model, seed: 0 });
      const t0 = performance.now();
      await restoreIrsde(noisy, { model, seed: 0 });
      cells.push(`${((performance.now() - t0) / 1000).toFixed(2)}`);
      await model.release();
    }
    console.log(`| ${short(spec)} | ${cells.join(" | ")} |`);
  }
}

// seconds per 256x256 SR x4 at each model's defaults, per runtime (one photo, after a warm-up call)
console.log(`\n## seconds per 256x256 SR x4 at the model's defaults\n`);
console.log(
  `| model | ${values.runtimes.split(",").join(" | ")} |\n|---|${
    values.runtimes.split(",").map(() => "---|").join("")
  }`,
);
const [, first] = photos[0];
const { lr } = srBicubic(first);
for (const spec of specs) {
  const cells: string[] = [];
  for (const runtime of values.runtimes.split(",")) {
    const model = runtime === "native"
      ? models.get(spec)!
      : await loadModel(spec, { runtime: runtime as "wasm" });
    await model.run({ x: Tensor.zeros([1, 3, 256, 256]), t: 500 });
    const t0 = performance.now();
    await restoreDdnm(lr, { task: { name: "sr-bicubic", scale: 4 }, model, seed: 0 });
    cells.push(`${((performance.now() - t0) / 1000).toFixed(1)}`);
    if (runtime !== "native") await model.release();
  }
  console.log(`| ${short(spec)} | ${cells.join(" | ")} |`);
}
for (const m of models.values()) await m.release();

if (!values["no-sheets"] && specs.includes("builtin:unet") && TASKS.length === 3) {
  // the README's labelled sheets, on the held-out rocket photo
  const [, rocket] = photos[0];
  // the PNG encoder clips values outside [0,1]
  const root = new URL("../../assets/readme/", import.meta.url).pathname;
  const sheets: [string, number][] = [["comparison_sr4.png", 0], ["demo_denoise.png", 1], [
    "demo_inpaint.png",
    2,
  ]];
  for (const [file, k] of sheets) {
    const task = ALL_TASKS[k];
    const { observed, base } = task.observe(rocket);
    const out = outputs.get(`${task.name}/builtin:unet/rocket`)!;
    const gmm = outputs.get(`${task.name}/builtin:gmm/rocket`);
    const db = (t: Tensor) => `${task.score(t, rocket).toFixed(2)} dB`;
    const shown = k === 2 ? observed.map((v, i) => (mask[i % 65536] ? v : 1)) : observed;
    const cells = [
      { image: resizeNearest(shown, 256, 256), label: "input" },
      { image: base, label: `${task.baseline} ${db(base)}` },
      ...(gmm ? [{ image: gmm, label: `gmm ${db(gmm)}` }] : []),
      { image: out, label: `unet ${db(out)}` },
      { image: rocket, label: "original" },
    ];
    await Deno.writeFile(
      `${root}${file}`,
      tensorToPng(labelledSheet(cells, 256)),
    );
  }
  // IR-SDE beside DDNM+ on the same noisy photo
  const noisy = addNoise(rocket, sigma);
  const ddnmPlus = outputs.get(`${ALL_TASKS[1].name}/builtin:unet/rocket`)!;
  const ir = irsdeOut.get(`builtin:irsde/posterior/rocket`)!;
  const db = (t: Tensor) => `${psnrOf(t, rocket).toFixed(2)} dB`;
  await Deno.writeFile(
    `${root}demo_irsde.png`,
    tensorToPng(labelledSheet(
      [
        { image: noisy, label: `noisy ${db(noisy)}` },
        { image: ddnmPlus, label: `ddnm+ unet ${db(ddnmPlus)}` },
        { image: ir, label: `ir-sde ${db(ir)}` },
        { image: rocket, label: "original" },
      ],
      256,
    )),
  );
  console.log(
    `\nwrote ${sheets.map(([f]) => `assets/readme/${f}`).join(", ")}, assets/readme/demo_irsde.png`,
  );
}
