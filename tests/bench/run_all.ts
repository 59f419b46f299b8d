// `deno task bench`: every benchmark, one after the other, so later changes can be compared.
const here = new URL(".", import.meta.url).pathname;
const suite = [
  ["speed case (whole process vs PyTorch)", "speed_case.ts"],
  ["model layer overhead per runtime", "model_layer.ts"],
  ["DDNM sampler overhead", "ddnm_overhead.ts"],
  ["IR-SDE sampler overhead per backend", "irsde_overhead.ts"],
  ["kernels per backend", "kernels.ts"],
  ["DiffBIR tiled memory", "diffbir_tiled.ts"],
  ["DDNM Mask-Shift 1024", "ddnm_maskshift.ts"],
  ["built-in GMM prior: time and memory per runtime", "prior_memory.ts"],
  ["a 1 GB model: load and one call, peak memory per runtime", "model_memory.ts"],
  ["the edge preview's budget: latency, concurrency, disconnects, memory", "preview_budget.ts"],
  ["JPEG decoders", "jpeg_decode.ts"],
];
for (const [title, file] of suite) {
  console.log(`\n== ${title} (tests/bench/${file})`);
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${here}${file}`],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (r.code !== 0) console.log(`(exit ${r.code})`);
}
