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

const ENTRY_POINTS = Object.values(
  JSON.parse(await Deno.readTextFile(`${root}deno.json`)).exports as Record<string, string>,
).map((p) => p.replace(/^\.\//, ""));

Deno.test("entry points are curated: named exports only, every function and class with a runnable example of the package's own import", async () => {
  const problems: string[] = [];
  for (const entry of ENTRY_POINTS) {
    const text = await Deno.readTextFile(root + entry);
    if (/^export \*/m.test(text)) problems.push(`${entry}: export *`);
  }
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", ...ENTRY_POINTS.filter((e) => e !== "cli.ts").map((e) => root + e)],
    stdout: "piped",
    stderr: "null",
  }).output();
  const doc = JSON.parse(new TextDecoder().decode(out.stdout));
  type Decl = { kind: string; jsDoc?: { tags?: { kind: string; doc?: string }[] } };
  type Node = { symbols: { name: string; declarations: Decl[] }[] };
  let callables = 0;
  for (const [url, node] of Object.entries(doc.nodes as Record<string, Node>)) {
    for (const s of node.symbols) {
      if (/SHADER|_GPU$/.test(s.name)) problems.push(`${url}: exports the internal ${s.name}`);
      for (const d of s.declarations.filter((d) => d.kind === "function" || d.kind === "class")) {
        callables++;
        const examples = (d.jsDoc?.tags ?? []).filter((t) => t.kind === "example");
        const ok = examples.some((t) =>
          (t.doc ?? "").includes('from "@diffrestore/sampler') &&
          !/```ts ignore/.test(t.doc ?? "") &&
          /assert/.test(t.doc ?? "")
        );
        if (!ok) {
          problems.push(`${s.name}: no runnable @example importing the package that asserts`);
        }
      }
    }
  }
  assert.deepEqual(problems, []);
  assert.ok(callables > 40, `${callables} functions and classes in the entry points`);
  const main = (doc.nodes as Record<string, Node>)[new URL("../mod.ts", import.meta.url).href];
  assert.ok(main.symbols.length <= 80, `mod.ts exports ${main.symbols.length} names`);
});

/** Functions and methods (declarations, methods, arrow functions with a block) over `max` lines:
 * a header found by its shape, its end by the closing brace at the header's indentation (deno fmt
 * keeps indentation exact). */
function longFunctions(path: string, text: string, max: number): string[] {
  const lines = text.split("\n");
  const keyword =
    /^\s*(if|for|while|switch|catch|else|try|do|return|await|new|throw|const|let|var|export\s+const|export\s+let|case|default)\b/;
  const fn = /\bfunction\b|=>\s*\{\s*$/;
  const method =
    /^\s+(?:(?:public|private|protected|static|async|get|set|override|readonly)\s+)*(?:\[Symbol\.\w+\]|#?\w+)\s*(?:<[^>]*>)?\s*\(/;
  const indent = (l: string) => l.length - l.trimStart().length;
  const long: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    const isMethod = method.test(l) && !keyword.test(l);
    if (!fn.test(l) && !isMethod) continue;
    let j = i;
    while (j < lines.length && j < i + 15 && !/[{;]\s*$/.test(lines[j])) j++;
    if (j >= lines.length || !/\{\s*$/.test(lines[j])) continue;
    if (!isMethod && !fn.test(lines.slice(i, j + 1).join(" "))) continue;
    for (let k = j + 1; k < lines.length; k++) {
      const lk = lines[k];
      if (lk.trim() === "" || indent(lk) > indent(l)) continue;
      if (lk.trimStart().startsWith("}") && indent(lk) === indent(l) && k - i + 1 > max) {
        long.push(`${path}:${i + 1} ${l.trim().slice(0, 60)} (${k - i + 1} lines)`);
      }
      break;
    }
  }
  return long;
}

Deno.test("no function or method is longer than 120 lines", async () => {
  const long: string[] = [];
  for (const f of files.filter((f) => !f.endsWith("_params.ts"))) {
    long.push(...longFunctions(f, await Deno.readTextFile(root + f), 120));
  }
  assert.deepEqual(long, []);
  // the finder finds: a 130-line function is reported
  const body = Array.from({ length: 128 }, (_, i) => `  const v${i} = ${i};`).join("\n");
  assert.equal(longFunctions("x.ts", `function big() {\n${body}\n}\n`, 120).length, 1);
});
