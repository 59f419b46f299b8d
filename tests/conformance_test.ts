// The shared conformance cases (copied into testdata/conformance), run through the CLI as the
// outside checks run them, compared with the reference outputs.
import assert from "node:assert/strict";
import { decodeNpy } from "../lib/npy.ts";
import { runCli } from "./_cli.ts";

const ROOT = new URL("../testdata/conformance/", import.meta.url).pathname;

for (const entry of [...Deno.readDirSync(ROOT)].sort((a, b) => a.name.localeCompare(b.name))) {
  if (!entry.isDirectory || entry.name === "models") continue;
  const dir = `${ROOT}${entry.name}`;
  const spec = JSON.parse(Deno.readTextFileSync(`${dir}/case.json`));
  const args: string[] = spec.cli.map((a: string) => a.replace("MODELS", `${ROOT}models`));
  Deno.test(`conformance ${entry.name} through the CLI`, async () => {
    const out = await Deno.makeTempFile({ suffix: ".npy" });
    const r = await runCli(["restore", spec.lq ?? "lq.png", "-o", out, ...args, "--quiet"], dir);
    assert.equal(r.code, 0, r.stderr);
    const got = decodeNpy(await Deno.readFile(out));
    const ref = decodeNpy(await Deno.readFile(`${dir}/ref.npy`));
    assert.deepEqual(got.shape, ref.shape.length === 4 ? ref.shape : got.shape);
    assert.equal(got.data.length, ref.data.length);
    let max = 0, sum = 0;
    for (let i = 0; i < ref.data.length; i++) {
      const d = Math.abs(got.data[i] - ref.data[i]);
      max = Math.max(max, d);
      sum += d;
    }
    const [tmax, tmean] = spec.tol ?? [2e-4, 2e-5];
    assert.ok(
      max <= tmax && sum / ref.data.length <= tmean,
      `max |d| ${max}, mean |d| ${sum / ref.data.length} (limits ${tmax} / ${tmean})`,
    );
    await Deno.remove(out);
  });
}
