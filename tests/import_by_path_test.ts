// A script outside the repository imports the clone's mod.ts by path and runs with a plain
// `deno run -A` (no deno.json of ours in reach), and gets the numbers an in-repo call gets.
import assert from "node:assert/strict";
import { psnr, restoreDdnm, Tensor } from "../mod.ts";

const MOD = new URL("../mod.ts", import.meta.url).href;

const SCRIPT = (mod: string) => `
import { psnr, restoreDdnm, Tensor } from ${JSON.stringify(mod)};
const data = new Float32Array(3 * 16 * 16).map((_, i) => ((i * 7) % 16) / 16);
const clean = new Tensor([1, 3, 16, 16], data);
const { image } = await restoreDdnm(clean, {
  task: { name: "denoise" }, sigmaY: 0.1, steps: 3, seed: 4, model: "builtin:gaussian",
});
console.log(psnr(image, clean).toFixed(6));
`;

Deno.test("a script outside the clone imports mod.ts by path and runs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "diffrestore_outside_" });
  try {
    await Deno.writeTextFile(`${dir}/script.ts`, SCRIPT(MOD));
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "script.ts"],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    const data = new Float32Array(3 * 16 * 16).map((_, i) => ((i * 7) % 16) / 16);
    const clean = new Tensor([1, 3, 16, 16], data);
    const { image } = await restoreDdnm(clean, {
      task: { name: "denoise" },
      sigmaY: 0.1,
      steps: 3,
      seed: 4,
      model: "builtin:gaussian",
    });
    assert.equal(new TextDecoder().decode(out.stdout).trim(), psnr(image, clean).toFixed(6));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("published source imports npm packages by npm: specifier, never by bare name", async () => {
  const bare: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(new URL(dir, import.meta.url))) {
      const path = `${dir}${e.name}`;
      if (
        e.isDirectory && !["node_modules", "tests", "testdata", ".git", "tools"].includes(e.name)
      ) {
        await walk(`${path}/`);
      } else if (e.name.endsWith(".ts")) {
        const text = (await Deno.readTextFile(new URL(path, import.meta.url)))
          .replace(/\/\*\*[\s\S]*?\*\//g, "");
        const statics = /^\s*(?:import|export)\b[^"';]*?from\s*["']([^"']+)["']/gm;
        const dynamics = /\bimport\(\s*["']([^"']+)["']\s*\)/g;
        for (const m of [...text.matchAll(statics), ...text.matchAll(dynamics)]) {
          if (!/^(\.{1,2}\/|npm:|node:|jsr:|https?:)/.test(m[1])) bare.push(`${path}: ${m[1]}`);
        }
      }
    }
  };
  await walk("../");
  assert.deepEqual(bare, []);
});
