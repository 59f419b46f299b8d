// The layout ARCHITECTURE.md promises: every source file sits in a listed layer and imports only
// from its own layer or lower ones (type-only and dynamic imports included), no source file is
// longer than 600 lines (data files named *_params.ts aside), and mod.ts stays curated.
import assert from "node:assert/strict";

const root = new URL("../", import.meta.url).pathname;
const layers = (await Deno.readTextFile(`${root}ARCHITECTURE.md`))
  .match(/```layers\n([\s\S]*?)```/)![1].split(/\s+/).filter(Boolean).map((l) =>
    l.replace(/\/$/, "")
  );

async function sources(dir = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(root + dir)) {
    const path = dir + e.name;
    if (e.isDirectory) {
      if (![".git", "node_modules", "tests", "testdata", "demo-out", ".ci"].includes(e.name)) {
        out.push(...await sources(path + "/"));
      }
    } else if (e.name.endsWith(".ts")) out.push(path);
  }
  return out;
}

/** The index of the longest listed prefix of `path`, or -1. */
function layerOf(path: string): number {
  let best = -1;
  layers.forEach((l, i) => {
    if ((path === l || path.startsWith(l + "/")) && (best < 0 || l.length > layers[best].length)) {
      best = i;
    }
  });
  return best;
}

function normalize(path: string): string {
  const parts: string[] = [];
  for (const p of path.split("/")) {
    if (p === "..") parts.pop();
    else if (p !== "." && p !== "") parts.push(p);
  }
  return parts.join("/");
}

const files = await sources();

Deno.test("ARCHITECTURE.md: every source file is in a layer, and imports go only downward", async () => {
  const problems: string[] = [];
  for (const f of files) {
    const own = layerOf(f);
    if (own < 0) {
      problems.push(`${f}: in no layer`);
      continue;
    }
    // doc comments hold examples, not imports
    const text = (await Deno.readTextFile(root + f)).replace(/\/\*\*[\s\S]*?\*\//g, "");
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)) {
      const target = normalize(f.split("/").slice(0, -1).join("/") + "/" + m[1]);
      const theirs = layerOf(target);
      if (theirs > own) {
        problems.push(`${f} (${layers[own]}) imports ${target} (${layers[theirs]})`);
      }
    }
  }
  assert.deepEqual(problems, []);
  assert.ok(files.length > 100, `found ${files.length} source files`);
});

Deno.test("no source file is longer than 600 lines", async () => {
  const long: string[] = [];
  for (const f of files.filter((f) => !f.endsWith("_params.ts"))) {
    const lines = (await Deno.readTextFile(root + f)).split("\n").length - 1;
    if (lines > 600) long.push(`${f}: ${lines} lines`);
  }
  assert.deepEqual(long, []);
});

Deno.test("mod.ts is curated: at most 80 names, half its functions and classes with an @example", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", `${root}mod.ts`],
    stdout: "piped",
    stderr: "null",
  }).output();
  const doc = JSON.parse(new TextDecoder().decode(out.stdout));
  type Decl = { kind: string; jsDoc?: { tags?: { kind: string }[] } };
  const symbols: { name: string; declarations: Decl[] }[] = Object.values(
    doc.nodes as Record<string, { symbols: { name: string; declarations: Decl[] }[] }>,
  )[0].symbols;
  const callables = symbols.filter((s) =>
    s.declarations.some((d) => d.kind === "function" || d.kind === "class")
  );
  const withExample = callables.filter((s) =>
    s.declarations.some((d) => d.jsDoc?.tags?.some((t) => t.kind === "example"))
  );
  assert.ok(symbols.length <= 80, `mod.ts exports ${symbols.length} names`);
  assert.ok(symbols.length >= 40, `mod.ts exports ${symbols.length} names: too few to be read`);
  assert.ok(
    withExample.length * 2 >= callables.length,
    `${withExample.length} of ${callables.length} functions and classes have an @example`,
  );
});
